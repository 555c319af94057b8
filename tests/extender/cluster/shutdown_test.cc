// A bind in flight when the cluster-mode extender stops (SIGTERM's drain, as
// `serve` runs it): answered when it finishes within the shutdown timeout;
// past it the drain gives up on the connection, yet the bind is done on both
// sides, so the API server and the ledger agree and the scheduler's retry on
// the next extender succeeds.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "extender/cluster/cluster_extender.h"
#include "platform/http_server.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/extender/cluster/ready_extender.h"
#include "tests/platform/test_client.h"
#include "tests/support/require_ok.h"

namespace mpshare::extender {
namespace {

using namespace std::chrono_literals;
using kubetest::Kind;
using kubetest::makeNode;
using kubetest::makePod;
using kubetest::TestApiServer;
using nlohmann::json;
using platform::testing::ClientOptions;

constexpr auto kWait = std::chrono::seconds(15);

std::unique_ptr<ClusterExtender> startExtender(const platform::KubeConfig& kube) {
  ClusterOptions options;
  options.backoff_initial = 10ms;
  options.backoff_max = 80ms;
  return testing_support::startReadyExtender(kube, options, kWait);
}

ClientOptions plainHttp() {
  ClientOptions options;
  options.tls = false;
  return options;
}

// The extender's handler, with each bind held at the door until `released`:
// the test stops the server while the bind is in flight, then lets it go on
// to the API server.
class HeldBinds {
 public:
  explicit HeldBinds(ClusterExtender& extender) : inner_(extender.handler()) {}

  platform::HttpHandler handler() {
    return [this](const platform::HttpRequest& request) {
      if (request.path.ends_with("/bind")) {
        entered_ = true;
        released_.wait();
      }
      return inner_(request);
    };
  }
  void waitEntered() const {
    while (!entered_) std::this_thread::sleep_for(1ms);
  }
  void release() { release_.set_value(); }

 private:
  platform::HttpHandler inner_;
  std::atomic<bool> entered_{false};
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

struct Cluster {
  TestApiServer api;
  std::string uid;
  Cluster() {
    api.store().create(Kind::kNodes, makeNode("gpu-a"));
    api.store().create(Kind::kPods, makePod({.name = "infer-0",
                                             .annotations = {{"mpshare.io/thread-percentage", "30"},
                                                             {"mpshare.io/memory-limit", "4Gi"}}}));
    uid = (*api.store().get(Kind::kPods, "ml/infer-0"))["metadata"]["uid"];
  }
  [[nodiscard]] std::string bindBody() const {
    return json{{"PodName", "infer-0"}, {"PodNamespace", "ml"}, {"PodUID", uid}, {"Node", "gpu-a"}}
        .dump();
  }
  // The pod's node and GPU annotation in the API server, "" where unset.
  [[nodiscard]] std::pair<std::string, std::string> placement() {
    const json pod = *api.store().get(Kind::kPods, "ml/infer-0");
    const json& annotations = pod["metadata"]["annotations"];
    return {pod["spec"].value("nodeName", ""), annotations.value("mpshare.io/gpu-index", "")};
  }
};

// What the ledger holds for the pod: "node/gpu", or "" when nothing.
std::string reservedFor(ClusterExtender& extender, const std::string& uid) {
  const auto reservation = extender.service().ledger().reservation(uid);
  if (!reservation) return "";
  return reservation->node + "/" + std::to_string(reservation->gpu_indices.at(0));
}

TEST(ClusterShutdownTest, BindInFlightAtStopIsDoneAndAnswered) {
  signal(SIGPIPE, SIG_IGN);
  Cluster cluster;
  auto extender = startExtender(cluster.api.clientConfig());
  HeldBinds held(*extender);
  auto server = platform::startHttpServer(platform::ServerOptions{}, held.handler());
  const uint16_t port = server->port();
  std::future<platform::testing::ClientResponse> reply = std::async(std::launch::async, [&] {
    return platform::testing::fetch(port, plainHttp(), "POST", "/scheduler/bind",
                                    cluster.bindBody());
  });
  held.waitEntered();
  std::future<bool> stopped = std::async(std::launch::async, [&] { return server->stop(); });
  // The drain waits for the bind: the listener closes, the reply is still due.
  for (int i = 0; i < 1000; ++i) {
    try {
      platform::testing::TestConnection attempt(port, plainHttp());
    } catch (const std::runtime_error&) {
      break;
    }
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(stopped.wait_for(100ms), std::future_status::timeout);
  held.release();
  const auto answer = reply.get();
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(json::parse(answer.body).at("Error"), "") << answer.body;
  EXPECT_EQ(answer.headers.at("connection"), "close");
  EXPECT_TRUE(stopped.get());
  const auto [node, gpu] = cluster.placement();
  EXPECT_EQ(node, "gpu-a");
  ASSERT_NE(gpu, "");
  EXPECT_EQ(reservedFor(*extender, cluster.uid), "gpu-a/" + gpu);
  EXPECT_EQ(cluster.api.store().bindings().size(), 1U);
}

TEST(ClusterShutdownTest, BindCutOffByTheShutdownTimeoutLeavesApiServerAndLedgerAgreeing) {
  signal(SIGPIPE, SIG_IGN);
  Cluster cluster;
  std::string gpu;
  {
    auto extender = startExtender(cluster.api.clientConfig());
    HeldBinds held(*extender);
    platform::ServerOptions options;
    options.shutdown_timeout = 200ms;
    auto server = platform::startHttpServer(options, held.handler());
    // The reply may still get out (the write is tried at once when the bind
    // returns) or the connection is cut: kube-scheduler then retries the pod.
    std::future<std::string> reply = std::async(std::launch::async, [&]() -> std::string {
      try {
        const auto answer = platform::testing::fetch(server->port(), plainHttp(), "POST",
                                                     "/scheduler/bind", cluster.bindBody());
        return std::to_string(answer.status) + " " + answer.body;
      } catch (const std::runtime_error&) {
        return "cut";
      }
    });
    held.waitEntered();
    std::future<bool> stopped = std::async(std::launch::async, [&] { return server->stop(); });
    // Past the timeout the connection is cut, but the bind's thread is
    // waited for: the bind goes through to the end.
    std::this_thread::sleep_for(600ms);
    held.release();
    EXPECT_FALSE(stopped.get());
    const std::string answer = reply.get();
    EXPECT_TRUE(answer == "cut" || answer == R"(200 {"Error":""})") << answer;
    const auto placed = cluster.placement();
    EXPECT_EQ(placed.first, "gpu-a");
    gpu = placed.second;
    ASSERT_NE(gpu, "");
    EXPECT_EQ(reservedFor(*extender, cluster.uid), "gpu-a/" + gpu);
  }
  // The next extender rebuilds the same reservation from the API server, and
  // the scheduler's retry of the unanswered bind is a success, not a second
  // placement.
  auto next = startExtender(cluster.api.clientConfig());
  EXPECT_EQ(reservedFor(*next, cluster.uid), "gpu-a/" + gpu);
  EXPECT_EQ(next->service().bind({"infer-0", "ml", cluster.uid, "gpu-a"}), "");
  EXPECT_EQ(reservedFor(*next, cluster.uid), "gpu-a/" + gpu);
  EXPECT_EQ(cluster.api.store().bindings().size(), 1U);
}

}  // namespace
}  // namespace mpshare::extender
