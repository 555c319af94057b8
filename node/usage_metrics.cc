#include "node/usage_metrics.h"

#include <set>
#include <tuple>

namespace mpshare::node {

UsageMetrics::UsageMetrics(platform::MetricsRegistry& registry)
    : container_memory_used_(
          registry.gauge("mpshare_node_container_gpu_memory_used_bytes",
                         "GPU memory held by the container's processes on the GPU, in bytes.")),
      container_memory_limit_(registry.gauge(
          "mpshare_node_container_gpu_memory_limit_bytes",
          "The container's MPS memory cap per client process, in bytes; the GPU's memory "
          "when it has none.")),
      container_sm_(registry.gauge(
          "mpshare_node_container_gpu_sm_utilization_ratio",
          "SM utilization of the container's processes, as a fraction of the whole GPU "
          "(absent where the driver does not report per-process utilization).")),
      container_threads_(registry.gauge(
          "mpshare_node_container_gpu_thread_share_ratio",
          "The container's MPS active thread percentage per client / 100; 1 without a cap.")),
      container_clients_(registry.gauge("mpshare_node_container_mps_clients",
                                        "MPS client processes of the container on the GPU.")),
      pod_double_capped_(registry.gauge(
          "mpshare_node_pod_double_capped",
          "1 when the pod has more than one MPS client process on the GPU: its caps apply per "
          "process, so its ceiling is clients x cap.")),
      gpu_slices_(registry.gauge("mpshare_node_gpu_slices_reserved",
                                 "Pods of this node placed on the GPU (mpshare.io/gpu-index).")),
      gpu_threads_(registry.gauge(
          "mpshare_node_gpu_threads_reserved_ratio",
          "Sum of the thread shares of the pods placed on the GPU (1 = the whole GPU).")),
      gpu_memory_used_(registry.gauge("mpshare_node_gpu_memory_used_bytes",
                                      "GPU memory in use on the device, in bytes.")),
      gpu_memory_total_(registry.gauge("mpshare_node_gpu_memory_total_bytes",
                                       "GPU memory of the device, in bytes.")),
      gpu_clients_(registry.gauge("mpshare_node_gpu_mps_clients",
                                  "MPS client processes on the GPU, of every pod.")),
      gpu_unattributed_(
          registry.gauge("mpshare_node_gpu_unattributed_processes",
                         "Compute processes on the GPU that belong to no pod of this node (the MPS "
                         "server excluded).")),
      gpu_unattributed_memory_(registry.gauge(
          "mpshare_node_gpu_unattributed_memory_bytes",
          "GPU memory held by processes that belong to no pod of this node, in bytes.")),
      samples_(registry.counter("mpshare_node_usage_samples_total",
                                "GPU usage samples taken, by outcome (ok, failed).")) {}

void UsageMetrics::clear() {
  for (platform::Gauge* gauge :
       {&container_memory_used_, &container_memory_limit_, &container_sm_, &container_threads_,
        &container_clients_, &pod_double_capped_, &gpu_slices_, &gpu_threads_, &gpu_memory_used_,
        &gpu_memory_total_, &gpu_clients_, &gpu_unattributed_, &gpu_unattributed_memory_}) {
    gauge->clear();
  }
}

void UsageMetrics::failed() {
  clear();
  samples_.inc({{"outcome", "failed"}});
}

void UsageMetrics::publish(const UsageReport& report) {
  clear();
  std::map<int, uint64_t> gpu_total;
  for (const auto& gpu : report.gpus) {
    const platform::Labels labels{{"gpu", std::to_string(gpu.gpu)}, {"uuid", gpu.uuid}};
    gpu_total[gpu.gpu] = gpu.memory_total_bytes;
    gpu_slices_.set(labels, gpu.slices_reserved);
    gpu_threads_.set(labels, gpu.threads_reserved_ratio);
    gpu_memory_used_.set(labels, static_cast<double>(gpu.memory_used_bytes));
    gpu_memory_total_.set(labels, static_cast<double>(gpu.memory_total_bytes));
    gpu_clients_.set(labels, gpu.mps_clients);
    gpu_unattributed_.set(labels, gpu.unattributed_processes);
    gpu_unattributed_memory_.set(labels, static_cast<double>(gpu.unattributed_memory_bytes));
  }
  std::set<std::tuple<std::string, std::string, int>> double_capped;
  for (const auto& cap : report.double_capped) {
    double_capped.insert({cap.namespace_name, cap.pod, cap.gpu});
  }
  for (const auto& usage : report.containers) {
    const platform::Labels labels{{"namespace", usage.namespace_name},
                                  {"pod", usage.pod},
                                  {"container", usage.container},
                                  {"gpu", std::to_string(usage.gpu)},
                                  {"uuid", usage.uuid}};
    container_memory_used_.set(labels, static_cast<double>(usage.memory_used_bytes));
    container_memory_limit_.set(
        labels, static_cast<double>(usage.memory_limit_bytes.value_or(gpu_total[usage.gpu])));
    if (usage.sm_ratio) container_sm_.set(labels, *usage.sm_ratio);
    container_threads_.set(labels, usage.thread_percentage.value_or(100) / 100.0);
    container_clients_.set(labels, usage.mps_clients);
    if (usage.mps_clients > 0) {
      pod_double_capped_.set(
          {{"namespace", usage.namespace_name},
           {"pod", usage.pod},
           {"gpu", std::to_string(usage.gpu)},
           {"uuid", usage.uuid}},
          double_capped.contains({usage.namespace_name, usage.pod, usage.gpu}) ? 1 : 0);
    }
  }
  samples_.inc({{"outcome", "ok"}});
}

}  // namespace mpshare::node
