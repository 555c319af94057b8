#include "node/usage_monitor.h"

#include "node/proc_reader.h"
#include "platform/logging.h"

namespace mpshare::node {

UsageMonitor::UsageMonitor(UsageMonitorOptions options, GpuProcessSource& source,
                           NodePodsProvider pods, UsageMetrics* metrics,
                           DoubleCapNotifier on_double_cap)
    : options_(std::move(options)),
      source_(source),
      pods_(std::move(pods)),
      metrics_(metrics),
      on_double_cap_(std::move(on_double_cap)) {}

core::Result<UsageReport> UsageMonitor::sample(const std::function<void()>& then) {
  std::lock_guard lock(mutex_);
  auto samples = source_.sample(options_.gpus);
  if (!samples) {
    if (metrics_ != nullptr) metrics_->failed();
    if (then) then();
    return samples.error();
  }
  const auto owners = readProcessOwners(options_.proc_root, processIds(*samples));
  UsageReport report = buildUsageReport(*samples, owners, pods_());
  if (metrics_ != nullptr) metrics_->publish(report);

  std::set<std::pair<std::string, int>> now;
  for (const auto& cap : report.double_capped) {
    const std::pair<std::string, int> key{cap.pod_uid, cap.gpu};
    now.insert(key);
    if (double_capped_.contains(key) || !options_.log_episodes) continue;
    platform::logWarn("pod has more than one MPS client: its caps apply per process",
                      {{"pod", cap.namespace_name + "/" + cap.pod},
                       {"gpu", std::to_string(cap.gpu)},
                       {"clients", std::to_string(cap.clients)},
                       {"detail", cap.describe()}});
    if (on_double_cap_) on_double_cap_(cap);
  }
  for (const auto& key : double_capped_) {
    if (!now.contains(key) && options_.log_episodes) {
      platform::logInfo("pod is back to at most one MPS client",
                        {{"pod_uid", key.first}, {"gpu", std::to_string(key.second)}});
    }
  }
  double_capped_ = std::move(now);
  if (then) then();
  return report;
}

}  // namespace mpshare::node
