// The extender over a real socket (127.0.0.1, port 0): many connections bind
// pods at once against one GPU and the ledger never overcommits it.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "extender/node_file.h"
#include "extender/standalone_extender.h"
#include "platform/http_server.h"
#include "tests/platform/test_client.h"

namespace mpshare::extender {
namespace {

using nlohmann::json;
using platform::testing::ClientOptions;
using platform::testing::TestConnection;

json podJson(int i) {
  return {{"metadata",
           {{"name", "p" + std::to_string(i)},
            {"namespace", "ml"},
            {"uid", "uid-" + std::to_string(i)},
            {"annotations", {{"mpshare.io/thread-percentage", "15"}, {"mpshare.io/memory-limit", "2Gi"}}}}},
          {"spec", {{"containers", {{{"name", "c"}, {"resources", {{"limits", {{"nvidia.com/gpu", "1"}}}}}}}}}}};
}

TEST(ServerTest, ConcurrentBindsOverHttpNeverOvercommit) {
  auto nodes = parseNodeList(R"(
items:
- metadata:
    name: one-gpu
    labels: {mpshare.io/mps: enabled, nvidia.com/gpu.count: "1", nvidia.com/gpu.memory: "40960",
             nvidia.com/gpu.replicas: "48"}
)");
  ASSERT_TRUE(nodes.ok());
  StaticNodeSource source(*nodes);
  auto extender = StandaloneExtender::create(ExtenderConfig{}, &source);
  ASSERT_TRUE(extender.ok());
  auto server = platform::startHttpServer(platform::ServerOptions{}, (*extender)->routes().handler());
  ClientOptions plain;
  plain.tls = false;

  constexpr int kThreads = 8;
  constexpr int kPodsPerThread = 4;
  std::atomic<int> bound{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      TestConnection connection(server->port(), plain);
      for (int i = t * kPodsPerThread; i < (t + 1) * kPodsPerThread; ++i) {
        const json args{{"Pod", podJson(i)}, {"Nodes", nullptr}, {"NodeNames", {"one-gpu"}}};
        const auto filtered = connection.request("POST", "/scheduler/filter", args.dump(),
                                                 {{"Content-Type", "application/json"}});
        ASSERT_EQ(filtered.status, 200) << filtered.body;
        const json bind{{"PodName", "p" + std::to_string(i)}, {"PodNamespace", "ml"},
                        {"PodUID", "uid-" + std::to_string(i)}, {"Node", "one-gpu"}};
        const auto reply = connection.request("POST", "/scheduler/bind", bind.dump(),
                                              {{"Content-Type", "application/json"}});
        ASSERT_EQ(reply.status, 200);
        const std::string error = json::parse(reply.body).at("Error");
        if (error.empty()) {
          bound.fetch_add(1);
        } else {
          EXPECT_NE(error.find("no GPU fits 15% threads / 2048 MiB"), std::string::npos) << error;
          refused.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(bound.load(), 6);  // 6 x 15% = 90%; a seventh would need 105%
  EXPECT_EQ(refused.load(), kThreads * kPodsPerThread - 6);
  TestConnection connection(server->port(), plain);
  const json state = json::parse(connection.request("GET", "/state").body);
  EXPECT_EQ(state["nodes"][0]["gpus"][0]["reserved"]["threadPercent"], 90);
  EXPECT_EQ(state["nodes"][0]["gpus"][0]["reserved"]["memoryMiB"], 6 * 2048);
  server->stop();
}

}  // namespace
}  // namespace mpshare::extender
