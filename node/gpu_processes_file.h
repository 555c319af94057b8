#pragma once

// GPU processes from a file instead of NVML: for tests and for trying the usage
// report without a GPU. Re-read at every sample, so it can change under a
// running agent. YAML or JSON:
//
//   gpus:
//   - index: 0                # the GPU's index in the inventory
//     memoryUsedMiB: 9000     # optional: the whole device; default the processes' sum
//     processes:
//     - pid: 4242
//       memoryMiB: 1536       # optional: absent as when NVML cannot say
//       smPercent: 20         # optional, whole percent: absent as when the driver does not report
//       it mpsClient: true       # optional, default true; false: a plain compute process
//
// A GPU of the inventory that the file does not list has no processes.

#include <string>
#include <string_view>

#include "node/gpu_processes.h"

namespace mpshare::node {

// The samples `text` describes for `gpus`. Errors name `source`, the path and
// what is allowed, e.g.
//   procs.yaml: gpus[0].processes[1].pid: must be a whole number > 0, got "x"
//   procs.yaml: gpus[1].index: 7 is not a GPU of this node (0, 1)
core::Result<std::vector<GpuSample>> parseGpuProcesses(std::string_view text,
                                                       std::string_view source,
                                                       const std::vector<core::GpuDevice>& gpus);

class GpuProcessFile : public GpuProcessSource {
 public:
  explicit GpuProcessFile(std::string path) : path_(std::move(path)) {}
  core::Result<std::vector<GpuSample>> sample(const std::vector<core::GpuDevice>& gpus) override;

 private:
  std::string path_;
};

}  // namespace mpshare::node
