#pragma once

// Planning the pods that wait for a node together: fgd-plus-batch as the live
// extender runs it. kube-scheduler asks about one pod at a time, but the pods
// queued behind it are already known (the pod watch sees every pod before it
// is bound). So the pods waiting are planned as a batch (core/batch_placement.h:
// several orders tried on copies of the nodes, the one that places the most GPU
// capacity with the least fragmentation growth kept), each pod's placement is
// remembered, and when the scheduler comes to the pod its planned node gets the
// top score and bind takes the planned GPUs. Nobody waits for the plan: a pod
// the scheduler reaches before its plan is placed as by the policy alone.
//
// What the plan cannot see: kube-scheduler's own filters (CPU, memory, taints,
// affinity). A pod whose planned node the scheduler does not offer is placed
// among the offered ones by the policy alone.

#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/batch_placement.h"
#include "core/demand.h"
#include "core/fgd_policy.h"
#include "core/ledger.h"
#include "core/placement.h"

namespace mpshare::core {

// A GPU pod waiting for a node, as the pod watch shows it.
struct PendingPod {
  std::string uid;
  std::string key;  // namespace/name, for logs
  Demand demand;
  std::vector<std::string> products;  // GPU products it may run on (gpuProductsOf); empty = any
  int priority = 0;                   // spec.priority
  std::string created;                // metadata.creationTimestamp (RFC 3339 sorts as text)

  bool operator==(const PendingPod&) const = default;
};

// kube-scheduler's default queue order (the PrioritySort plugin): higher
// priority first, then the older pod, then by UID so the order is total.
bool queuedBefore(const PendingPod& a, const PendingPod& b);

// Where the plan puts a pod.
struct PlannedPlacement {
  std::string node;
  std::vector<int> gpu_indices;

  bool operator==(const PlannedPlacement&) const = default;
};

// The scores of the nodes a batch starts from, kept from batch to batch:
// between two batches only the nodes that binds touched change, and a queue
// asks for a few shapes over and over. By node name; a node's scores are
// dropped when the node changed, all of them when the policy did. A plain
// value without locking (one planner uses it).
class PlanScoreCache {
 public:
  // The scores of `node` as it stands, for `policy`: choose(node, demand).score
  // when the pod fits, nullopt when it does not.
  class NodeScores {
   public:
    std::optional<double> score(const PlacementPolicy& policy, const NodeState& node,
                                const Demand& demand);

   private:
    friend class PlanScoreCache;
    NodeState state_;
    std::vector<std::pair<Demand, std::optional<double>>> scores_;
  };
  NodeScores& scoresOf(const std::shared_ptr<const PlacementPolicy>& policy, const NodeState& node);
  // Forgets every node once it holds more than `nodes` (nodes removed from the
  // cluster would otherwise stay).
  void trim(size_t nodes);
  [[nodiscard]] size_t size() const { return nodes_.size(); }

 private:
  std::shared_ptr<const PlacementPolicy> policy_;
  std::unordered_map<std::string, NodeScores> nodes_;
};

// Plans `batch` (in queue order) jointly over `nodes`, the cluster as the plan
// sees it (the ledger plus the placements planned earlier and not yet bound):
// each pod goes to the node the policy scores best, equal scores to the first
// node in the order rankedNodeScores() gives the top score by (so the planned
// node is the node a plan-less prioritize would have ranked first), on nodes
// of its products only; the orders are batchOrders(asks, options.orders, rng)
// and `types` weigh the fragmentation. One placement per pod of the batch, in
// batch order; nullopt where no node fits the pod in the order kept.
// Example: one node with one free GPU, batch {0.5 GPU, 1 GPU}: the arrival
// order places only the half (0.5 GPUs), largest-first places the whole GPU
// (1 GPU), so the plan is {nullopt, node GPU 0}.
// `cache` answers the scores of the nodes as they stand; the caller keeps it
// between batches.
std::vector<std::optional<PlannedPlacement>> planPending(
    std::span<const NodeState> nodes, std::span<const PendingPod> batch,
    const std::shared_ptr<const PlacementPolicy>& policy, PlanScoreCache& cache,
    const std::vector<PodType>& types, const BatchOptions& options, std::mt19937_64& rng);

// Whether `pod` fits on `node` (a node of its products, with room for it as
// `policy` sees room).
bool podFits(const PlacementPolicy& policy, const NodeState& node, const PendingPod& pod);

// Whether `demand` still fits on `node` on exactly the GPUs `gpu_indices`
// (each with a GPU's worth of room, the host budgets too): a plan made earlier
// can still be followed.
bool fitsOnGpus(const NodeState& node, const Demand& demand, std::span<const int> gpu_indices);

}  // namespace mpshare::core
