// KubeClient reads the API server's answers through parseJson: an object
// nested past kMaxJsonDepth, in a list page, a watch event or a single pod,
// is refused naming the limit, before any tree is built from it.

#include <gtest/gtest.h>

#include <atomic>

#include "platform/json_limits.h"
#include "platform/kube_client.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/support/require_ok.h"

namespace mpshare::platform {
namespace {

using kubetest::Kind;
using nlohmann::json;

const ResourceQuery kPods{"/api/v1/pods", "", ""};

// A pod with a spec field `depth` levels of arrays deep: the pod and its spec
// add 2 levels, a list page 2 more, a watch event 1.
json deepPod(const std::string& name, size_t depth) {
  json value = json::array();
  for (size_t i = 1; i < depth; ++i) value = json::array({std::move(value)});
  json pod = kubetest::makePod({.name = name});
  pod["spec"]["extra"] = std::move(value);
  return pod;
}

bool refusedForDepth(const std::string& message, const std::string& prefix) {
  return message.rfind(
             prefix + "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at byte ",
             0) == 0;
}

class KubeClientLimitsTest : public ::testing::Test {
 protected:
  std::unique_ptr<KubeClient> connect() {
    return testing_support::requireOk(KubeClient::create(server_.clientConfig()),
                                      "KubeClient::create");
  }
  kubetest::TestApiServer server_;
};

TEST_F(KubeClientLimitsTest, DeepObjectsAreRefusedNamingTheLimit) {
  server_.store().create(Kind::kPods, deepPod("fine", kMaxJsonDepth - 4));
  auto client = connect();
  const auto fine = client->getPod("ml", "fine");
  ASSERT_TRUE(fine.ok()) << fine.error().describe();
  auto listed = client->list(kPods);
  ASSERT_TRUE(listed.ok()) << listed.error().describe();

  server_.store().create(Kind::kPods, deepPod("deep", kMaxJsonDepth));
  const auto pod = client->getPod("ml", "deep");
  ASSERT_FALSE(pod.ok());
  EXPECT_TRUE(refusedForDepth(pod.error().message, "malformed pod: ")) << pod.error().message;

  std::atomic<bool> cancel{false};
  const auto outcome = client->watch(
      kPods, listed->resource_version, 30, [](const std::string&, const json&) {},
      ExchangeLimits{std::chrono::milliseconds(5000), &cancel});
  EXPECT_EQ(outcome.end, WatchEnd::kFailed);
  EXPECT_TRUE(refusedForDepth(outcome.message, "malformed watch event: ")) << outcome.message;

  const auto page = client->list(kPods);
  ASSERT_FALSE(page.ok());
  EXPECT_TRUE(refusedForDepth(page.error().message, "malformed list page: "))
      << page.error().message;
}

}  // namespace
}  // namespace mpshare::platform
