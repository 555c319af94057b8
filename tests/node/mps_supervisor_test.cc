// MpsSupervisor with tests/node/fake-mps-control standing in for
// nvidia-cuda-mps-control: real processes, real signals, back-off in
// milliseconds.

#include "node/mps_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "tests/node/temp_dir.h"
#include "tests/support/read_file.h"

namespace mpshare::node {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing_support::readFile;

const core::GpuDevice kGpu0{0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "NVIDIA-H100-80GB-HBM3",
                            81559, false};
const core::GpuDevice kGpu1{1, "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f", "NVIDIA-H100-80GB-HBM3",
                            81559, false};
constexpr auto kWait = std::chrono::seconds(10);

struct HealthEvent {
  std::string uuid;
  bool healthy;
  std::string why;
  std::chrono::steady_clock::time_point at;
};

// Collects health reports; tests wait for the n-th one of a GPU.
class Recorder {
 public:
  MpsHealthCallback callback() {
    return [this](const core::GpuDevice& gpu, bool healthy, const std::string& why) {
      std::lock_guard lock(mutex_);
      events_.push_back({gpu.uuid, healthy, why, std::chrono::steady_clock::now()});
      changed_.notify_all();
    };
  }
  // The events of `uuid` once there are at least `count` (fewer on timeout).
  std::vector<HealthEvent> waitFor(const std::string& uuid, size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kWait, [&] { return of(uuid).size() >= count; });
    return of(uuid);
  }
  std::vector<HealthEvent> events(const std::string& uuid) {
    std::lock_guard lock(mutex_);
    return of(uuid);
  }

 private:
  std::vector<HealthEvent> of(const std::string& uuid) const {
    std::vector<HealthEvent> out;
    for (const auto& event : events_) {
      if (event.uuid == uuid) out.push_back(event);
    }
    return out;
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<HealthEvent> events_;
};

std::map<std::string, std::string> readEnv(const std::string& path) {
  std::map<std::string, std::string> env;
  std::istringstream lines(readFile(path));
  std::string line;
  while (std::getline(lines, line)) {
    const auto equals = line.find('=');
    if (equals != std::string::npos) env[line.substr(0, equals)] = line.substr(equals + 1);
  }
  return env;
}

bool waitUntil(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

bool processGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

class MpsSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(temp_.path() / "bin");
    fs::copy_file(fs::path(MPSHARE_SOURCE_DIR) / "tests/node/fake-mps-control", control_);
    fs::permissions(control_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    config_.control_binary = control_;
    config_.root = temp_.file("mps");
    config_.initial_backoff = milliseconds(100);
    config_.max_backoff = milliseconds(400);
    config_.poll_interval = milliseconds(10);
    config_.stop_timeout = milliseconds(300);
  }

  [[nodiscard]] std::string pipe(const core::GpuDevice& gpu) const {
    return config_.root + "/" + gpu.uuid + "/pipe";
  }
  [[nodiscard]] std::string log(const core::GpuDevice& gpu) const {
    return config_.root + "/" + gpu.uuid + "/log";
  }
  // The pid the fake daemon recorded, once it has.
  [[nodiscard]] pid_t recordedPid(const core::GpuDevice& gpu) const {
    const std::string path = pipe(gpu) + "/daemon.pid";
    EXPECT_TRUE(waitUntil([&] { return fs::exists(path); })) << path;
    return std::stoi(readFile(path));
  }

  testing_support::TempDir temp_;
  const std::string control_ = temp_.file("bin/nvidia-cuda-mps-control");
  MpsSupervisorConfig config_;
  Recorder recorder_;
};

TEST_F(MpsSupervisorTest, StartsOneDaemonPerGpuWithItsOwnEnvironment) {
  ::setenv("CUDA_VISIBLE_DEVICES", "0,1", 1);  // the agent's own value must not leak through
  MpsSupervisor supervisor(config_, {kGpu0, kGpu1}, recorder_.callback());
  ASSERT_TRUE(supervisor.start().ok());
  ::unsetenv("CUDA_VISIBLE_DEVICES");

  for (const auto& gpu : {kGpu0, kGpu1}) {
    SCOPED_TRACE(gpu.uuid);
    EXPECT_TRUE(supervisor.healthy(gpu.uuid));
    EXPECT_EQ(supervisor.pipeDirectory(gpu.uuid), pipe(gpu));
    EXPECT_EQ(supervisor.restarts(gpu.uuid), 0);
    const pid_t pid = recordedPid(gpu);
    EXPECT_EQ(supervisor.daemonPid(gpu.uuid), pid);
    EXPECT_EQ(::getpgid(pid), pid) << "each daemon leads a process group of its own";

    ASSERT_TRUE(waitUntil([&] { return fs::exists(log(gpu) + "/daemon.env"); }));
    const auto env = readEnv(log(gpu) + "/daemon.env");
    EXPECT_EQ(env.at("CUDA_VISIBLE_DEVICES"), gpu.uuid);
    EXPECT_EQ(env.at("CUDA_MPS_PIPE_DIRECTORY"), pipe(gpu));
    EXPECT_EQ(env.at("CUDA_MPS_LOG_DIRECTORY"), log(gpu));
    EXPECT_EQ(env.count("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"), 0U) << "no default limits";
    EXPECT_EQ(env.at("PATH"), std::getenv("PATH"));

    for (const auto& dir : {pipe(gpu), log(gpu)}) {
      struct stat info {};
      ASSERT_EQ(::stat(dir.c_str(), &info), 0) << dir;
      EXPECT_EQ(info.st_mode & 0777, 0755U) << dir;
    }
    const auto events = recorder_.events(gpu.uuid);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_TRUE(events[0].healthy);
    EXPECT_EQ(events[0].why, "running (pid " + std::to_string(pid) + ")");
  }
  EXPECT_FALSE(supervisor.healthy("GPU-unknown"));
  EXPECT_EQ(supervisor.pipeDirectory("GPU-unknown"), "");
}

TEST_F(MpsSupervisorTest, RestartsAKilledDaemonAfterBackOffAndLeavesTheOtherGpuAlone) {
  MpsSupervisor supervisor(config_, {kGpu0, kGpu1}, recorder_.callback());
  ASSERT_TRUE(supervisor.start().ok());
  const pid_t gpu1_pid = recordedPid(kGpu1);

  // Each kill right after a restart: the delay doubles up to the cap.
  const std::vector<std::string> delays = {"100ms", "200ms", "400ms", "400ms"};
  for (size_t kill = 0; kill < delays.size(); ++kill) {
    SCOPED_TRACE(kill);
    const pid_t pid = supervisor.daemonPid(kGpu0.uuid).value_or(-1);
    ASSERT_GT(pid, 0);
    const auto killed_at = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    const auto events = recorder_.waitFor(kGpu0.uuid, 3 + 2 * kill);
    ASSERT_EQ(events.size(), 3 + 2 * kill);
    const HealthEvent& down = events[1 + 2 * kill];
    const HealthEvent& up = events[2 + 2 * kill];
    EXPECT_FALSE(down.healthy);
    EXPECT_EQ(down.why,
              "nvidia-cuda-mps-control killed by signal 9 (Killed); restart in " + delays[kill])
        << "delay of restart " << kill;
    EXPECT_TRUE(up.healthy);
    EXPECT_GE(up.at - killed_at, milliseconds(100)) << "restarted before the back-off";
    EXPECT_EQ(supervisor.restarts(kGpu0.uuid), static_cast<int>(kill + 1));
    EXPECT_NE(supervisor.daemonPid(kGpu0.uuid), pid);
    EXPECT_TRUE(supervisor.healthy(kGpu0.uuid));
  }

  // GPU 1 never noticed.
  EXPECT_TRUE(supervisor.healthy(kGpu1.uuid));
  EXPECT_EQ(supervisor.daemonPid(kGpu1.uuid), gpu1_pid);
  EXPECT_EQ(supervisor.restarts(kGpu1.uuid), 0);
  EXPECT_EQ(recorder_.events(kGpu1.uuid).size(), 1U);
  EXPECT_EQ(::kill(gpu1_pid, 0), 0);
}

TEST_F(MpsSupervisorTest, BackOffStartsOverOnceADaemonStayedUp) {
  config_.stable_after = milliseconds(300);
  MpsSupervisor supervisor(config_, {kGpu0}, recorder_.callback());
  ASSERT_TRUE(supervisor.start().ok());
  for (int kill = 0; kill < 2; ++kill) {
    ASSERT_EQ(::kill(*supervisor.daemonPid(kGpu0.uuid), SIGKILL), 0);
    ASSERT_EQ(recorder_.waitFor(kGpu0.uuid, 3 + 2 * kill).size(), 3U + 2 * kill);
  }
  EXPECT_EQ(
      recorder_.events(kGpu0.uuid)[3].why.substr(recorder_.events(kGpu0.uuid)[3].why.size() - 5),
      "200ms");
  std::this_thread::sleep_for(milliseconds(400));  // longer than stable_after
  ASSERT_EQ(::kill(*supervisor.daemonPid(kGpu0.uuid), SIGKILL), 0);
  const auto events = recorder_.waitFor(kGpu0.uuid, 7);
  ASSERT_EQ(events.size(), 7U);
  EXPECT_EQ(events[5].why.substr(events[5].why.size() - 5), "100ms") << events[5].why;
}

TEST_F(MpsSupervisorTest, StopQuitsEveryDaemonThroughItsPipe) {
  config_.stop_timeout = std::chrono::seconds(3);
  MpsSupervisor supervisor(config_, {kGpu0, kGpu1}, recorder_.callback());
  ASSERT_TRUE(supervisor.start().ok());
  const pid_t pid0 = recordedPid(kGpu0);
  const pid_t pid1 = recordedPid(kGpu1);
  const auto began = std::chrono::steady_clock::now();
  supervisor.stop();
  // Well inside the deadline: quit ended them, not SIGTERM.
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(2));
  EXPECT_TRUE(processGone(pid0));
  EXPECT_TRUE(processGone(pid1));
  for (const auto& gpu : {kGpu0, kGpu1}) {
    SCOPED_TRACE(gpu.uuid);
    // The quit reached the fake through this GPU's own pipe directory.
    EXPECT_EQ(readFile(log(gpu) + "/commands"), "quit\n");
    EXPECT_FALSE(supervisor.healthy(gpu.uuid));
    EXPECT_EQ(supervisor.daemonPid(gpu.uuid), std::nullopt);
    const auto events = recorder_.events(gpu.uuid);
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[1].why, "stopped");
  }
  supervisor.stop();  // again: nothing happens
  EXPECT_EQ(recorder_.events(kGpu0.uuid).size(), 2U);
}

TEST_F(MpsSupervisorTest, StopEndsADaemonThatIgnoresQuitAndSigterm) {
  fs::create_directories(pipe(kGpu1));
  std::ofstream(pipe(kGpu1) + "/ignore-quit");
  std::ofstream(pipe(kGpu1) + "/ignore-term");
  MpsSupervisor supervisor(config_, {kGpu0, kGpu1}, recorder_.callback());
  ASSERT_TRUE(supervisor.start().ok());
  const pid_t pid0 = recordedPid(kGpu0);
  const pid_t pid1 = recordedPid(kGpu1);
  const auto began = std::chrono::steady_clock::now();
  supervisor.stop();
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_TRUE(processGone(pid0));
  EXPECT_TRUE(processGone(pid1));
  // quit deadline, then the SIGTERM deadline, then SIGKILL: about 2 x 300 ms.
  EXPECT_GE(took, milliseconds(600));
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(MpsSupervisorTest, AMissingBinaryStopsStartUpNamingIt) {
  struct Case {
    std::string binary;
    std::string error;
  };
  const Case cases[] = {
      {"nvidia-cuda-mps-control-absent", "nvidia-cuda-mps-control-absent: not found on PATH ("},
      {temp_.file("bin/absent"), temp_.file("bin/absent") + ": is not an executable file"},
  };
  for (const Case& c : cases) {
    config_.control_binary = c.binary;
    MpsSupervisor supervisor(config_, {kGpu0}, recorder_.callback());
    auto status = supervisor.start();
    ASSERT_FALSE(status.ok());
    const std::string error = status.error().describe();
    EXPECT_EQ(error.rfind(c.error, 0), 0U) << error;
    EXPECT_NE(error.find("install it on the node"), std::string::npos) << error;
    EXPECT_FALSE(fs::exists(config_.root)) << "nothing is started or created";
  }
  EXPECT_TRUE(recorder_.events(kGpu0.uuid).empty());
}

TEST_F(MpsSupervisorTest, FindsTheBinaryOnPath) {
  const std::string saved = std::getenv("PATH");
  ::setenv("PATH", (temp_.file("bin") + ":" + saved).c_str(), 1);
  config_.control_binary = "nvidia-cuda-mps-control";
  MpsSupervisor supervisor(config_, {kGpu0}, recorder_.callback());
  auto status = supervisor.start();
  ::setenv("PATH", saved.c_str(), 1);
  ASSERT_TRUE(status.ok()) << status.error().describe();
  EXPECT_GT(recordedPid(kGpu0), 0);
}

TEST_F(MpsSupervisorTest, ProbeFailureMarksTheGpuUnhealthyWhileItsDaemonRuns) {
  config_.probe = true;
  config_.probe_interval = milliseconds(50);
  config_.probe_timeout = milliseconds(2000);
  MpsSupervisor supervisor(config_, {kGpu0}, recorder_.callback());
  ASSERT_TRUE(supervisor.start().ok());
  auto events = recorder_.waitFor(kGpu0.uuid, 1);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_TRUE(events[0].healthy);
  EXPECT_NE(events[0].why.find("probe ok"), std::string::npos) << events[0].why;

  std::ofstream(pipe(kGpu0) + "/unhealthy");
  events = recorder_.waitFor(kGpu0.uuid, 2);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_FALSE(events[1].healthy);
  EXPECT_EQ(events[1].why, "probe exited with status 1");
  EXPECT_FALSE(supervisor.healthy(kGpu0.uuid));

  fs::remove(pipe(kGpu0) + "/unhealthy");
  events = recorder_.waitFor(kGpu0.uuid, 3);
  ASSERT_EQ(events.size(), 3U);
  EXPECT_TRUE(events[2].healthy);
  EXPECT_EQ(supervisor.restarts(kGpu0.uuid), 0) << "a failed probe does not restart the daemon";
  const std::string commands = readFile(log(kGpu0) + "/commands");
  EXPECT_EQ(commands.rfind("get_default_active_thread_percentage\n", 0), 0U) << commands;
}

}  // namespace
}  // namespace mpshare::node
