#include "platform/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

#include "tests/platform/test_client.h"

namespace mpshare::platform {
namespace {

struct RenderCase {
  std::string name;
  std::function<void(MetricsRegistry&)> fill;
  std::string want;
};

TEST(MetricsRegistryTest, RendersExactExpositionText) {
  const std::vector<RenderCase> cases = {
      {"empty registry", [](MetricsRegistry&) {}, ""},
      {"counter without labels",
       [](MetricsRegistry& r) {
         auto& c = r.counter("mpshare_requests_total", "Requests served.");
         c.inc({});
         c.inc({}, 2.5);
       },
       "# HELP mpshare_requests_total Requests served.\n"
       "# TYPE mpshare_requests_total counter\n"
       "mpshare_requests_total 3.5\n"},
      {"registered but never touched: header only",
       [](MetricsRegistry& r) { r.gauge("mpshare_up", "Whether serving."); },
       "# HELP mpshare_up Whether serving.\n"
       "# TYPE mpshare_up gauge\n"},
      {"series sorted by labels, labels sorted by name",
       [](MetricsRegistry& r) {
         auto& c = r.counter("http_total", "By route.");
         c.inc({{"route", "/mutate"}, {"code", "200"}}, 2);
         c.inc({{"route", "/healthz"}, {"code", "200"}});
         c.inc({{"code", "400"}, {"route", "/mutate"}});
       },
       "# HELP http_total By route.\n"
       "# TYPE http_total counter\n"
       "http_total{code=\"200\",route=\"/healthz\"} 1\n"
       "http_total{code=\"200\",route=\"/mutate\"} 2\n"
       "http_total{code=\"400\",route=\"/mutate\"} 1\n"},
      {"label values escape backslash, quote and newline; help escapes backslash and newline",
       [](MetricsRegistry& r) {
         r.gauge("g", "a \"quoted\" \\ help\nline").set({{"v", "a\\b\"c\nd"}}, 1);
       },
       "# HELP g a \"quoted\" \\\\ help\\nline\n"
       "# TYPE g gauge\n"
       "g{v=\"a\\\\b\\\"c\\nd\"} 1\n"},
      {"families in registration order, not grouped by type",
       [](MetricsRegistry& r) {
         r.gauge("b_gauge", "B.").set({}, 1);
         r.counter("a_total", "A.").inc({});
         r.histogram("c_seconds", "C.", {1});
         r.gauge("a_gauge", "A.").set({}, 2);
       },
       "# HELP b_gauge B.\n"
       "# TYPE b_gauge gauge\n"
       "b_gauge 1\n"
       "# HELP a_total A.\n"
       "# TYPE a_total counter\n"
       "a_total 1\n"
       "# HELP c_seconds C.\n"
       "# TYPE c_seconds histogram\n"
       "# HELP a_gauge A.\n"
       "# TYPE a_gauge gauge\n"
       "a_gauge 2\n"},
      {"gauge set overwrites, clear drops series, special values",
       [](MetricsRegistry& r) {
         auto& g = r.gauge("free", "Free.");
         g.set({{"gpu", "0"}}, 5);
         g.clear();
         g.set({{"gpu", "1"}}, 0.25);
         g.set({{"gpu", "1"}}, -3);
         g.set({{"gpu", "2"}}, std::numeric_limits<double>::infinity());
         g.set({{"gpu", "3"}}, std::nan(""));
         g.set({{"gpu", "4"}}, 1e21);
       },
       // prometheus-cpp spells NaN "Nan"; Prometheus parses floats case-insensitively.
       "# HELP free Free.\n"
       "# TYPE free gauge\n"
       "free{gpu=\"1\"} -3\n"
       "free{gpu=\"2\"} +Inf\n"
       "free{gpu=\"3\"} Nan\n"
       "free{gpu=\"4\"} 1e+21\n"},
      // prometheus-cpp writes _count and _sum before the buckets; the format
      // leaves the order of a histogram's lines free.
      {"histogram buckets are cumulative with +Inf, _sum and _count",
       [](MetricsRegistry& r) {
         auto& h = r.histogram("latency_seconds", "Latency.", {0.1, 0.5, 1});
         for (double v : {0.05, 0.1, 0.3, 2.0}) h.observe({{"route", "/x"}}, v);
       },
       "# HELP latency_seconds Latency.\n"
       "# TYPE latency_seconds histogram\n"
       "latency_seconds_count{route=\"/x\"} 4\n"
       "latency_seconds_sum{route=\"/x\"} 2.45\n"
       "latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
       "latency_seconds_bucket{route=\"/x\",le=\"0.5\"} 3\n"
       "latency_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
       "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"},
      {"histogram without labels, explicit +Inf bound accepted",
       [](MetricsRegistry& r) {
         r.histogram("h", "H.", {1, std::numeric_limits<double>::infinity()}).observe({}, 1);
       },
       "# HELP h H.\n"
       "# TYPE h histogram\n"
       "h_count 1\n"
       "h_sum 1\n"
       "h_bucket{le=\"1\"} 1\n"
       "h_bucket{le=\"+Inf\"} 1\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MetricsRegistry registry;
    c.fill(registry);
    EXPECT_EQ(registry.render(), c.want);
  }
}

TEST(MetricsRegistryTest, RejectsInvalidNamesAndValuesWithTheRule) {
  struct Case {
    std::string name;
    std::function<void(MetricsRegistry&)> act;
    std::string want_message;
  };
  const std::vector<Case> cases = {
      {"counter without _total", [](MetricsRegistry& r) { r.counter("requests", "x"); },
       "counter \"requests\" must end in _total"},
      {"bad metric name", [](MetricsRegistry& r) { r.gauge("1abc", "x"); },
       "metric name \"1abc\" must match [a-zA-Z_:][a-zA-Z0-9_:]* and not start with __"},
      {"reserved metric name prefix", [](MetricsRegistry& r) { r.counter("__x_total", "x"); },
       "metric name \"__x_total\" must match [a-zA-Z_:][a-zA-Z0-9_:]* and not start with __"},
      {"duplicate name across types",
       [](MetricsRegistry& r) {
         r.counter("g_total", "x");
         r.gauge("g_total", "y");
       },
       "metric g_total is already registered"},
      {"duplicate name",
       [](MetricsRegistry& r) {
         r.gauge("g", "x");
         r.gauge("g", "y");
       },
       "metric g is already registered"},
      {"bad label name",
       [](MetricsRegistry& r) {
         r.gauge("g", "x").set({{"a-b", "1"}}, 1);
       },
       "metric g: label name \"a-b\" must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __"},
      {"reserved label prefix",
       [](MetricsRegistry& r) {
         r.gauge("g", "x").set({{"__x", "1"}}, 1);
       },
       "metric g: label name \"__x\" must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __"},
      {"le on a histogram",
       [](MetricsRegistry& r) {
         r.histogram("h", "x", {1}).observe({{"le", "1"}}, 1);
       },
       "metric h: label \"le\" is reserved for histogram buckets"},
      {"unsorted buckets",
       [](MetricsRegistry& r) {
         r.histogram("h", "x", {1, 1});
       },
       "histogram h: bucket bounds must be finite and strictly increasing"},
      {"negative counter increment",
       [](MetricsRegistry& r) { r.counter("c_total", "x").inc({}, -1); },
       "counter c_total: increment must be >= 0, got -1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MetricsRegistry registry;
    try {
      c.act(registry);
      ADD_FAILURE() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), c.want_message);
    }
  }
}

TEST(MetricsRegistryTest, CountsEveryIncrementUnderConcurrency) {
  MetricsRegistry registry;
  auto& counter = registry.counter("c_total", "x");
  auto& histogram = registry.histogram("h", "x", {1});
  constexpr int kThreads = 4, kPerThread = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.inc({{"t", std::to_string(t % 2)}});
        histogram.observe({}, 0.5);
        if (i % 1000 == 0) (void)registry.render();  // scrapes race with updates
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string text = registry.render();
  EXPECT_NE(text.find("c_total{t=\"0\"} 20000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("c_total{t=\"1\"} 20000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_count 40000\n"), std::string::npos) << text;
}

// The output must satisfy Prometheus' own linter, not just our reading of the spec.
TEST(MetricsRegistryTest, OutputPassesPromtoolCheckMetrics) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (Debian package: prometheus)";
  }
  MetricsRegistry registry;
  registry.counter("mpshare_webhook_requests_total", "Admission reviews by result.")
      .inc({{"result", "allowed"}, {"reason", "has \"quotes\"\nand \\ newline"}});
  registry.gauge("mpshare_extender_gpu_free_threads", "Free thread percentage per GPU.")
      .set({{"node", "n1"}, {"gpu", "0"}}, 70);
  auto& h = registry.histogram("mpshare_webhook_request_duration_seconds",
                               "Time to answer one admission review.", latencyBuckets());
  h.observe({{"route", "/mutate"}}, 0.0004);
  h.observe({{"route", "/mutate"}}, 3);

  const std::string dir = testing::makeTempDir();
  const std::string file = dir + "/metrics.txt";
  std::ofstream(file) << registry.render();
  const std::string cmd = "promtool check metrics < " + file + " > " + dir + "/out.txt 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream out_file(dir + "/out.txt");
  const std::string out((std::istreambuf_iterator<char>(out_file)), {});
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool lint findings";
}

}  // namespace
}  // namespace mpshare::platform
