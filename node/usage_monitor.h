#pragma once

// Samples the node's GPU usage (on an interval and on every scrape), publishes
// it as metrics, and reports each pod that becomes double-capped once per
// episode: a warning log line and a Kubernetes Event on the pod, through
// `on_double_cap`. The episode ends when the pod has at most one MPS client on
// that GPU again (logged); a later second client starts a new one.

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "node/gpu_processes.h"
#include "node/usage_metrics.h"
#include "node/usage_report.h"

namespace mpshare::node {

using NodePodsProvider = std::function<std::vector<NodePod>()>;
using DoubleCapNotifier = std::function<void(const DoubleCap&)>;

struct UsageMonitorOptions {
  std::vector<core::GpuDevice> gpus;
  std::string proc_root = "/proc";
  // Log each double-cap episode's start and end (the agent; not a one-shot command).
  bool log_episodes = true;
};

class UsageMonitor {
 public:
  // `source` must outlive the monitor; `metrics` may be null (the usage command).
  UsageMonitor(UsageMonitorOptions options, GpuProcessSource& source, NodePodsProvider pods,
               UsageMetrics* metrics, DoubleCapNotifier on_double_cap);

  // Samples now, publishes the metrics, reports new double caps, then runs
  // `then` (e.g. render the registry) before another sample can change them.
  core::Result<UsageReport> sample(const std::function<void()>& then = nullptr);

 private:
  const UsageMonitorOptions options_;
  GpuProcessSource& source_;
  const NodePodsProvider pods_;
  UsageMetrics* metrics_;
  const DoubleCapNotifier on_double_cap_;
  std::mutex mutex_;                                     // one sample at a time
  std::set<std::pair<std::string, int>> double_capped_;  // (pod uid, gpu) in an episode
};

}  // namespace mpshare::node
