#pragma once

// The node's GPU usage by pod and container, from one GPU sample, the owner of
// each process (its cgroup) and the pods of the node. Pure: no /proc, no NVML,
// no API server, so every rule is tested with plain values.
//
// MPS caps apply to each client process, not to a pod: a container that starts
// two CUDA processes under CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=2048M may hold
// 2 x 2048 MiB. Such a pod is "double-capped" here and reported with its real
// ceiling (clients x cap).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "node/cgroup_path.h"
#include "node/gpu_processes.h"
#include "node/pod_containers.h"

namespace mpshare::node {

// Who a GPU process belongs to, read from /proc (node/proc_reader.h).
struct ProcessOwner {
  std::optional<CgroupContainer> container;  // nullopt: not in a pod's container
  bool mps_server = false;                   // nvidia-cuda-mps-server: the daemon's, not a pod's
};

struct ContainerUsage {
  std::string namespace_name;
  std::string pod;
  std::string pod_uid;
  std::string container;
  int gpu = 0;
  std::string uuid;
  uint64_t memory_used_bytes = 0;
  std::optional<uint64_t> memory_limit_bytes;  // nullopt: no cap (the whole GPU)
  std::optional<double> sm_ratio;              // of the whole GPU, 0..1; nullopt: not reported
  std::optional<int> thread_percentage;        // nullopt: no cap (100 %)
  int mps_clients = 0;
  int processes = 0;  // MPS clients and plain compute processes
  std::vector<uint32_t> pids;
};

// A pod with more than one MPS client on one GPU: its caps apply per client.
struct DoubleCap {
  std::string namespace_name;
  std::string pod;
  std::string pod_uid;
  int gpu = 0;
  std::string uuid;
  int clients = 0;
  std::optional<int64_t> memory_cap_mib;  // per client
  std::optional<int> thread_percentage;   // per client
  std::vector<uint32_t> pids;

  // "pod ml/train has 2 MPS client processes (pids 101, 102) on GPU 0: its
  // caps apply to each process, so it may hold up to 4096 MiB (2 x 2048 MiB)
  // and 60% of the SMs (2 x 30%) instead of 2048 MiB and 30%"
  [[nodiscard]] std::string describe() const;
};

struct GpuUsage {
  int gpu = 0;
  std::string uuid;
  uint64_t memory_used_bytes = 0;
  uint64_t memory_total_bytes = 0;
  int mps_clients = 0;
  int slices_reserved = 0;            // pods on this node placed on the GPU (mpshare.io/gpu-index)
  double threads_reserved_ratio = 0;  // their thread percentages / 100 (no cap counts 1.0)
  int unattributed_processes =
      0;  // compute processes outside every known pod (MPS server excluded)
  uint64_t unattributed_memory_bytes = 0;
};

struct UsageReport {
  std::vector<GpuUsage> gpus;              // in sample order
  std::vector<ContainerUsage> containers;  // by namespace, pod, container, GPU
  std::vector<DoubleCap> double_capped;    // by namespace, pod, GPU
};

// The report for `samples`. `owners` holds an entry for every PID in the
// samples (a PID without one counts as unattributed); `pods` are the node's.
UsageReport buildUsageReport(const std::vector<GpuSample>& samples,
                             const std::map<uint32_t, ProcessOwner>& owners,
                             const std::vector<NodePod>& pods);

}  // namespace mpshare::node
