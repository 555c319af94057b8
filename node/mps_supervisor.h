#pragma once

// One MPS control daemon per GPU, supervised. Each GPU gets its own
// `nvidia-cuda-mps-control -f` (CUDA_VISIBLE_DEVICES=<uuid>) with its own pipe
// and log directories, so a daemon fault stays on one GPU. No default limits
// are set on a daemon: every client brings its own (design.md, "Where the MPS
// daemon comes from"). A daemon that exits is restarted after a capped
// exponential back-off; health changes are reported so the device plugin can
// mark that GPU's slots unhealthy.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/gpu_device.h"
#include "core/result.h"

namespace mpshare::node {

struct MpsSupervisorConfig {
  // A name searched on PATH, or a path.
  std::string control_binary = "nvidia-cuda-mps-control";
  // Per GPU: <root>/<uuid>/pipe (CUDA_MPS_PIPE_DIRECTORY) and <root>/<uuid>/log.
  std::string root = "/run/mpshare/mps";
  // Restart delay after an exit: initial, doubled per exit, capped at max; back
  // to initial once a daemon has run for stable_after (the kubelet's
  // CrashLoopBackOff resets after 10 minutes as well).
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds stable_after{std::chrono::minutes(10)};
  // How often exits are looked for (and probes started or checked).
  std::chrono::milliseconds poll_interval{200};
  // Optional probe: `echo get_default_active_thread_percentage | <control>`
  // with the GPU's pipe env must exit 0. Off: running = healthy. On: a daemon
  // is healthy from its first good probe; failed probes of a daemon younger
  // than probe_timeout are not reported (it may still be opening its pipe).
  bool probe = false;
  std::chrono::milliseconds probe_interval{10000};
  std::chrono::milliseconds probe_timeout{5000};
  // stop(): `quit` through the control binary, then SIGTERM after this long,
  // then SIGKILL after as long again.
  std::chrono::milliseconds stop_timeout{5000};
};

// Called on every health change of a GPU's daemon (not on repeats), from the
// supervisor's thread or from start()/stop(). `why` is for a log line:
// "running (pid 4242)", "exited with status 1; restart in 2s", "probe exited with status 1".
using MpsHealthCallback =
    std::function<void(const core::GpuDevice& gpu, bool healthy, const std::string& why)>;

class MpsSupervisor {
 public:
  MpsSupervisor(MpsSupervisorConfig config, std::vector<core::GpuDevice> gpus,
                MpsHealthCallback on_health);
  ~MpsSupervisor();  // stop()
  MpsSupervisor(const MpsSupervisor&) = delete;
  MpsSupervisor& operator=(const MpsSupervisor&) = delete;

  // Finds the control binary, creates the directories (0755) and starts every
  // daemon. A missing binary (or duplicate UUIDs, or a directory that cannot be
  // made) is an error and nothing is started; a daemon that fails to start is
  // retried like one that exited.
  core::Status start();

  // Ends every daemon (quit, then SIGTERM, then SIGKILL) and the supervision.
  // Idempotent; the supervisor cannot be started again.
  void stop();

  // False for an unknown UUID.
  [[nodiscard]] bool healthy(const std::string& uuid) const;
  // "<root>/<uuid>/pipe"; empty for an unknown UUID.
  [[nodiscard]] std::string pipeDirectory(const std::string& uuid) const;
  // How many times the daemon was started again after its first start.
  [[nodiscard]] int restarts(const std::string& uuid) const;
  // The daemon's pid now; nullopt while it is down or for an unknown UUID.
  [[nodiscard]] std::optional<pid_t> daemonPid(const std::string& uuid) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Daemon;
  struct Event {
    core::GpuDevice gpu;
    bool healthy;
    std::string why;
  };

  [[nodiscard]] std::vector<std::string> environmentFor(const Daemon& daemon) const;
  void spawnDaemon(Daemon& daemon, Clock::time_point now, std::vector<Event>& events);
  void checkDaemon(Daemon& daemon, Clock::time_point now, std::vector<Event>& events);
  void checkProbe(Daemon& daemon, Clock::time_point now, std::vector<Event>& events);
  static void setHealth(Daemon& daemon, bool healthy, const std::string& why,
                        std::vector<Event>& events);
  void report(const std::vector<Event>& events) const;
  // Reaps the processes that end before `deadline`; those still running stay in `pids`.
  static void waitAll(std::vector<pid_t>& pids, Clock::time_point deadline);
  void run();

  const MpsSupervisorConfig config_;
  const MpsHealthCallback on_health_;
  std::string binary_;  // resolved by start()

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Daemon> daemons_;  // guarded by mutex_
  bool started_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mpshare::node
