#pragma once

// Placement policies: given a node's state and a pod's demand, pick the GPU(s) on
// that node and score the node. All policies share the fit rules and the
// rejection reasons below, so only the preference differs between them.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/demand.h"
#include "core/ledger.h"
#include "core/result.h"

namespace mpshare::core {

inline constexpr int kMinNodeScore = 0;
inline constexpr int kMaxNodeScore = 10;

// A policy's answer for one node.
struct NodeChoice {
  bool fits = false;
  std::vector<int> gpu_indices;  // chosen device ordinals when it fits
  double score = 0.0;            // in [0, 1], higher = preferred; see toNodeScore()
  std::string reason;            // why not, when it does not fit
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Chooses GPUs for `demand` on `node`. Must not keep references past the call.
  [[nodiscard]] virtual NodeChoice choose(const NodeState& node, const Demand& demand) const = 0;
};

// Fit rules shared by every policy.
// The GPUs of `node` on which `demand` fits (one GPU's worth each), in ordinal order.
std::vector<const GpuState*> fittingGpus(const NodeState& node, const Demand& demand);

// Why `demand` does not fit on `node`, naming the node and the best candidate:
//   "gpu-b: no GPU fits 30% threads / 46080 MiB (best: GPU1 has 100% / 40960 MiB free)"
//   "gpu-b: 2 whole GPUs asked, 1 free (GPU3)"
//   "gpu-b: no GPU has a free MPS client slot (48 of 48 used on every GPU)"
//   "gpu-b: host CPU 4000m asked, 1500m free"
std::string explainNoFit(const NodeState& node, const Demand& demand);

// Utilisation of a GPU after adding `add` (0 when nothing is added), per dimension.
// Inline: the policies call them for every GPU of every candidate node.
inline double threadFill(const GpuState& gpu, const GpuDemand& add) {
  if (gpu.capacity.threads <= 0) {
    return 1.0;
  }
  return static_cast<double>(gpu.reserved.threads + add.threads) / gpu.capacity.threads;
}
inline double memoryFill(const GpuState& gpu, const GpuDemand& add) {
  if (gpu.capacity.memory_mib <= 0) {
    return 1.0;
  }
  return static_cast<double>(gpu.reserved.memory_mib + add.memory_mib) /
         static_cast<double>(gpu.capacity.memory_mib);
}

// Maps a choice score in [0, 1] onto the scheduler's 0..10 (rounded, clamped).
int toNodeScore(double score);

// binpack: prefer the GPU and the node that end fullest, balanced across threads
// and memory (a GPU full in one dimension and empty in the other strands budget).
std::unique_ptr<PlacementPolicy> makeBinpackPolicy();
// spread: prefer the emptiest GPU and node.
std::unique_ptr<PlacementPolicy> makeSpreadPolicy();

// "binpack" or "spread"; other names are an error listing the known ones.
Result<std::unique_ptr<PlacementPolicy>> makePolicy(std::string_view name);

}  // namespace mpshare::core
