// Registration with a fake kubelet that behaves like the real one (it dials the
// plugin back inside Register), and PluginRunner across kubelet restarts.

#include "node/registration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "platform/logging.h"
#include "testing/kubelet/fake_kubelet.h"
#include "tests/support/eventually.h"

namespace mpshare::node {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing_support::eventually;

constexpr int kSlots = 4;
constexpr auto kWait = milliseconds(3000);
const std::string kResource = "nvidia.com/gpu.shared";

bool isSocket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

class RegistrationTest : public ::testing::Test {
 protected:
  void SetUp() override { platform::setLogLevel(platform::LogLevel::kWarn); }

  fakes::FakeKubelet::Options kubeletOptions() const {
    fakes::FakeKubelet::Options options;
    options.dir = dir_.path();
    // The kubelet's is 10 s; 1 s still fails a plugin that registers before
    // serving well inside Register's 2 s, and survives a loaded test machine.
    options.dial_timeout = milliseconds(1000);
    return options;
  }

  RegistrationRequest request() const {
    RegistrationRequest request;
    request.kubelet_socket = dir_.file("kubelet.sock");
    request.endpoint = "mpshare.sock";
    request.resource_name = kResource;
    request.timeout = milliseconds(2000);
    return request;
  }

  fakes::SocketDir dir_;
  fakes::FakeSlotBackend backend_{kSlots};
  DevicePluginServer server_{{dir_.path(), "mpshare.sock", kResource, kSlots}, backend_};
};

TEST_F(RegistrationTest, SendsTheContractAndTheKubeletDialsBack) {
  fakes::FakeKubelet kubelet(kubeletOptions());
  ASSERT_TRUE(kubelet.start().ok());
  ASSERT_TRUE(server_.start().ok());

  const core::Status status = registerWithKubelet(request());
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_EQ(kubelet.registrations(), 1);
  const auto sent = kubelet.lastRequest();
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->version(), "v1beta1");
  EXPECT_EQ(sent->endpoint(), "mpshare.sock");
  EXPECT_EQ(sent->resource_name(), kResource);
  EXPECT_TRUE(sent->options().pre_start_required());
  EXPECT_FALSE(sent->options().get_preferred_allocation_available());
  // What the kubelet keeps is the plugin's own answer, fetched inside Register.
  ASSERT_TRUE(kubelet.lastOptions().has_value());
  EXPECT_TRUE(kubelet.lastOptions()->pre_start_required());

  ASSERT_TRUE(kubelet.waitForLists(1, kWait));
  EXPECT_EQ(kubelet.lists()[0].size(), static_cast<std::size_t>(kSlots));
  EXPECT_EQ(kubelet.lists()[0][3], (SlotHealth{"slot-003", true}));
  EXPECT_TRUE(kubelet.protocolErrors().empty());

  backend_.setHealthy(1, false);
  server_.notifyHealthChanged();
  ASSERT_TRUE(kubelet.waitForLists(2, kWait));
  EXPECT_FALSE(kubelet.lists()[1][1].healthy);
}

TEST_F(RegistrationTest, RegisteringBeforeServingFailsAsOnANode) {
  fakes::FakeKubelet kubelet(kubeletOptions());
  ASSERT_TRUE(kubelet.start().ok());

  const core::Status status = registerWithKubelet(request());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, core::ErrorCode::kUnavailable);
  EXPECT_THAT(status.error().describe(),
              HasSubstr(dir_.file("kubelet.sock") + ": Register failed (UNAVAILABLE: "));
  EXPECT_THAT(status.error().describe(), HasSubstr("a plugin must serve before it registers"));
  EXPECT_EQ(kubelet.registrations(), 0);
}

TEST_F(RegistrationTest, TheKubeletRefusesAnotherResourceName) {
  fakes::FakeKubelet kubelet(kubeletOptions());
  ASSERT_TRUE(kubelet.start().ok());
  ASSERT_TRUE(server_.start().ok());
  RegistrationRequest wrong = request();
  wrong.resource_name = "nvidia.com/gpu";

  const core::Status status = registerWithKubelet(wrong);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(
      status.error().describe(),
      HasSubstr("INVALID_ARGUMENT: resource name nvidia.com/gpu is not nvidia.com/gpu.shared"));
}

TEST_F(RegistrationTest, NoKubeletSocketFailsFastNamingIt) {
  const auto before = std::chrono::steady_clock::now();
  const core::Status status = registerWithKubelet(request());
  EXPECT_LT(std::chrono::steady_clock::now() - before, milliseconds(1000));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, core::ErrorCode::kUnavailable);
  EXPECT_THAT(status.error().describe(),
              HasSubstr(dir_.file("kubelet.sock") + ": Register failed (UNAVAILABLE"));
}

TEST_F(RegistrationTest, ACancelledCancellerSendsNothing) {
  RegistrationCanceller canceller;
  canceller.cancel();
  const core::Status status = registerWithKubelet(request(), &canceller);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().describe(), HasSubstr("the plugin is stopping"));
}

// PluginRunner on its own thread, with back-offs short enough for tests.
class PluginRunnerTest : public RegistrationTest {
 protected:
  void TearDown() override { stopRunner(); }

  static PluginRunner::Options fastOptions() {
    PluginRunner::Options options;
    options.retry_initial = milliseconds(20);
    options.retry_max = milliseconds(200);
    options.register_timeout = milliseconds(2000);
    return options;
  }

  void startRunner(PluginRunner::Options options = fastOptions()) {
    options.on_registered = [this](int count) { callback_count_ = count; };
    runner_ = std::make_unique<PluginRunner>(server_, options);
    thread_ = std::thread([this] { run_status_ = runner_->run(); });
  }

  // How long run() took to return after stop().
  milliseconds stopRunner() {
    if (!runner_) {
      return milliseconds(0);
    }
    const auto before = std::chrono::steady_clock::now();
    runner_->stop();
    thread_.join();
    const auto took =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - before);
    runner_.reset();
    return took;
  }

  std::unique_ptr<PluginRunner> runner_;
  std::thread thread_;
  core::Status run_status_;
  std::atomic<int> callback_count_{0};
};

TEST_F(PluginRunnerTest, ServesThenRegistersAndTheKubeletCanAllocate) {
  fakes::FakeKubelet kubelet(kubeletOptions());
  ASSERT_TRUE(kubelet.start().ok());
  startRunner();

  ASSERT_TRUE(kubelet.waitForRegistrations(1, kWait))
      << ::testing::PrintToString(kubelet.refusals());
  EXPECT_TRUE(kubelet.refusals().empty());
  ASSERT_TRUE(kubelet.waitForLists(1, kWait));
  EXPECT_EQ(kubelet.lists()[0].size(), static_cast<std::size_t>(kSlots));
  v1beta1::AllocateResponse response;
  ASSERT_TRUE(kubelet.allocate({{"slot-002"}}, &response).ok());
  EXPECT_EQ(response.container_responses(0).cdi_devices(0).name(), "mpshare.io/gpu=slot-002");
  EXPECT_TRUE(kubelet.preStart({"slot-002"}).ok());
  EXPECT_TRUE(
      eventually([&] { return runner_->registrations() == 1 && callback_count_ == 1; }, kWait));

  EXPECT_LT(stopRunner(), milliseconds(1000));
  EXPECT_TRUE(run_status_.ok());
  EXPECT_FALSE(server_.serving());
  EXPECT_TRUE(kubelet.waitForListAndWatchClosed(kWait));
}

TEST_F(PluginRunnerTest, RegistersAsSoonAsTheKubeletSocketAppears) {
  PluginRunner::Options options = fastOptions();
  options.retry_initial = milliseconds(10000);  // only the directory watch can be this quick
  options.retry_max = milliseconds(10000);
  startRunner(options);
  ASSERT_TRUE(eventually([&] { return server_.serving(); }, kWait));

  fakes::FakeKubelet kubelet(kubeletOptions());
  ASSERT_TRUE(kubelet.start().ok());
  EXPECT_TRUE(
      kubelet.waitForRegistrations(1, milliseconds(5000)));  // the back-off alone would take 10 s
}

TEST_F(PluginRunnerTest, KubeletRestartThatCleansTheDirectoryIsFollowedByANewRegistration) {
  auto first = std::make_unique<fakes::FakeKubelet>(kubeletOptions());
  ASSERT_TRUE(first->start().ok());
  startRunner();
  ASSERT_TRUE(first->waitForRegistrations(1, kWait));

  // What a starting kubelet does: every socket in the directory goes, then
  // kubelet.sock comes back on a new inode.
  first->stop();
  first.reset();
  ASSERT_EQ(::unlink(dir_.file("mpshare.sock").c_str()), 0);
  ASSERT_TRUE(eventually([&] { return runner_->restarts() >= 1; }, kWait));
  fakes::FakeKubelet second(kubeletOptions());
  ASSERT_TRUE(second.start().ok());

  ASSERT_TRUE(second.waitForRegistrations(1, kWait)) << ::testing::PrintToString(second.refusals());
  EXPECT_TRUE(eventually([&] { return runner_->registrations() == 2; }, kWait));
  EXPECT_TRUE(isSocket(dir_.file("mpshare.sock")));
  v1beta1::AllocateResponse response;
  ASSERT_TRUE(second.allocate({{"slot-001"}}, &response).ok());
  EXPECT_EQ(response.container_responses(0).cdi_devices(0).name(), "mpshare.io/gpu=slot-001");
  ASSERT_TRUE(second.waitForLists(1, kWait));
  // No third registration trails behind.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(second.registerCalls(), 1);
  EXPECT_EQ(runner_->registrations(), 2);
}

TEST_F(PluginRunnerTest, ANewKubeletSocketAloneMeansARestart) {
  auto first = std::make_unique<fakes::FakeKubelet>(kubeletOptions());
  ASSERT_TRUE(first->start().ok());
  startRunner();
  ASSERT_TRUE(first->waitForRegistrations(1, kWait));
  first->stop();
  first.reset();
  ASSERT_TRUE(isSocket(dir_.file("mpshare.sock")));

  fakes::FakeKubelet second(kubeletOptions());
  ASSERT_TRUE(second.start().ok());
  ASSERT_TRUE(second.waitForRegistrations(1, kWait)) << ::testing::PrintToString(second.refusals());
  EXPECT_TRUE(
      eventually([&] { return runner_->restarts() == 1 && runner_->registrations() == 2; }, kWait));
  v1beta1::AllocateResponse response;
  EXPECT_TRUE(second.allocate({{"slot-000"}}, &response).ok());
}

TEST_F(PluginRunnerTest, OurSocketDeletedIsServedAndRegisteredAgain) {
  fakes::FakeKubelet kubelet(kubeletOptions());
  ASSERT_TRUE(kubelet.start().ok());
  startRunner();
  ASSERT_TRUE(kubelet.waitForRegistrations(1, kWait));

  ASSERT_EQ(::unlink(dir_.file("mpshare.sock").c_str()), 0);
  ASSERT_TRUE(kubelet.waitForRegistrations(2, kWait))
      << ::testing::PrintToString(kubelet.refusals());
  EXPECT_TRUE(isSocket(dir_.file("mpshare.sock")));
  EXPECT_TRUE(
      eventually([&] { return runner_->restarts() == 1 && runner_->registrations() == 2; }, kWait));
  v1beta1::AllocateResponse response;
  EXPECT_TRUE(kubelet.allocate({{"slot-003"}}, &response).ok());
  // Our own stop and start of the server must not look like another deletion.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(runner_->restarts(), 1);
  EXPECT_EQ(kubelet.registerCalls(), 2);
}

TEST_F(PluginRunnerTest, StopIsPromptWhileWaitingForTheKubelet) {
  PluginRunner::Options options = fastOptions();
  options.retry_initial = milliseconds(10000);
  startRunner(options);
  ASSERT_TRUE(eventually([&] { return server_.serving(); }, kWait));
  EXPECT_LT(stopRunner(), milliseconds(1500));  // not the 10 s it would wait
  EXPECT_FALSE(server_.serving());
}

TEST_F(PluginRunnerTest, StopIsPromptWithRegisterInFlight) {
  fakes::FakeKubelet::Options slow = kubeletOptions();
  slow.register_delay = milliseconds(10000);
  fakes::FakeKubelet kubelet(slow);
  ASSERT_TRUE(kubelet.start().ok());
  PluginRunner::Options options = fastOptions();
  options.register_timeout = milliseconds(15000);
  startRunner(options);
  ASSERT_TRUE(kubelet.waitForRegisterCalls(1, kWait));
  EXPECT_LT(stopRunner(), milliseconds(1500));  // not the 10 s it would wait
  EXPECT_EQ(kubelet.registrations(), 0);
}

TEST_F(PluginRunnerTest, AMissingPluginDirectoryIsAnErrorNamingIt) {
  fakes::FakeSlotBackend backend(1);
  DevicePluginServer server({"/tmp/mpn-does-not-exist", "mpshare.sock", kResource, 1}, backend);
  PluginRunner runner(server, fastOptions());
  const core::Status status = runner.run();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(
      status.error().describe(),
      HasSubstr("/tmp/mpn-does-not-exist: cannot watch the device plugin directory: No such file"));
}

TEST_F(PluginRunnerTest, StopBeforeRunReturnsAtOnce) {
  PluginRunner runner(server_, fastOptions());
  runner.stop();
  EXPECT_TRUE(runner.run().ok());
  EXPECT_FALSE(server_.serving());
}

}  // namespace
}  // namespace mpshare::node
