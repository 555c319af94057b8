#pragma once

// The extender's Prometheus metrics: request and bind outcomes, latency,
// per-GPU reserved budgets and the typical-pod distribution in use (gauges
// rebuilt at scrape time from a ledger snapshot and the distribution, so they
// never drift from them).

#include <mutex>
#include <optional>
#include <string>

#include "core/ledger.h"
#include "core/pod_distribution.h"
#include "platform/metrics.h"

namespace mpshare::extender {

class ExtenderMetrics {
 public:
  explicit ExtenderMetrics(platform::MetricsRegistry& registry);

  // verb: filter|prioritize|bind; outcome: ok|invalid_pod|refused|bad_request|error
  // (ExtenderRoutes says when each applies; error is a fault of the extender).
  void request(const std::string& verb, const std::string& outcome, double seconds);
  // Nodes passed and failed by one filter call.
  void filtered(size_t passed, size_t failed);
  // outcome: bound|no_fit|unknown_pod|unknown_node|binder_error|invalid.
  void bind(const std::string& outcome);
  // One batch of waiting pods planned (fgd-plus-batch): pods in it, of which
  // `placed` found a node, and how long it took.
  void planned(size_t pods, size_t placed, double seconds);
  // How a bind of a GPU pod met its plan: followed (planned node and GPUs),
  // elsewhere (bound on another node), stale (planned node, planned GPUs no
  // longer fit) or unplanned (no plan).
  void planBind(const std::string& outcome);
  // Rebuilds the per-GPU gauges and the pod distribution's (when the policy
  // uses one) and renders the registry.
  std::string render(const core::LedgerSnapshot& snapshot,
                     const std::optional<core::DistributionView>& distribution = std::nullopt);

 private:
  platform::MetricsRegistry& registry_;
  platform::Counter& requests_;
  platform::Histogram& latency_;
  platform::Counter& filter_nodes_;
  platform::Counter& binds_;
  platform::Gauge& reserved_threads_;
  platform::Gauge& reserved_memory_;
  platform::Gauge& reserved_clients_;
  platform::Gauge& capacity_threads_;
  platform::Gauge& capacity_memory_;
  platform::Gauge& capacity_clients_;
  platform::Gauge& distribution_weight_;
  platform::Gauge& distribution_window_;
  platform::Counter& plan_batches_;
  platform::Counter& plan_pods_;
  platform::Gauge& plan_seconds_;
  platform::Counter& plan_binds_;
  std::mutex scrape_mutex_;
};

}  // namespace mpshare::extender
