#pragma once

// Simulator inputs: the nodes of a cluster and the pods that arrive, read from the
// Alibaba GPU-sharing trace's CSV files (cluster-trace-gpu-v2023) or from YAML/JSON
// lists of Node and Pod objects as `kubectl get -o yaml` prints them.

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mpshare::extender {

struct SimNode {
  std::string name;
  std::string model;  // GPU product, e.g. "T4"
  int gpus = 0;
  int64_t gpu_memory_mib = 0;  // per GPU
  int clients_per_gpu = 48;    // MPS clients per GPU
  int64_t cpu_milli = 0;       // host CPU; 0 = not tracked
  int64_t memory_mib = 0;      // host memory; 0 = not tracked
};

struct SimPod {
  std::string name;
  int gpus = 0;                           // 0 = host resources only
  int gpu_milli = 1000;                   // per GPU, thousandths of one GPU; 1000 = whole GPU
  std::optional<int64_t> gpu_memory_mib;  // absolute GPU memory; empty = same share as gpu_milli
  int64_t cpu_milli = 0;
  int64_t memory_mib = 0;
  std::vector<std::string> models;  // allowed GPU models; empty = any

  [[nodiscard]] bool sharesGpu() const { return gpus == 1 && gpu_milli < 1000; }
  // GPU capacity asked, in GPUs: 2 for two whole GPUs, 0.46 for gpu_milli 460.
  [[nodiscard]] double gpuShare() const { return gpus * gpu_milli / 1000.0; }
};

// Memory per GPU of the trace's models, in MiB: P100, T4, V100M16 16 GiB; V100M32
// 32 GiB; A10 24 GiB; the undisclosed G1, G2, G3 are taken as 32 GiB. Unknown
// models are an error listing the known ones.
core::Result<int64_t> gpuMemoryOfModel(std::string_view model);

// Trace node CSV (columns sn, cpu_milli, memory_mib, gpu, model; any order, extra
// columns ignored). `source` names the input in errors:
//   "nodes.csv:7: column gpu: \"two\" is not a whole number >= 0"
core::Result<std::vector<SimNode>> parseNodeCsv(std::istream& in, std::string_view source);

// Trace pod CSV: columns name, cpu_milli, num_gpu (required), memory_mib,
// gpu_milli, gpu_spec (optional; when the column is missing: no host memory,
// 1000 = whole GPUs, any model, as the paper's simulator reads them); any order,
// extra columns ignored. gpu_milli is 0..1000 and only below 1000 for
// num_gpu == 1 (a shared GPU).
core::Result<std::vector<SimPod>> parsePodCsv(std::istream& in, std::string_view source);

// By extension: ".csv" -> the CSV readers; ".yaml", ".yml", ".json" -> the list
// readers in kube_lists.h. Errors name the file.
core::Result<std::vector<SimNode>> loadNodes(const std::string& path);
core::Result<std::vector<SimPod>> loadPods(const std::string& path);

}  // namespace mpshare::extender
