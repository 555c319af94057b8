#pragma once

// What runs on the node's GPUs right now, as NVML reports it: per GPU the
// memory in use and the compute processes with their memory and SM
// utilization. Two sources fill it: NVML (node/nvml_processes.h) and a file
// (node/gpu_processes_file.h) for tests and nodes described by hand.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/gpu_device.h"
#include "core/result.h"

namespace mpshare::node {

struct GpuProcess {
  uint32_t pid = 0;
  // Device memory the process holds; nullopt when the driver does not say
  // (NVML_VALUE_NOT_AVAILABLE, e.g. without permission).
  std::optional<uint64_t> memory_bytes;
  // SM utilization in percent of the whole GPU over the last sample period;
  // nullopt when the driver does not report per-process utilization.
  std::optional<double> sm_percent;
  // True when NVML lists it among the GPU's MPS clients
  // (nvmlDeviceGetMPSComputeRunningProcesses); false for a plain compute
  // process, and for the MPS server itself.
  bool mps_client = false;

  bool operator==(const GpuProcess&) const = default;
};

struct GpuSample {
  core::GpuDevice gpu;
  uint64_t memory_used_bytes = 0;  // the whole device, every process and the driver
  uint64_t memory_total_bytes = 0;
  std::vector<GpuProcess> processes;  // one entry per PID, sorted by PID
};

// A source of samples. sample() may be called from several threads in turn
// (never at once: the caller serialises).
class GpuProcessSource {
 public:
  virtual ~GpuProcessSource() = default;
  // One sample of every GPU in `gpus` (the agent's usable GPUs), in their order.
  // Errors name the source and what failed; a GPU that vanished is an error.
  virtual core::Result<std::vector<GpuSample>> sample(const std::vector<core::GpuDevice>& gpus) = 0;
};

}  // namespace mpshare::node
