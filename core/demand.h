#pragma once

// What a pod asks of a node: per-GPU thread percentage and memory from its
// mpshare.io/ annotations (parsed by core/annotations.h, the same code the webhook
// uses), the number of GPUs, and optionally host CPU and memory.

#include <cstdint>
#include <optional>
#include <string>

#include "core/annotations.h"
#include "core/gpu_request.h"
#include "core/inventory.h"
#include "core/pod.h"
#include "core/result.h"

namespace mpshare::core {

// A pod's demand. An absent thread or memory value means "the whole GPU" in that
// dimension: 100 % threads, or all the memory of whichever GPU is chosen.
// A pod asking for N > 1 GPUs always takes N whole GPUs (MPS limits apply to one
// device only), so thread_percentage and memory_mib are empty then.
struct Demand {
  int gpus = 1;
  std::optional<int> thread_percentage;  // 1..100
  std::optional<int64_t> memory_mib;     // > 0
  int64_t cpu_milli = 0;                 // host CPU; 0 = not checked
  int64_t host_memory_mib = 0;           // host memory; 0 = not checked

  [[nodiscard]] bool wholeGpu() const { return !thread_percentage && !memory_mib; }
  // "30% threads / 46080 MiB", "whole GPU", "2 whole GPUs", "100% threads / 4096 MiB"
  [[nodiscard]] std::string describe() const;

  bool operator==(const Demand&) const = default;
};

// What one pod takes from one GPU once the GPU is known.
struct GpuDemand {
  int threads = 0;
  int64_t memory_mib = 0;
  int clients = 1;

  bool operator==(const GpuDemand&) const = default;
};

// The GPU capacity a demand asks, in GPUs: GPUs x thread share (1 when the
// threads are not limited); 0 for a pod without GPUs.
// Example: 2 GPUs at 30 % -> 0.6; a whole GPU -> 1.
double gpuAsk(const Demand& demand);

// The demand resolved against a concrete GPU: absent dimensions become that
// GPU's whole budget at oversubscription 1.0 (100 % threads, all its memory).
// Example: {30, nullopt} on a 40960 MiB GPU -> {30, 40960, 1}.
GpuDemand resolveOn(const Demand& demand, const GpuCapacity& gpu);

// Configured defaults for GPU pods without annotations (empty = whole GPU).
struct DemandDefaults {
  std::optional<int> thread_percentage;
  std::optional<int64_t> memory_mib;
};

struct DemandRules {
  AnnotationRules annotations;
  GpuResourceNames resources;
  DemandDefaults defaults;
  bool track_host_resources = false;  // also read cpu/memory requests
};

// The demand of `pod`, or nullopt when it asks for no GPU (not ours to place).
// Annotation errors name the annotation; a pod with mpshare.io/ limits must ask
// for exactly one GPU (same rule as the webhook). Each absent limit takes its
// configured default exactly as the webhook fills the env (withDefaults); with
// no default it is the whole GPU in that dimension.
// Example: {thread-percentage: "30", memory-limit: "4Gi"}, 1 GPU -> {1, 30, 4096}.
Result<std::optional<Demand>> demandOf(const PodView& pod, const DemandRules& rules);

// Millicores of a Kubernetes CPU quantity: "500m" -> 500, "2" -> 2000, "1.5" -> 1500.
Result<int64_t> parseCpuMilli(std::string_view text);

}  // namespace mpshare::core
