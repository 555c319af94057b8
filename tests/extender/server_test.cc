// The extender over a real socket (127.0.0.1, port 0): many connections bind
// pods at once against one GPU and the ledger never overcommits it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "extender/node_file.h"
#include "extender/serve_command.h"
#include "extender/standalone_extender.h"
#include "platform/http_server.h"
#include "platform/self_signed_cert.h"
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
            {"annotations",
             {{"mpshare.io/thread-percentage", "15"}, {"mpshare.io/memory-limit", "2Gi"}}}}},
          {"spec",
           {{"containers",
             {{{"name", "c"}, {"resources", {{"limits", {{"nvidia.com/gpu", "1"}}}}}}}}}}};
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
  auto server =
      platform::startHttpServer(platform::ServerOptions{}, (*extender)->routes().handler());
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
        const json bind{{"PodName", "p" + std::to_string(i)},
                        {"PodNamespace", "ml"},
                        {"PodUID", "uid-" + std::to_string(i)},
                        {"Node", "one-gpu"}};
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

// SIGTERM's drain as the extender's serve runs it: the scheduler keeps
// filtering on kept-alive TLS connections while the server stops; /readyz
// turns 503 at once, and every request sent is answered.
TEST(ServerTest, StopUnderLoadFailsReadinessAndAnswersEveryRequestSent) {
  signal(SIGPIPE, SIG_IGN);
  auto nodes = parseNodeList(R"(
items:
- metadata:
    name: gpu-1
    labels: {mpshare.io/mps: enabled, nvidia.com/gpu.count: "2", nvidia.com/gpu.memory: "40960",
             nvidia.com/gpu.replicas: "48"}
)");
  ASSERT_TRUE(nodes.ok());
  StaticNodeSource source(*nodes);
  auto extender = StandaloneExtender::create(ExtenderConfig{}, &source);
  ASSERT_TRUE(extender.ok());
  const std::string dir = platform::testing::makeTempDir();
  const auto bundle = platform::writeSelfSignedBundle(dir);
  platform::ServerOptions options;
  options.tls = platform::TlsFiles{bundle.cert_file, bundle.key_file, ""};
  auto server = platform::startHttpServer(options, (*extender)->routes().handler());
  const uint16_t port = server->port();
  ClientOptions tls;
  tls.ca_file = bundle.ca_file;
  TestConnection probe(port, tls);  // like the kubelet's, idle when the stop begins
  ASSERT_EQ(probe.request("GET", "/readyz").status, 200);

  const json args{{"Pod", podJson(1)}, {"Nodes", nullptr}, {"NodeNames", {"gpu-1"}}};
  std::atomic<int> answered{0}, unanswered{0}, refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      for (;;) {
        std::unique_ptr<TestConnection> connection;
        try {
          connection = std::make_unique<TestConnection>(port, tls);
        } catch (const std::runtime_error&) {
          ++refused;  // nothing sent
          return;
        }
        for (;;) {
          platform::testing::ClientResponse reply;
          try {
            reply = connection->request("POST", "/scheduler/filter", args.dump(),
                                        {{"Content-Type", "application/json"}});
          } catch (const std::runtime_error&) {
            ++unanswered;
            break;
          }
          ++answered;
          EXPECT_EQ(reply.status, 200);
          if (reply.headers["connection"] == "close") break;
        }
      }
    });
  }
  while (answered.load() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::future<bool> stopped = std::async(std::launch::async, [&] { return server->stop(); });
  // Once new connections are refused, stop() has begun.
  for (int i = 0; i < 1000; ++i) {
    try {
      TestConnection attempt(port, tls);
    } catch (const std::runtime_error&) {
      break;
    }
  }
  const auto readiness = probe.request("GET", "/readyz");
  EXPECT_EQ(readiness.status, 503);
  EXPECT_EQ(readiness.headers.at("connection"), "close");
  for (auto& thread : clients) thread.join();
  EXPECT_TRUE(stopped.get());
  EXPECT_EQ(unanswered.load(), 0);
  EXPECT_EQ(refused.load(), 4);
  std::filesystem::remove_all(dir);
}

TEST(ServerTest, ServeFlagsSetTheConnectionLimitAndTheShutdownDelayAndTimeout) {
  auto defaults = parseServeOptions({"--listen", ":8888", "--standalone"});
  ASSERT_TRUE(defaults.ok()) << defaults.error().describe();
  EXPECT_EQ(defaults->server.max_connections, 1024U);
  EXPECT_EQ(defaults->server.shutdown_timeout, std::chrono::seconds(20));
  EXPECT_EQ(defaults->server.shutdown_delay, std::chrono::seconds(0));
  auto set = parseServeOptions({"--listen", ":8888", "--standalone", "--max-connections", "50",
                                "--shutdown-timeout=5", "--shutdown-delay", "7"});
  ASSERT_TRUE(set.ok()) << set.error().describe();
  EXPECT_EQ(set->server.max_connections, 50U);
  EXPECT_EQ(set->server.shutdown_timeout, std::chrono::seconds(5));
  EXPECT_EQ(set->server.shutdown_delay, std::chrono::seconds(7));
  auto cluster = parseServeOptions({"--listen", ":8888", "--shutdown-delay=300"});
  ASSERT_TRUE(cluster.ok()) << cluster.error().describe();
  EXPECT_EQ(cluster->server.shutdown_delay, std::chrono::seconds(300));
  const struct {
    std::vector<std::string> flags;
    std::string error;
  } bad[] = {
      {{"--max-connections", "0"},
       "--max-connections: expected a whole number 1-1000000, got \"0\""},
      {{"--max-connections", "many"}, "--max-connections: expected a whole number"},
      {{"--shutdown-timeout", "20s"},
       "--shutdown-timeout: expected a whole number 0-3600, got \"20s\""},
      {{"--shutdown-timeout", "3601"}, "--shutdown-timeout: expected a whole number 0-3600"},
      {{"--shutdown-delay", "301"}, "--shutdown-delay: expected a whole number 0-300, got \"301\""},
      {{"--shutdown-delay", "-1"}, "--shutdown-delay: expected a whole number 0-300"},
      {{"--shutdown-delay", "5s"}, "--shutdown-delay: expected a whole number 0-300"},
      {{"--shutdown-delay"}, "--shutdown-delay: needs a value"},
  };
  for (const auto& c : bad) {
    std::vector<std::string> args = {"--listen", ":8888", "--standalone"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    auto options = parseServeOptions(args);
    ASSERT_FALSE(options.ok()) << c.error;
    EXPECT_NE(options.error().describe().find(c.error), std::string::npos)
        << options.error().describe();
  }
}

}  // namespace
}  // namespace mpshare::extender
