#include "extender/routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "extender/node_file.h"
#include "extender/standalone_extender.h"
#include "extender/wire.h"
#include "tests/support/require_ok.h"

namespace mpshare::extender {
namespace {

constexpr const char* kNodes = R"(
kind: NodeList
items:
- metadata:
    name: gpu-a
    labels: {mpshare.io/mps: enabled, nvidia.com/gpu.count: "1", nvidia.com/gpu.memory: "40960",
             nvidia.com/gpu.replicas: "4"}
)";

std::unique_ptr<StandaloneExtender> makeExtender() {
  StaticNodeSource source(testing_support::requireOk(parseNodeList(kNodes), "parseNodeList"));
  return testing_support::requireOk(StandaloneExtender::create(ExtenderConfig{}, &source),
                                    "StandaloneExtender::create");
}

platform::HttpResponse call(StandaloneExtender& extender, const std::string& method,
                            const std::string& path, const std::string& body = "") {
  platform::HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  return extender.routes().handle(request);
}

const char* kFilter = R"({"Pod":{"metadata":{"name":"p","namespace":"ml","uid":"u1",
  "annotations":{"mpshare.io/thread-percentage":"30","mpshare.io/memory-limit":"4Gi"}},
  "spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}},
  "Nodes":null,"NodeNames":["gpu-a"]})";

TEST(RoutesTest, HealthReadinessAndUnknownRoutes) {
  auto extender = makeExtender();
  EXPECT_EQ(call(*extender, "GET", "/healthz").status, 200);
  EXPECT_EQ(call(*extender, "GET", "/readyz").status, 200);
  EXPECT_EQ(call(*extender, "GET", "/scheduler/filter").status, 405);
  EXPECT_EQ(call(*extender, "POST", "/state").status, 405);
  EXPECT_EQ(call(*extender, "POST", "/filter").status, 404);
}

TEST(RoutesTest, StateShowsReservationsAfterBind) {
  auto extender = makeExtender();
  ASSERT_EQ(call(*extender, "POST", "/scheduler/filter", kFilter).status, 200);
  const auto bind = call(*extender, "POST", "/scheduler/bind",
                         R"({"PodName":"p","PodNamespace":"ml","PodUID":"u1","Node":"gpu-a"})");
  ASSERT_EQ(bind.body, R"({"Error":""})");
  const auto state = nlohmann::json::parse(call(*extender, "GET", "/state").body);
  const auto& gpu = state["nodes"][0]["gpus"][0];
  EXPECT_EQ(gpu["reserved"],
            (nlohmann::json{{"threadPercent", 30}, {"memoryMiB", 4096}, {"clients", 1}}));
  EXPECT_EQ(gpu["free"],
            (nlohmann::json{{"threadPercent", 70}, {"memoryMiB", 36864}, {"clients", 3}}));
  EXPECT_EQ(gpu["pods"][0]["pod"], "ml/p");
  EXPECT_EQ(gpu["pods"][0]["uid"], "u1");
}

TEST(RoutesTest, MetricsExposeOutcomesAndGpuGauges) {
  auto extender = makeExtender();
  (void)call(*extender, "POST", "/scheduler/filter", kFilter);
  (void)call(*extender, "POST", "/scheduler/bind",
             R"({"PodName":"p","PodNamespace":"ml","PodUID":"u1","Node":"gpu-a"})");
  (void)call(*extender, "POST", "/scheduler/filter", "not json");
  const auto metrics = call(*extender, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string& text = metrics.body;
  EXPECT_NE(text.find(R"(mpshare_extender_requests_total{outcome="ok",verb="filter"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(mpshare_extender_requests_total{outcome="bad_request",verb="filter"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(mpshare_extender_binds_total{outcome="bound"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(mpshare_extender_gpu_reserved_memory_mib{gpu="0",node="gpu-a"} 4096)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(mpshare_extender_gpu_reserved_threads_percent{gpu="0",node="gpu-a"} 30)"),
            std::string::npos);
  EXPECT_NE(text.find("mpshare_extender_request_duration_seconds_bucket"), std::string::npos);
}

TEST(RoutesTest, StateAndMetricsShowThePodDistributionInUse) {
  auto extender = makeExtender();  // fgd-plus-batch, the default, with the built-in distribution
  const auto state = nlohmann::json::parse(call(*extender, "GET", "/state").body);
  const auto& distribution = state["podDistribution"];
  EXPECT_EQ(distribution["policy"], "fgd-plus-batch");
  // Its planner: standalone, no pod watch feeds it, so nothing waits.
  EXPECT_EQ(
      state["plan"],
      (nlohmann::json{
          {"pendingPods", 0}, {"plannedPods", 0}, {"batches", 0}, {"lastBatchSeconds", 0.0}}));
  EXPECT_EQ(distribution["source"], "builtin");
  EXPECT_EQ(distribution["podsInWindow"], 0);
  EXPECT_EQ(distribution["minPods"], 200);
  EXPECT_EQ(distribution["maxShapes"], 16);
  ASSERT_EQ(distribution["shapes"].size(), 16u);  // the most popular of the trace's 24
  const auto& first = distribution["shapes"][0];
  EXPECT_EQ(first["gpus"], 1);
  EXPECT_EQ(first["gpuMilli"], 1000);
  EXPECT_EQ(first["pods"], 3911);
  EXPECT_NEAR(first["weight"].get<double>(), 3911.0 / 7021.0, 1e-9);  // of the 16 kept

  // A GPU pod filtered once counts in the window (the seed stays in use below minPods).
  ASSERT_EQ(call(*extender, "POST", "/scheduler/filter", kFilter).status, 200);
  const std::string metrics = call(*extender, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("mpshare_extender_pod_distribution_weight{gpu_memory_mib=\"0\","
                         "gpu_milli=\"1000\",gpus=\"1\",source=\"builtin\"} 0.557"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mpshare_extender_pod_distribution_window_pods 1"), std::string::npos);
}

TEST(RoutesTest, StateHasNoDistributionForAPolicyWithout) {
  ExtenderConfig config;
  config.policy = "binpack";
  StaticNodeSource source(testing_support::requireOk(parseNodeList(kNodes), "parseNodeList"));
  auto extender = testing_support::requireOk(StandaloneExtender::create(config, &source), "create");
  const auto state = nlohmann::json::parse(call(*extender, "GET", "/state").body);
  EXPECT_TRUE(state["podDistribution"].is_null());
  EXPECT_TRUE(state["plan"].is_null());
  EXPECT_EQ(call(*extender, "GET", "/metrics").body.find("pod_distribution_weight{"),
            std::string::npos);
}

TEST(RoutesTest, MalformedBodiesAre400WithTheReason) {
  auto extender = makeExtender();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "body: must be a JSON object, got array"},
      {R"({"Nodes":null,"NodeNames":["a"]})", "Pod: missing"},
      {R"({"Pod":{"metadata":{"name":"p"},"spec":{}},"NodeNames":"a"})",
       "NodeNames: expected an array"},
      {R"({"Pod":{"metadata":{"name":"p"},"spec":{}},"Nodes":{"items":[{"metadata":{}}]}})",
       "Nodes.items[0].metadata.name"},
  };
  for (const auto& [body, want] : cases) {
    const auto reply = call(*extender, "POST", "/scheduler/filter", body);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_NE(reply.body.find(want), std::string::npos) << reply.body;
  }
  const auto bind = call(*extender, "POST", "/scheduler/bind", R"({"PodName":1})");
  EXPECT_EQ(bind.status, 400);
}

// The priority list is written out by hand for speed; it must stay exactly
// what the json library would write, escaping included.
TEST(RenderHostPriorityList, WritesTheSameBytesAsTheJsonLibrary) {
  const std::vector<HostScore> scores{{"gpu-a", 10},
                                      {"quote\"and\\backslash", 0},
                                      {"tab\tnewline\ncontrol\x01", 5},
                                      {"n\xc3\xa9ud", 3}};
  nlohmann::json want = nlohmann::json::array();
  for (const HostScore& score : scores) {
    want.push_back({{"Host", score.host}, {"Score", score.score}});
  }
  EXPECT_EQ(renderHostPriorityList(scores), want.dump());
  EXPECT_EQ(renderHostPriorityList({{"gpu-a", 10}, {"gpu-b", 0}}),
            R"([{"Host":"gpu-a","Score":10},{"Host":"gpu-b","Score":0}])");
  EXPECT_EQ(renderHostPriorityList({}), "[]");
}

}  // namespace
}  // namespace mpshare::extender
