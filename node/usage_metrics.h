#pragma once

// mpshare-node's per-pod GPU usage as Prometheus gauges, rebuilt from each
// usage report (docs/usage.md lists them with their meaning):
//
//   per container {namespace, pod, container, gpu, uuid}
//     mpshare_node_container_gpu_memory_used_bytes
//     mpshare_node_container_gpu_memory_limit_bytes     its cap; the GPU's memory without one
//     mpshare_node_container_gpu_sm_utilization_ratio   0-1 of the GPU; absent if not reported
//     mpshare_node_container_gpu_thread_share_ratio     its thread cap / 100; 1 without one
//     mpshare_node_container_mps_clients
//   per pod and GPU {namespace, pod, gpu, uuid}
//     mpshare_node_pod_double_capped                    1: more than one MPS client
//   per GPU {gpu, uuid}
//     mpshare_node_gpu_slices_reserved, mpshare_node_gpu_threads_reserved_ratio,
//     mpshare_node_gpu_memory_used_bytes, mpshare_node_gpu_memory_total_bytes,
//     mpshare_node_gpu_mps_clients, mpshare_node_gpu_unattributed_processes,
//     mpshare_node_gpu_unattributed_memory_bytes
//   mpshare_node_usage_samples_total{outcome="ok"|"failed"}

#include "node/usage_report.h"
#include "platform/metrics.h"

namespace mpshare::node {

class UsageMetrics {
 public:
  explicit UsageMetrics(platform::MetricsRegistry& registry);

  // Replaces every usage series with `report`'s.
  void publish(const UsageReport& report);
  // A sample failed: the usage series are dropped (stale numbers would mislead).
  void failed();

 private:
  void clear();

  platform::Gauge& container_memory_used_;
  platform::Gauge& container_memory_limit_;
  platform::Gauge& container_sm_;
  platform::Gauge& container_threads_;
  platform::Gauge& container_clients_;
  platform::Gauge& pod_double_capped_;
  platform::Gauge& gpu_slices_;
  platform::Gauge& gpu_threads_;
  platform::Gauge& gpu_memory_used_;
  platform::Gauge& gpu_memory_total_;
  platform::Gauge& gpu_clients_;
  platform::Gauge& gpu_unattributed_;
  platform::Gauge& gpu_unattributed_memory_;
  platform::Counter& samples_;
};

}  // namespace mpshare::node
