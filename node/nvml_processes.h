#pragma once

// GPU processes from NVML (loaded with dlopen like node/nvml_inventory.h). Per GPU:
//   nvmlDeviceGetMemoryInfo                       device memory used and total
//   nvmlDeviceGetComputeRunningProcesses_v3       compute processes and their memory
//   nvmlDeviceGetMPSComputeRunningProcesses_v3    the MPS clients among them (if present)
//   nvmlDeviceGetProcessUtilization               per-process SM % (often NOT_SUPPORTED)
// Under MPS the driver lists each client in both process lists with its own
// memory, and the MPS server in the compute list only (docs/gpu-validation.md
// has what an H200 reported). A process that only one list names is kept.
// NVML stays initialised for the sampler's life (one nvmlInit_v2, one shutdown).

#include <map>
#include <memory>
#include <string>

#include "node/gpu_processes.h"
#include "node/nvml_inventory.h"

namespace mpshare::node {

class NvmlProcessSource : public GpuProcessSource {
 public:
  // Loads and initialises NVML; errors as readNvmlInventory().
  static core::Result<std::unique_ptr<NvmlProcessSource>> open(
      const std::string& library = std::string(kNvmlLibrary));
  ~NvmlProcessSource() override;
  NvmlProcessSource(const NvmlProcessSource&) = delete;
  NvmlProcessSource& operator=(const NvmlProcessSource&) = delete;

  // GPUs are found by UUID, so NVML's index order never matters.
  core::Result<std::vector<GpuSample>> sample(const std::vector<core::GpuDevice>& gpus) override;

 private:
  struct Api;
  NvmlProcessSource(std::unique_ptr<Api> api, std::string library);
  std::unique_ptr<Api> api_;
  std::string library_;
  // Per GPU UUID, the newest utilization sample seen (µs), so each call
  // reports the time since the previous one.
  std::map<std::string, unsigned long long> last_seen_;  // NOLINT(google-runtime-int)
  std::map<std::string, bool> clients_attributed_;       // uuid -> a sample ever named a client
};

}  // namespace mpshare::node
