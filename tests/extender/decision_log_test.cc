// What the extender tells an operator: one log line per bind, per refused bind
// and per filter that left no node, and the outcome label of every kind of
// request (only a fault of the extender or its binds is outcome="error").

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "extender/metrics.h"
#include "extender/routes.h"
#include "extender/service.h"
#include "extender/standalone.h"
#include "platform/logging.h"
#include "platform/metrics.h"
#include "tests/support/captured_log.h"

namespace mpshare::extender {
namespace {

// A Binder that succeeds, fails as an unreachable API server does, or throws.
class ScriptedBinder : public Binder {
 public:
  enum class Mode { kBind, kFail, kThrow };
  core::Status bind(const BindRequest& request) override {
    switch (mode) {
      case Mode::kBind:
        return memory_.bind(request);
      case Mode::kFail:
        return core::Error{core::ErrorCode::kUnavailable, "", "API server unreachable"};
      case Mode::kThrow:
        throw std::runtime_error("binder bug");
    }
    return {};
  }
  Mode mode = Mode::kBind;

 private:
  MemoryBinder memory_;
};

core::NodeView gpuNode(const std::string& name) {
  core::NodeView node;
  node.name = name;
  node.labels = {{"mpshare.io/mps", "enabled"},
                 {"nvidia.com/gpu.count", "1"},
                 {"nvidia.com/gpu.memory", "40960"},
                 {"nvidia.com/gpu.replicas", "4"}};
  return node;
}

std::string filterBody(const std::string& name, const std::string& threads,
                       const std::string& memory, const std::string& node_names) {
  return R"({"Pod":{"metadata":{"name":")" + name + R"(","namespace":"ml","uid":"uid-)" + name +
         R"(","annotations":{"mpshare.io/thread-percentage":")" + threads +
         R"(","mpshare.io/memory-limit":")" + memory +
         R"("}},"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}},)"
         R"("Nodes":null,"NodeNames":)" +
         node_names + "}";
}

std::string bindBody(const std::string& name, const std::string& node) {
  return R"({"PodName":")" + name + R"(","PodNamespace":"ml","PodUID":"uid-)" + name +
         R"(","Node":")" + node + R"("})";
}

// A service with four 1-GPU nodes, its metrics and routes.
struct Harness {
  Harness() {
    for (const char* name : {"gpu-a", "gpu-b", "gpu-c", "gpu-d"}) service.upsertNode(gpuNode(name));
    ready.set(true);
  }
  platform::HttpResponse post(const std::string& verb, const std::string& body) {
    return routes.handle({"POST", "/scheduler/" + verb, "", {}, body});
  }
  // The value of mpshare_extender_requests_total{outcome, verb}, 0 when absent.
  int requests(const std::string& outcome, const std::string& verb) {
    const std::string text = routes.handle({"GET", "/metrics", "", {}, ""}).body;
    const std::string series =
        "mpshare_extender_requests_total{outcome=\"" + outcome + "\",verb=\"" + verb + "\"} ";
    const size_t at = text.find(series);
    return at == std::string::npos ? 0 : std::stoi(text.substr(at + series.size()));
  }

  platform::MetricsRegistry registry;
  ExtenderMetrics metrics{registry};
  MemoryPodLookup pods;
  ScriptedBinder binder;
  ExtenderService service{ExtenderConfig{}, pods, binder, &metrics};
  ReadyFlag ready;
  ExtenderRoutes routes{service, ready};
};

class DecisionLogTest : public ::testing::Test {
 protected:
  platform::HttpResponse post(const std::string& verb, const std::string& body) {
    return harness_.post(verb, body);
  }

  Harness harness_;
  testing_support::CapturedLog log_;
};

TEST(BindReservationTest, ABinderThatThrowsLeavesNoReservationBehind) {
  Harness h;
  ASSERT_EQ(h.post("filter", filterBody("p", "80", "4Gi", R"(["gpu-a"])")).status, 200);
  h.binder.mode = ScriptedBinder::Mode::kThrow;
  EXPECT_NE(h.post("bind", bindBody("p", "gpu-a")).body, R"({"Error":""})");
  EXPECT_FALSE(h.service.ledger().reservation("uid-p").has_value());
  // The scheduler's retry finds the room still free.
  h.binder.mode = ScriptedBinder::Mode::kBind;
  EXPECT_EQ(h.post("bind", bindBody("p", "gpu-a")).body, R"({"Error":""})");
  EXPECT_TRUE(h.service.ledger().reservation("uid-p").has_value());
}

TEST_F(DecisionLogTest, BindIsOneInfoLineWithPodNodeGpuAndDemand) {
  ASSERT_EQ(post("filter", filterBody("p", "30", "4Gi", R"(["gpu-a"])")).status, 200);
  ASSERT_EQ(post("bind", bindBody("p", "gpu-a")).body, R"({"Error":""})");
  EXPECT_EQ(log_.lines(), std::vector<std::string>{"INFO pod bound pod=ml/p node=gpu-a gpu=0 "
                                                   "demand=\"30% threads / 4096 MiB\""});
}

TEST_F(DecisionLogTest, RefusedBindIsOneWarnLineWithTheReason) {
  ASSERT_EQ(post("bind", bindBody("ghost", "gpu-a")).status, 200);
  EXPECT_EQ(log_.lines(),
            std::vector<std::string>{
                "WARN bind refused pod=ml/ghost node=gpu-a outcome=unknown_pod error=\"pod "
                "ml/ghost (uid uid-ghost) was not seen by filter or prioritize, so its GPU demand "
                "is unknown; retry scheduling it\""});
}

TEST_F(DecisionLogTest, FilterLeavingNoNodeLogsTheFirstThreeReasonsAndACount) {
  // 48 GiB fits no 40 GiB GPU; "nowhere" is not a node mpshare knows.
  ASSERT_EQ(post("filter",
                 filterBody("big", "30", "48Gi", R"(["gpu-c","gpu-a","nowhere","gpu-b","gpu-d"])"))
                .status,
            200);
  const std::string no_fit =
      " no GPU fits 30% threads / 49152 MiB (best: GPU0 has 100% / "
      "40960 MiB free)";
  EXPECT_EQ(log_.lines(),
            std::vector<std::string>{
                "INFO no node fits pod pod=ml/big demand=\"30% threads / 49152 MiB\" nodes=5 "
                "reasons=\"gpu-c:" +
                no_fit + "; gpu-a:" + no_fit +
                "; nowhere: not an MPS-shared GPU node known to mpshare (needs label "
                "mpshare.io/mps=enabled and GPU Feature Discovery labels); and 2 more\""});
}

TEST_F(DecisionLogTest, FilterOfAnInvalidPodLogsTheError) {
  ASSERT_EQ(post("filter", filterBody("bad", "130", "4Gi", R"(["gpu-a"])")).status, 200);
  const auto lines = log_.lines();
  ASSERT_EQ(lines.size(), 1U) << log_.str();
  EXPECT_EQ(lines[0].rfind("INFO no node fits pod pod=ml/bad error=\"pod ml/bad: "
                           "mpshare.io/thread-percentage: ",
                           0),
            0U)
      << lines[0];
}

TEST_F(DecisionLogTest, FilterThatPassesANodeIsNotLogged) {
  ASSERT_EQ(post("filter", filterBody("p", "30", "4Gi", R"(["gpu-a","nowhere"])")).status, 200);
  ASSERT_EQ(post("prioritize", filterBody("p", "30", "4Gi", R"(["gpu-a"])")).status, 200);
  EXPECT_EQ(log_.str(), "");
}

TEST_F(DecisionLogTest, EachKindOfRequestHasItsOwnOutcome) {
  using Mode = ScriptedBinder::Mode;
  const struct {
    const char* name;
    std::vector<std::pair<std::string, std::string>> before;  // verb, body
    Mode binder;
    std::string verb;
    std::string body;
    int status;
    const char* outcome;
  } cases[] = {
      {"filter passing a node",
       {},
       Mode::kBind,
       "filter",
       filterBody("p", "30", "4Gi", R"(["gpu-a"])"),
       200,
       "ok"},
      {"filter passing no node is an answer",
       {},
       Mode::kBind,
       "filter",
       filterBody("p", "30", "48Gi", R"(["gpu-a"])"),
       200,
       "ok"},
      {"filter of a pod with a bad annotation",
       {},
       Mode::kBind,
       "filter",
       filterBody("p", "130", "4Gi", R"(["gpu-a"])"),
       200,
       "invalid_pod"},
      {"filter with malformed JSON", {}, Mode::kBind, "filter", R"({"Pod":)", 400, "bad_request"},
      {"prioritize",
       {},
       Mode::kBind,
       "prioritize",
       filterBody("p", "30", "4Gi", R"(["gpu-a"])"),
       200,
       "ok"},
      {"prioritize with malformed JSON", {}, Mode::kBind, "prioritize", "[]", 400, "bad_request"},
      {"bind",
       {{"filter", filterBody("p", "30", "4Gi", R"(["gpu-a"])")}},
       Mode::kBind,
       "bind",
       bindBody("p", "gpu-a"),
       200,
       "ok"},
      {"bind with malformed JSON", {}, Mode::kBind, "bind", R"({"PodName":1})", 400, "bad_request"},
      {"bind of a pod never filtered",
       {},
       Mode::kBind,
       "bind",
       bindBody("ghost", "gpu-a"),
       200,
       "refused"},
      {"bind after another pod took the room",
       {{"filter", filterBody("p", "80", "4Gi", R"(["gpu-a"])")},
        {"filter", filterBody("q", "80", "4Gi", R"(["gpu-a"])")},
        {"bind", bindBody("p", "gpu-a")}},
       Mode::kBind,
       "bind",
       bindBody("q", "gpu-a"),
       200,
       "refused"},
      {"bind to a node mpshare does not know",
       {{"filter", filterBody("p", "30", "4Gi", R"(["gpu-a"])")}},
       Mode::kBind,
       "bind",
       bindBody("p", "nowhere"),
       200,
       "refused"},
      {"bind the API server refuses",
       {{"filter", filterBody("p", "30", "4Gi", R"(["gpu-a"])")}},
       Mode::kFail,
       "bind",
       bindBody("p", "gpu-a"),
       200,
       "error"},
      {"internal exception",
       {{"filter", filterBody("p", "30", "4Gi", R"(["gpu-a"])")}},
       Mode::kThrow,
       "bind",
       bindBody("p", "gpu-a"),
       200,
       "error"},
  };
  const char* const outcomes[] = {"ok", "invalid_pod", "refused", "bad_request", "error"};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h;
    for (const auto& [verb, body] : c.before) ASSERT_EQ(h.post(verb, body).status, 200);
    h.binder.mode = c.binder;
    std::map<std::string, int> before;
    for (const char* outcome : outcomes) before[outcome] = h.requests(outcome, c.verb);
    const auto response = h.post(c.verb, c.body);
    EXPECT_EQ(response.status, c.status) << response.body;
    for (const char* outcome : outcomes) {
      EXPECT_EQ(h.requests(outcome, c.verb) - before[outcome], outcome == std::string(c.outcome))
          << outcome << ": " << response.body;
    }
  }
}

}  // namespace
}  // namespace mpshare::extender
