#pragma once

// Placement policies: given a node's state and a pod's demand, pick the GPU(s) on
// that node and score the node. All policies share the fit rules and the
// rejection reasons below, so only the preference differs between them.

#include <memory>
#include <optional>
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

// How a policy's scores become kube-scheduler's 0..10 (toNodeScore(), rankedNodeScores()).
enum class ScoreScale {
  kAbsolute,  // a score says how good the node is on its own: toNodeScore()
  kRanked,    // scores only rank the candidates of one call: rankedNodeScores()
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Chooses GPUs for `demand` on `node`. Must not keep references past the call.
  [[nodiscard]] virtual NodeChoice choose(const NodeState& node, const Demand& demand) const = 0;
  // Whether `demand` fits on `node`, as choose() would say, without scoring
  // (filter asks only this). The shared fit rules unless a policy refuses more.
  [[nodiscard]] virtual bool fits(const NodeState& node, const Demand& demand) const;
  [[nodiscard]] virtual ScoreScale scoreScale() const { return ScoreScale::kAbsolute; }
};

// Fit rules shared by every policy.
// Host budgets hold and at least max(1, demand.gpus) GPUs fit, one GPU's worth each.
bool fitsNode(const NodeState& node, const Demand& demand);
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

// One candidate of a prioritize call: its name, and its policy score when the
// pod fits there.
struct ScoredNode {
  std::string_view name;
  std::optional<double> score;
};

// 0..10 for policies whose scores only rank nodes (fgd: integer steps of a
// sigmoid, nearly all of which would round to 5). The best score gets 10 on one
// node only, the first in a fixed order of the node names (a hash of the name),
// and 9 on the other nodes with the same score: the FGD paper's scheduler took
// the first node of a fixed order among equal scores, which packs near-equal
// placements onto the same nodes. The others get 0..8 by where their score lies
// between the lowest and the best; nodes that do not fit get 0.
// Example: {a: 0.49, b: 0.49, c: 0.45, d: none} -> one of a, b 10, the other 9; c 0; d 0.
std::vector<int> rankedNodeScores(const std::vector<ScoredNode>& nodes);

// Scores closer than this are equal: rankedNodeScores() and the batch plans
// (core/pending_plan.h) decide them by tieOrderBefore().
inline constexpr double kScoreTie = 1e-12;

// The fixed order of node names that decides among equal best scores (the
// first gets rankedNodeScores()'s 10): an FNV-1a hash of the name, then the
// name, so it does not follow how nodes were numbered.
bool tieOrderBefore(std::string_view a, std::string_view b);

// binpack: prefer the GPU and the node that end fullest, balanced across threads
// and memory (a GPU full in one dimension and empty in the other strands budget).
std::unique_ptr<PlacementPolicy> makeBinpackPolicy();
// spread: prefer the emptiest GPU and node.
std::unique_ptr<PlacementPolicy> makeSpreadPolicy();

// A live policy by name with its default inputs (fgd: the built-in pod
// distribution); other names are an error listing the known ones. The table of
// policies is core/policy_registry.cc.
Result<std::unique_ptr<PlacementPolicy>> makePolicy(std::string_view name);

}  // namespace mpshare::core
