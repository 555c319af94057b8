#include "node/mps_supervisor.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "node/child_process.h"

namespace mpshare::node {
namespace {

constexpr const char* kProbeCommand = "get_default_active_thread_percentage\n";

std::string formatDelay(std::chrono::milliseconds delay) {
  const auto ms = delay.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// mkdir -p, then 0755 whatever the umask: MPS clients in containers run as
// other users and must reach the pipe directory.
core::Status makeDirectory(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error || ::chmod(path.c_str(), 0755) != 0) {
    return core::Error{core::ErrorCode::kUnavailable, path,
                       "cannot create the directory: " +
                           (error ? error.message() : std::string(std::strerror(errno)))};
  }
  return {};
}

}  // namespace

struct MpsSupervisor::Daemon {
  core::GpuDevice gpu;
  std::string pipe_dir;
  std::string log_dir;
  pid_t pid = -1;
  Clock::time_point started{};
  Clock::time_point restart_at{};
  std::chrono::milliseconds backoff{0};
  int starts = 0;
  std::optional<bool> reported;  // the last health reported; none before the first
  pid_t probe_pid = -1;
  Clock::time_point probe_deadline{};
  Clock::time_point next_probe{};
  bool probe_ok = false;
};

MpsSupervisor::MpsSupervisor(MpsSupervisorConfig config, std::vector<core::GpuDevice> gpus,
                             MpsHealthCallback on_health)
    : config_(std::move(config)), on_health_(std::move(on_health)) {
  for (auto& gpu : gpus) {
    Daemon daemon;
    daemon.pipe_dir = config_.root + "/" + gpu.uuid + "/pipe";
    daemon.log_dir = config_.root + "/" + gpu.uuid + "/log";
    daemon.backoff = config_.initial_backoff;
    daemon.gpu = std::move(gpu);
    daemons_.push_back(std::move(daemon));
  }
}

MpsSupervisor::~MpsSupervisor() { stop(); }

core::Status MpsSupervisor::start() {
  const char* path = std::getenv("PATH");
  auto binary = findExecutable(config_.control_binary, path != nullptr ? path : "/usr/bin:/bin");
  if (!binary) {
    return core::Error{
        binary.error().code, binary.error().field,
        binary.error().message +
            "; the MPS control daemon ships with the NVIDIA driver (e.g. Ubuntu's "
            "nvidia-compute-utils-<version>, or the GPU operator's driver container): install it "
            "on the node or give the full path of nvidia-cuda-mps-control"};
  }
  std::set<std::string> uuids;
  for (const Daemon& daemon : daemons_) {
    if (!uuids.insert(daemon.gpu.uuid).second || daemon.gpu.uuid.empty()) {
      return core::invalidArgument("gpus", "GPU UUID \"" + daemon.gpu.uuid +
                                               "\" is empty or listed twice; one daemon per GPU");
    }
    for (const std::string& dir : {daemon.pipe_dir, daemon.log_dir}) {
      if (auto status = makeDirectory(dir); !status) return status;
    }
  }
  std::vector<Event> events;
  {
    std::lock_guard lock(mutex_);
    if (started_ || stopping_) {
      return core::Error{core::ErrorCode::kConflict, "",
                         "the MPS supervisor was already started (or stopped)"};
    }
    started_ = true;
    binary_ = *binary;
    const auto now = Clock::now();
    for (Daemon& daemon : daemons_) spawnDaemon(daemon, now, events);
  }
  report(events);
  thread_ = std::thread([this] { run(); });
  return {};
}

std::vector<std::string> MpsSupervisor::environmentFor(const Daemon& daemon) const {
  return environmentWith({{"CUDA_VISIBLE_DEVICES", daemon.gpu.uuid},
                          {"CUDA_MPS_PIPE_DIRECTORY", daemon.pipe_dir},
                          {"CUDA_MPS_LOG_DIRECTORY", daemon.log_dir}});
}

void MpsSupervisor::setHealth(Daemon& daemon, bool healthy, const std::string& why,
                              std::vector<Event>& events) {
  if (daemon.reported == healthy) return;
  daemon.reported = healthy;
  events.push_back({daemon.gpu, healthy, why});
}

void MpsSupervisor::spawnDaemon(Daemon& daemon, Clock::time_point now, std::vector<Event>& events) {
  auto pid = spawnProcess({binary_, {"-f"}, environmentFor(daemon), std::nullopt, false});
  ++daemon.starts;
  if (!pid) {
    daemon.restart_at = now + daemon.backoff;
    setHealth(daemon, false, pid.error().describe() + "; retry in " + formatDelay(daemon.backoff),
              events);
    daemon.backoff = std::min(daemon.backoff * 2, config_.max_backoff);
    return;
  }
  daemon.pid = *pid;
  daemon.started = now;
  daemon.probe_ok = false;
  // The first probe waits one poll: the daemon needs a moment to open its pipe.
  daemon.next_probe = now + config_.poll_interval;
  if (!config_.probe) {
    setHealth(daemon, true, "running (pid " + std::to_string(*pid) + ")", events);
  }
}

void MpsSupervisor::checkDaemon(Daemon& daemon, Clock::time_point now, std::vector<Event>& events) {
  if (daemon.pid < 0) {
    if (now >= daemon.restart_at) spawnDaemon(daemon, now, events);
    return;
  }
  const auto status = reapIfEnded(daemon.pid);
  if (!status) {
    if (config_.probe) checkProbe(daemon, now, events);
    return;
  }
  // MPS servers the daemon started are in its group; none may outlive it and
  // hold the GPU against the next daemon.
  ::kill(-daemon.pid, SIGKILL);
  daemon.pid = -1;
  if (daemon.probe_pid > 0) waitOrKill(daemon.probe_pid, std::chrono::milliseconds(0));
  daemon.probe_pid = -1;
  if (now - daemon.started >= config_.stable_after) daemon.backoff = config_.initial_backoff;
  daemon.restart_at = now + daemon.backoff;
  setHealth(daemon, false,
            std::filesystem::path(binary_).filename().string() + " " + describeExit(*status) +
                "; restart in " + formatDelay(daemon.backoff),
            events);
  daemon.backoff = std::min(daemon.backoff * 2, config_.max_backoff);
}

void MpsSupervisor::checkProbe(Daemon& daemon, Clock::time_point now, std::vector<Event>& events) {
  if (daemon.probe_pid > 0) {
    auto status = reapIfEnded(daemon.probe_pid);
    if (!status && now < daemon.probe_deadline) return;
    // A daemon that just started may not have opened its pipe yet: its failed
    // probes count only after it had probe_timeout to come up (it is not
    // reported healthy before its first good probe either way).
    const bool starting = !daemon.probe_ok && now - daemon.started < config_.probe_timeout;
    if (!status) {
      waitOrKill(daemon.probe_pid, std::chrono::milliseconds(0));
      setHealth(daemon, false, "probe timed out after " + formatDelay(config_.probe_timeout),
                events);
    } else if (*status != 0) {
      if (!starting) setHealth(daemon, false, "probe " + describeExit(*status), events);
    } else {
      setHealth(daemon, true, "running (pid " + std::to_string(daemon.pid) + "), probe ok", events);
    }
    daemon.probe_ok = status && *status == 0;
    daemon.probe_pid = -1;
    // An unhealthy daemon is probed again soon, so recovery shows quickly.
    daemon.next_probe =
        now + (daemon.probe_ok ? config_.probe_interval
                               : std::min(config_.probe_interval, std::chrono::milliseconds(1000)));
    return;
  }
  if (now < daemon.next_probe) return;
  auto pid = spawnProcess({binary_, {}, environmentFor(daemon), kProbeCommand, true});
  if (!pid) {
    setHealth(daemon, false, "probe " + pid.error().describe(), events);
    daemon.next_probe = now + config_.probe_interval;
    return;
  }
  daemon.probe_pid = *pid;
  daemon.probe_deadline = now + config_.probe_timeout;
}

void MpsSupervisor::report(const std::vector<Event>& events) const {
  if (!on_health_) return;
  for (const Event& event : events) on_health_(event.gpu, event.healthy, event.why);
}

void MpsSupervisor::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::vector<Event> events;
    const auto now = Clock::now();
    for (Daemon& daemon : daemons_) checkDaemon(daemon, now, events);
    // Callbacks run unlocked, so they may call healthy() and friends.
    lock.unlock();
    report(events);
    lock.lock();
    wake_.wait_for(lock, config_.poll_interval, [this] { return stopping_; });
  }
}

void MpsSupervisor::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    if (!started_) return;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();

  // The thread is gone, so only this function changes the daemons from here
  // on; it reads them unlocked and locks only to write what getters read.
  std::vector<pid_t> quits;
  std::vector<pid_t> daemons;
  for (Daemon& daemon : daemons_) {
    if (daemon.probe_pid > 0) waitOrKill(daemon.probe_pid, std::chrono::milliseconds(0));
    daemon.probe_pid = -1;
    if (daemon.pid < 0) continue;
    daemons.push_back(daemon.pid);
    // quit lets a daemon end its MPS servers cleanly; every GPU is asked at once.
    auto quit = spawnProcess({binary_, {}, environmentFor(daemon), std::string("quit\n"), true});
    if (quit) quits.push_back(*quit);
  }
  const std::vector<pid_t> groups = daemons;
  const auto deadline = Clock::now() + config_.stop_timeout;
  waitAll(quits, deadline);
  for (const pid_t quit : quits) waitOrKill(quit, std::chrono::milliseconds(0));
  waitAll(daemons, deadline);
  for (const pid_t pid : daemons) ::kill(-pid, SIGTERM);
  waitAll(daemons, Clock::now() + config_.stop_timeout);
  for (const pid_t pid : daemons) waitOrKill(pid, std::chrono::milliseconds(0));  // SIGKILL
  // No MPS server of any daemon's group may outlive the agent.
  for (const pid_t pid : groups) ::kill(-pid, SIGKILL);

  std::vector<Event> events;
  {
    std::lock_guard lock(mutex_);
    for (Daemon& daemon : daemons_) {
      daemon.pid = -1;
      setHealth(daemon, false, "stopped", events);
    }
  }
  report(events);
}

void MpsSupervisor::waitAll(std::vector<pid_t>& pids, Clock::time_point deadline) {
  while (true) {
    std::erase_if(pids, [](pid_t pid) { return reapIfEnded(pid).has_value(); });
    if (pids.empty() || Clock::now() >= deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool MpsSupervisor::healthy(const std::string& uuid) const {
  std::lock_guard lock(mutex_);
  for (const Daemon& daemon : daemons_) {
    if (daemon.gpu.uuid == uuid) return daemon.reported.value_or(false);
  }
  return false;
}

std::string MpsSupervisor::pipeDirectory(const std::string& uuid) const {
  for (const Daemon& daemon : daemons_) {  // set at construction, never changed
    if (daemon.gpu.uuid == uuid) return daemon.pipe_dir;
  }
  return "";
}

int MpsSupervisor::restarts(const std::string& uuid) const {
  std::lock_guard lock(mutex_);
  for (const Daemon& daemon : daemons_) {
    if (daemon.gpu.uuid == uuid) return std::max(0, daemon.starts - 1);
  }
  return 0;
}

std::optional<pid_t> MpsSupervisor::daemonPid(const std::string& uuid) const {
  std::lock_guard lock(mutex_);
  for (const Daemon& daemon : daemons_) {
    if (daemon.gpu.uuid == uuid && daemon.pid > 0) return daemon.pid;
  }
  return std::nullopt;
}

}  // namespace mpshare::node
