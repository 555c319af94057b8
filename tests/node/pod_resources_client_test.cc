// PodResourcesClient against a fake kubelet PodResources server, and the pure
// lookup from device IDs to the container holding them.

#include "node/pod_resources_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "testing/kubelet/fake_kubelet.h"

namespace mpshare::node {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

const std::string kResource = "nvidia.com/gpu.shared";

TEST(FindContainerHolding, Table) {
  const std::vector<ContainerDevices> listed = {
      {"ns", "a", "main", kResource, {"slot-000"}},
      {"ns", "a", "main", "nvidia.com/gpu", {"slot-003"}},  // another resource, same ID
      {"ns", "b", "main", kResource, {"slot-001", "slot-002"}},
      {"other", "c", "init", kResource, {"slot-003"}},
      {"other", "c", "app", kResource, {"slot-003", "slot-004"}},  // same pod: devices handed on
      {"x", "d", "main", kResource, {"slot-005"}},
      {"y", "e", "main", kResource, {"slot-005"}},  // two pods, one ID: a kubelet bug
  };
  struct Case {
    std::string name;
    std::vector<std::string> ids;
    std::string resource = kResource;
    ContainerRef want{};
    std::optional<core::ErrorCode> error{};
    std::string message{};
  } cases[] = {
      {"one slot", {"slot-000"}, kResource, {"ns", "a", "main"}},
      {"both slots of one container", {"slot-002", "slot-001"}, kResource, {"ns", "b", "main"}},
      {"one of two slots", {"slot-001"}, kResource, {"ns", "b", "main"}},
      {"resource decides", {"slot-003"}, "nvidia.com/gpu", {"ns", "a", "main"}},
      {"first container of the pod", {"slot-003"}, kResource, {"other", "c", "init"}},
      {"only the container with both", {"slot-003", "slot-004"}, kResource, {"other", "c", "app"}},
      {"split across containers",
       {"slot-000", "slot-001"},
       kResource,
       {},
       core::ErrorCode::kNotFound,
       "nvidia.com/gpu.shared: no container holds slot-000, slot-001"},
      {"unknown slot",
       {"slot-009"},
       kResource,
       {},
       core::ErrorCode::kNotFound,
       "nvidia.com/gpu.shared: no container holds slot-009"},
      {"unknown resource",
       {"slot-000"},
       "example.com/fpga",
       {},
       core::ErrorCode::kNotFound,
       "example.com/fpga: no container holds slot-000"},
      {"two pods",
       {"slot-005"},
       kResource,
       {},
       core::ErrorCode::kConflict,
       "nvidia.com/gpu.shared: slot-005 held by two pods: x/d and y/e"},
      {"no IDs",
       {},
       kResource,
       {},
       core::ErrorCode::kInvalidArgument,
       "device IDs: none given; a container holds at least one"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const core::Result<ContainerRef> found = findContainerHolding(listed, c.resource, c.ids);
    if (c.error) {
      ASSERT_FALSE(found.ok());
      EXPECT_EQ(found.error().code, *c.error);
      EXPECT_EQ(found.error().describe(), c.message);
    } else {
      ASSERT_TRUE(found.ok()) << found.error().describe();
      EXPECT_EQ(*found, c.want);
    }
  }
  EXPECT_FALSE(findContainerHolding({}, kResource, {"slot-000"}).ok());
}

class PodResourcesClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.setPods({
        {"team-a", "trainer", {{"main", kResource, {"slot-003"}}, {"sidecar", "", {}}}},
        {"team-b",
         "infer",
         {{"model", kResource, {"slot-000", "slot-001"}}, {"nic", "example.com/nic", {"nic-1"}}}},
        {"kube-system", "dns", {{"coredns", "", {}}}},
    });
    ASSERT_TRUE(server_.start().ok());
  }

  fakes::SocketDir dir_;
  const std::string socket_ = dir_.file("kubelet.sock");
  fakes::FakePodResources server_{socket_};
};

TEST_F(PodResourcesClientTest, ListsOneEntryPerContainerAndResourceWithDevices) {
  PodResourcesClient client(socket_);
  const auto listed = client.list();
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(*listed, (std::vector<ContainerDevices>{
                         {"team-a", "trainer", "main", kResource, {"slot-003"}},
                         {"team-b", "infer", "model", kResource, {"slot-000", "slot-001"}},
                         {"team-b", "infer", "nic", "example.com/nic", {"nic-1"}},
                     }));
  const auto holder = findContainerHolding(*listed, kResource, {"slot-003"});
  ASSERT_TRUE(holder.ok());
  EXPECT_EQ(*holder, (ContainerRef{"team-a", "trainer", "main"}));
}

TEST_F(PodResourcesClientTest, ReusesItsChannel) {
  PodResourcesClient client(socket_);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.list().ok());
  }
  EXPECT_EQ(server_.listCalls(), 3);
}

TEST_F(PodResourcesClientTest, NoServerIsUnavailableNamingTheSocket) {
  server_.stop();
  PodResourcesClient client(socket_);
  const auto before = std::chrono::steady_clock::now();
  const auto listed = client.list();
  EXPECT_LT(std::chrono::steady_clock::now() - before, milliseconds(1000));
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, core::ErrorCode::kUnavailable);
  EXPECT_THAT(listed.error().describe(), HasSubstr(socket_ + ": List failed (UNAVAILABLE"));
}

TEST_F(PodResourcesClientTest, ASlowKubeletHitsTheDeadline) {
  server_.setListDelay(milliseconds(2000));
  PodResourcesClient client(socket_, milliseconds(100));
  const auto listed = client.list();
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, core::ErrorCode::kUnavailable);
  EXPECT_THAT(listed.error().describe(), HasSubstr(socket_ + ": List failed (DEADLINE_EXCEEDED"));
}

TEST_F(PodResourcesClientTest, ReconnectsWhenTheKubeletRestartsOnANewSocket) {
  PodResourcesClient client(socket_);
  ASSERT_TRUE(client.list().ok());

  // A kubelet restart: the socket goes, and a new one (new inode) serves other pods.
  server_.stop();
  fakes::FakePodResources restarted(socket_);
  restarted.setPods({{"team-c", "new", {{"main", kResource, {"slot-002"}}}}});
  ASSERT_TRUE(restarted.start().ok());

  const auto listed = client.list();
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(*listed,
            (std::vector<ContainerDevices>{{"team-c", "new", "main", kResource, {"slot-002"}}}));
}

TEST_F(PodResourcesClientTest, RecoversAfterTheKubeletWasDown) {
  PodResourcesClient client(socket_);
  ASSERT_TRUE(client.list().ok());
  server_.stop();
  ASSERT_FALSE(client.list().ok());

  fakes::FakePodResources restarted(socket_);
  ASSERT_TRUE(restarted.start().ok());
  const auto listed = client.list();
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(restarted.listCalls(), 1);
}

}  // namespace
}  // namespace mpshare::node
