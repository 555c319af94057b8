// DevicePluginServer over a real unix socket, called as the kubelet calls it.

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "node/device_plugin_server.h"
#include "platform/logging.h"
#include "testing/kubelet/fake_kubelet.h"

namespace mpshare::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int kSlots = 4;
constexpr auto kTimeout = std::chrono::seconds(5);

std::chrono::system_clock::time_point deadline() {
  return std::chrono::system_clock::now() + kTimeout;
}

class DevicePluginServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    platform::setLogLevel(platform::LogLevel::kWarn);
    ASSERT_TRUE(server_.start().ok());
    stub_ = connect();
  }

  std::unique_ptr<v1beta1::DevicePlugin::Stub> connect() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return v1beta1::DevicePlugin::NewStub(grpc::CreateCustomChannel(
        "unix:" + server_.socketPath(), grpc::InsecureChannelCredentials(), args));
  }

  grpc::Status allocate(const std::vector<std::vector<std::string>>& requests,
                        v1beta1::AllocateResponse* response) {
    v1beta1::AllocateRequest request;
    for (const auto& ids : requests) {
      auto* container = request.add_container_requests();
      for (const auto& id : ids) {
        container->add_devices_ids(id);
      }
    }
    grpc::ClientContext context;
    context.set_deadline(deadline());
    return stub_->Allocate(&context, request, response);
  }

  grpc::Status preStart(const std::vector<std::string>& ids) {
    v1beta1::PreStartContainerRequest request;
    for (const auto& id : ids) {
      request.add_devices_ids(id);
    }
    v1beta1::PreStartContainerResponse response;
    grpc::ClientContext context;
    context.set_deadline(deadline());
    return stub_->PreStartContainer(&context, request, &response);
  }

  static std::vector<SlotHealth> toSlots(const v1beta1::ListAndWatchResponse& response) {
    std::vector<SlotHealth> slots;
    for (const auto& device : response.devices()) {
      slots.push_back({device.id(), device.health() == "Healthy"});
      EXPECT_TRUE(device.health() == "Healthy" || device.health() == "Unhealthy")
          << device.health();
    }
    return slots;
  }

  bool waitForOpenStreams(int count) {
    const auto until = std::chrono::steady_clock::now() + kTimeout;
    while (server_.openStreams() != count) {
      if (std::chrono::steady_clock::now() > until) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  fakes::SocketDir dir_;
  fakes::FakeSlotBackend backend_{kSlots};
  DevicePluginServer server_{{dir_.path(), "mpshare.sock", "nvidia.com/gpu.shared", kSlots},
                             backend_};
  std::unique_ptr<v1beta1::DevicePlugin::Stub> stub_;
};

TEST_F(DevicePluginServerTest, ServesOnTheSocketInThePluginDirectory) {
  EXPECT_EQ(server_.socketPath(), dir_.file("mpshare.sock"));
  struct stat st {};
  ASSERT_EQ(::stat(server_.socketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_TRUE(server_.serving());
}

TEST_F(DevicePluginServerTest, OptionsAskForPreStartAndNoPreferredAllocation) {
  grpc::ClientContext context;
  context.set_deadline(deadline());
  v1beta1::DevicePluginOptions options;
  ASSERT_TRUE(stub_->GetDevicePluginOptions(&context, v1beta1::Empty(), &options).ok());
  EXPECT_TRUE(options.pre_start_required());
  EXPECT_FALSE(options.get_preferred_allocation_available());
}

TEST_F(DevicePluginServerTest, ListAndWatchSendsEverySlotThenEachHealthChange) {
  grpc::ClientContext context;
  auto reader = stub_->ListAndWatch(&context, v1beta1::Empty());
  v1beta1::ListAndWatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(toSlots(response),
            (std::vector<SlotHealth>{
                {"slot-000", true}, {"slot-001", true}, {"slot-002", true}, {"slot-003", true}}));
  EXPECT_EQ(response.devices(0).health(), "Healthy");

  // A notification without a change sends nothing; the next list is the change.
  server_.notifyHealthChanged();
  backend_.setHealthy(2, false);
  server_.notifyHealthChanged();
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(toSlots(response),
            (std::vector<SlotHealth>{
                {"slot-000", true}, {"slot-001", true}, {"slot-002", false}, {"slot-003", true}}));
  EXPECT_EQ(response.devices(2).health(), "Unhealthy");

  backend_.setHealthy(2, true);
  server_.notifyHealthChanged();
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_TRUE(toSlots(response)[2].healthy);
  context.TryCancel();
}

TEST_F(DevicePluginServerTest, ListAndWatchEndsWhenTheKubeletGoesAway) {
  grpc::ClientContext context;
  auto reader = stub_->ListAndWatch(&context, v1beta1::Empty());
  v1beta1::ListAndWatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(server_.openStreams(), 1);
  context.TryCancel();
  EXPECT_TRUE(waitForOpenStreams(0)) << "the stream still holds a serving thread";
}

TEST_F(DevicePluginServerTest, AllocateNamesTheSlotsCdiDeviceInEveryForm) {
  v1beta1::AllocateResponse response;
  ASSERT_TRUE(allocate({{"slot-003"}}, &response).ok());
  ASSERT_EQ(response.container_responses_size(), 1);
  const auto& container = response.container_responses(0);
  ASSERT_EQ(container.cdi_devices_size(), 1);
  EXPECT_EQ(container.cdi_devices(0).name(), "mpshare.io/gpu=slot-003");
  EXPECT_THAT(container.annotations(),
              ElementsAre(Pair("cdi.k8s.io/mpshare_slot-003", "mpshare.io/gpu=slot-003")));
  EXPECT_THAT(container.envs(), ElementsAre(Pair("MPSHARE_SLOTS", "slot-003")));
  EXPECT_EQ(container.mounts_size(), 0);
  EXPECT_EQ(container.devices_size(), 0);
}

TEST_F(DevicePluginServerTest, AllocateAnswersEachContainerRequestInOrder) {
  v1beta1::AllocateResponse response;
  ASSERT_TRUE(allocate({{"slot-002"}, {"slot-000", "slot-001"}, {"slot-003"}}, &response).ok());
  ASSERT_EQ(response.container_responses_size(), 3);
  EXPECT_EQ(response.container_responses(0).cdi_devices(0).name(), "mpshare.io/gpu=slot-002");
  EXPECT_EQ(response.container_responses(2).cdi_devices(0).name(), "mpshare.io/gpu=slot-003");

  // A container with two slots gets both (the webhook refuses such MPS pods).
  const auto& both = response.container_responses(1);
  ASSERT_EQ(both.cdi_devices_size(), 2);
  EXPECT_EQ(both.cdi_devices(0).name(), "mpshare.io/gpu=slot-000");
  EXPECT_EQ(both.cdi_devices(1).name(), "mpshare.io/gpu=slot-001");
  EXPECT_THAT(both.annotations(),
              UnorderedElementsAre(Pair("cdi.k8s.io/mpshare_slot-000", "mpshare.io/gpu=slot-000"),
                                   Pair("cdi.k8s.io/mpshare_slot-001", "mpshare.io/gpu=slot-001")));
  EXPECT_EQ(both.envs().at("MPSHARE_SLOTS"), "slot-000,slot-001");
}

TEST_F(DevicePluginServerTest, AllocateIsIdempotent) {
  v1beta1::AllocateResponse first;
  v1beta1::AllocateResponse second;
  ASSERT_TRUE(allocate({{"slot-001", "slot-002"}}, &first).ok());
  ASSERT_TRUE(allocate({{"slot-001", "slot-002"}}, &second).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first, second))
      << first.DebugString() << "\n"
      << second.DebugString();
}

TEST_F(DevicePluginServerTest, AllocateRefusesIdsThatAreNotSlotsOfThisNode) {
  struct Case {
    std::vector<std::vector<std::string>> requests;
    std::string message;  // a substring of the status message
  } cases[] = {
      {{{"slot-004"}},
       "container_requests[0].devices_ids[0]: \"slot-004\" is not an mpshare slot of this node "
       "(slot-000...slot-003)"},
      {{{"slot-001"}, {"slot-002", "gpu-0"}},
       "container_requests[1].devices_ids[1]: \"gpu-0\" is not an mpshare slot"},
      {{{"slot-3"}}, "\"slot-3\" is not an mpshare slot of this node"},
      {{{"slot-0003"}}, "\"slot-0003\" is not an mpshare slot of this node"},
      {{{"slot--01"}}, "\"slot--01\""},
      {{{""}}, "\"\" is not an mpshare slot"},
      {{{}}, "container_requests[0].devices_ids: no device IDs"},
  };
  for (const Case& c : cases) {
    v1beta1::AllocateResponse response;
    const grpc::Status status = allocate(c.requests, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
}

TEST_F(DevicePluginServerTest, PreStartForwardsTheIdsToTheBackend) {
  EXPECT_TRUE(preStart({"slot-001"}).ok());
  EXPECT_TRUE(preStart({"slot-002", "slot-003"}).ok());
  EXPECT_EQ(backend_.preStartCalls(),
            (std::vector<std::vector<std::string>>{{"slot-001"}, {"slot-002", "slot-003"}}));
}

TEST_F(DevicePluginServerTest, PreStartMapsTheBackendsError) {
  backend_.setPreStartResult(
      core::Error{core::ErrorCode::kNotFound, "mpshare.io/gpu-index",
                  "pod ns/p has no GPU assigned; the extender writes it at bind"});
  grpc::Status status = preStart({"slot-001"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "mpshare.io/gpu-index: pod ns/p has no GPU assigned; the extender writes it at bind");

  backend_.setPreStartResult(
      core::Error{core::ErrorCode::kUnavailable, "", "the kubelet's PodResources is down"});
  status = preStart({"slot-001"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "the kubelet's PodResources is down");
}

TEST_F(DevicePluginServerTest, PreStartRefusesForeignIdsWithoutCallingTheBackend) {
  const grpc::Status status = preStart({"slot-001", "GPU-8f2c::0"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("devices_ids[1]: \"GPU-8f2c::0\" is not an mpshare slot"));
  EXPECT_TRUE(backend_.preStartCalls().empty());
}

class ThrowingBackend final : public SlotBackend {
 public:
  [[nodiscard]] std::vector<SlotHealth> slots() const override { return {{"slot-000", true}}; }
  core::Status preStart(const std::vector<std::string>& /*device_ids*/) override {
    throw std::runtime_error("CDI directory vanished");
  }
};

TEST(DevicePluginServerErrors, AThrowingBackendBecomesInternalNamingTheCall) {
  fakes::SocketDir dir;
  ThrowingBackend backend;
  DevicePluginServer server({dir.path(), "mpshare.sock", "nvidia.com/gpu.shared", 1}, backend);
  ASSERT_TRUE(server.start().ok());
  auto stub = v1beta1::DevicePlugin::NewStub(
      grpc::CreateChannel("unix:" + server.socketPath(), grpc::InsecureChannelCredentials()));
  v1beta1::PreStartContainerRequest request;
  request.add_devices_ids("slot-000");
  v1beta1::PreStartContainerResponse response;
  grpc::ClientContext context;
  context.set_deadline(deadline());
  const grpc::Status status = stub->PreStartContainer(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "PreStartContainer failed: CDI directory vanished");
}

TEST_F(DevicePluginServerTest, PreferredAllocationIsNotOffered) {
  grpc::ClientContext context;
  context.set_deadline(deadline());
  v1beta1::PreferredAllocationResponse response;
  const grpc::Status status =
      stub_->GetPreferredAllocation(&context, v1beta1::PreferredAllocationRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(DevicePluginServerTest, StopIsPromptWithListAndWatchOpenAndTheServerCanStartAgain) {
  grpc::ClientContext context;
  auto reader = stub_->ListAndWatch(&context, v1beta1::Empty());
  v1beta1::ListAndWatchResponse response;
  ASSERT_TRUE(reader->Read(&response));

  const auto before = std::chrono::steady_clock::now();
  server_.stop();
  // Under the server's 500 ms shutdown grace: the stream ended by itself rather
  // than being cancelled at the deadline.
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(400));
  EXPECT_FALSE(reader->Read(&response));
  EXPECT_FALSE(server_.serving());
  struct stat st {};
  EXPECT_NE(::stat(server_.socketPath().c_str(), &st), 0) << "the socket file outlived stop()";
  server_.stop();  // idempotent

  ASSERT_TRUE(server_.start().ok());
  stub_ = connect();
  v1beta1::AllocateResponse allocated;
  EXPECT_TRUE(allocate({{"slot-000"}}, &allocated).ok());
}

TEST_F(DevicePluginServerTest, StartingTwiceIsAConflict) {
  const core::Status status = server_.start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, core::ErrorCode::kConflict);
  EXPECT_EQ(status.error().describe(),
            server_.socketPath() + ": the device plugin is already serving there");
}

TEST(DevicePluginServerStart, ReplacesAStaleSocketFile) {
  fakes::SocketDir dir;
  std::ofstream(dir.file("mpshare.sock")) << "left by a crash";
  fakes::FakeSlotBackend backend(1);
  DevicePluginServer server({dir.path(), "mpshare.sock", "nvidia.com/gpu.shared", 1}, backend);
  ASSERT_TRUE(server.start().ok());
  struct stat st {};
  ASSERT_EQ(::stat(server.socketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

TEST(DevicePluginServerStart, ErrorsNameTheDirectoryOrTheSocket) {
  fakes::FakeSlotBackend backend(1);
  DevicePluginServer missing(
      {"/tmp/mpn-does-not-exist", "mpshare.sock", "nvidia.com/gpu.shared", 1}, backend);
  core::Status status = missing.start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().describe(),
            "/tmp/mpn-does-not-exist: the device plugin directory does not exist");

  fakes::SocketDir dir;
  const std::string long_name(120, 's');
  DevicePluginServer too_long({dir.path(), long_name, "nvidia.com/gpu.shared", 1}, backend);
  status = too_long.start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_THAT(status.error().describe(), HasSubstr("unix sockets allow at most 107"));
  EXPECT_THAT(status.error().describe(), HasSubstr(long_name));
}

}  // namespace
}  // namespace mpshare::node
