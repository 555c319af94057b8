#include "node/usage_report.h"

#include <algorithm>
#include <tuple>

#include "core/annotations.h"

namespace mpshare::node {
namespace {

constexpr uint64_t kMiB = 1024ULL * 1024ULL;

std::string pidList(const std::vector<uint32_t>& pids) {
  std::string text;
  for (const auto pid : pids) text += (text.empty() ? "" : ", ") + std::to_string(pid);
  return text;
}

// The GPUs a pod is placed on, from mpshare.io/gpu-index; empty when unset or unreadable.
std::vector<int> placedOn(const core::PodView& pod) {
  const auto it = pod.annotations.find(std::string(core::kGpuIndexAnnotation));
  if (it == pod.annotations.end()) return {};
  auto indices = core::parseGpuIndices(it->second);
  return indices ? *indices : std::vector<int>{};
}

// The thread percentage a pod reserves: its first container with a limit, else 100.
int reservedThreads(const core::PodView& pod) {
  for (const auto& container : pod.containers) {
    if (auto limits = limitsOf(pod, container.name); limits.thread_percentage) {
      return *limits.thread_percentage;
    }
  }
  return 100;
}

}  // namespace

std::string DoubleCap::describe() const {
  std::string text = "pod " + namespace_name + "/" + pod + " has " + std::to_string(clients) +
                     " MPS client processes (pids " + pidList(pids) + ") on GPU " +
                     std::to_string(gpu) +
                     ": MPS applies its caps to each process, not to the pod, so it may hold ";
  if (memory_cap_mib) {
    text += "up to " + std::to_string(clients * *memory_cap_mib) + " MiB (" +
            std::to_string(clients) + " x " + std::to_string(*memory_cap_mib) + " MiB)";
  } else {
    text += "any free memory (no memory cap)";
  }
  text += " and ";
  if (thread_percentage) {
    text += std::to_string(std::min(100, clients * *thread_percentage)) + "% of the SMs (" +
            std::to_string(clients) + " x " + std::to_string(*thread_percentage) + "%)";
  } else {
    text += "all SMs (no thread cap)";
  }
  if (memory_cap_mib || thread_percentage) {
    text += " instead of the ";
    if (memory_cap_mib) text += std::to_string(*memory_cap_mib) + " MiB";
    if (memory_cap_mib && thread_percentage) text += " and ";
    if (thread_percentage) text += std::to_string(*thread_percentage) + "%";
    text += " it was given";
  }
  return text;
}

UsageReport buildUsageReport(const std::vector<GpuSample>& samples,
                             const std::map<uint32_t, ProcessOwner>& owners,
                             const std::vector<NodePod>& pods) {
  std::map<std::string, const NodePod*> by_uid;
  for (const auto& pod : pods) by_uid[pod.pod.uid] = &pod;

  UsageReport report;
  // (namespace, pod, container, gpu) -> usage, so the output is sorted.
  std::map<std::tuple<std::string, std::string, std::string, int>, ContainerUsage> containers;
  for (const auto& sample : samples) {
    GpuUsage gpu;
    gpu.gpu = sample.gpu.index;
    gpu.uuid = sample.gpu.uuid;
    gpu.memory_used_bytes = sample.memory_used_bytes;
    gpu.memory_total_bytes = sample.memory_total_bytes;
    for (const auto& process : sample.processes) {
      gpu.mps_clients += process.mps_client ? 1 : 0;
      const auto owner = owners.find(process.pid);
      if (owner != owners.end() && owner->second.mps_server) continue;
      const NodePod* pod = nullptr;
      std::string container_name;
      if (owner != owners.end() && owner->second.container) {
        const auto& ref = *owner->second.container;
        if (auto it = by_uid.find(ref.pod_uid); it != by_uid.end()) {
          pod = it->second;
          auto name = pod->container_by_id.find(ref.container_id);
          // The status may lag a just-started container: the pod is still known.
          container_name = name != pod->container_by_id.end() ? name->second : "";
        }
      }
      if (pod == nullptr) {
        ++gpu.unattributed_processes;
        gpu.unattributed_memory_bytes += process.memory_bytes.value_or(0);
        continue;
      }
      auto& usage =
          containers[{pod->pod.namespace_name, pod->pod.name, container_name, sample.gpu.index}];
      if (usage.pids.empty()) {
        usage.namespace_name = pod->pod.namespace_name;
        usage.pod = pod->pod.name;
        usage.pod_uid = pod->pod.uid;
        usage.container = container_name;
        usage.gpu = sample.gpu.index;
        usage.uuid = sample.gpu.uuid;
        const auto limits = limitsOf(pod->pod, container_name);
        if (limits.memory_mib) {
          usage.memory_limit_bytes = static_cast<uint64_t>(*limits.memory_mib) * kMiB;
        }
        usage.thread_percentage = limits.thread_percentage;
      }
      usage.memory_used_bytes += process.memory_bytes.value_or(0);
      if (process.sm_percent)
        usage.sm_ratio = usage.sm_ratio.value_or(0) + *process.sm_percent / 100;
      usage.mps_clients += process.mps_client ? 1 : 0;
      ++usage.processes;
      usage.pids.push_back(process.pid);
    }
    for (const auto& pod : pods) {
      const auto on = placedOn(pod.pod);
      if (std::find(on.begin(), on.end(), sample.gpu.index) == on.end()) continue;
      ++gpu.slices_reserved;
      gpu.threads_reserved_ratio += reservedThreads(pod.pod) / 100.0;
    }
    report.gpus.push_back(gpu);
  }

  // Double caps are per pod and GPU: a pod's containers all count.
  std::map<std::tuple<std::string, std::string, int>, DoubleCap> pods_on_gpu;
  for (auto& [key, usage] : containers) {
    if (usage.mps_clients == 0) {
      report.containers.push_back(usage);
      continue;
    }
    auto& cap = pods_on_gpu[{usage.namespace_name, usage.pod, usage.gpu}];
    cap.namespace_name = usage.namespace_name;
    cap.pod = usage.pod;
    cap.pod_uid = usage.pod_uid;
    cap.gpu = usage.gpu;
    cap.uuid = usage.uuid;
    cap.clients += usage.mps_clients;
    if (usage.memory_limit_bytes) {
      cap.memory_cap_mib = static_cast<int64_t>(*usage.memory_limit_bytes / kMiB);
    }
    if (usage.thread_percentage) cap.thread_percentage = usage.thread_percentage;
    cap.pids.insert(cap.pids.end(), usage.pids.begin(), usage.pids.end());
    report.containers.push_back(usage);
  }
  for (auto& [key, cap] : pods_on_gpu) {
    if (cap.clients < 2) continue;
    std::sort(cap.pids.begin(), cap.pids.end());
    report.double_capped.push_back(cap);
  }
  return report;
}

}  // namespace mpshare::node
