#pragma once

// Joint placement of a few arrivals at once: a batch of pods is placed one by
// one with a placement policy (core/placement.h), in several orders, each on
// copies of the nodes it changes; the order kept is the one that places the most
// GPU capacity and, among those, grows the expected fragmentation least
// (core/fgd_policy.h: nodeFragmentation over the given pod types). Ties keep the
// earlier order, so arrival order wins unless another order is strictly better.
//
// One pod at a time, FGD cannot see that the next arrivals would fill the hole
// it leaves, or would need the GPU it takes; trying orders of the batch lets the
// measure judge the batch as a whole. The cost: each pod waits for up to
// size - 1 later arrivals, and every pod is placed `orders` times before it is
// placed for real.

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "core/demand.h"
#include "core/fgd_policy.h"
#include "core/ledger.h"

namespace mpshare::core {

struct BatchOptions {
  size_t size = 16;  // arrivals placed together
  int orders = 4;    // orders tried: arrival, largest ask first, then seeded shuffles
};

// The orders tried for a batch whose pods ask `asks` GPUs each, as index lists:
// arrival order, then largest ask first (equal asks in arrival order), then
// seeded shuffles from `rng` until `count` orders (at least the arrival order).
// Example: asks {0.5, 2, 1}, count 2 -> {{0, 1, 2}, {1, 2, 0}}.
std::vector<std::vector<int>> batchOrders(std::span<const double> asks, int count,
                                          std::mt19937_64& rng);

// `node` after `demand` is placed on the GPUs with device ordinals `gpu_indices`
// (the ledger's arithmetic, without its checks: the policy chose a fitting
// placement).
void addPlacement(NodeState& node, const Demand& demand, const std::vector<int>& gpu_indices);

// A node changed by the placements of one trial: its id in the caller's cluster
// and its state after them.
struct ChangedNode {
  int id = 0;
  NodeState state;
};

// Where a pod goes: a node id of the caller's cluster, the GPUs there and the
// demand as placed there.
struct BatchPick {
  int node = 0;
  std::vector<int> gpu_indices;
  Demand demand;
};

// The cluster seen by a trial. `pick(pod, changed)` chooses a node for pod `pod`
// of the batch, reading the nodes in `changed` from there (the cluster's own
// state for the others), or nullopt when no node fits; `node(id)` is a node's
// state before the batch; `ask(pod)` the GPUs the pod asks (GPUs x share).
struct BatchCluster {
  std::function<std::optional<BatchPick>(size_t pod, std::span<const ChangedNode> changed)> pick;
  std::function<const NodeState&(int id)> node;
  std::function<double(size_t pod)> ask;
};

// The result of placing the batch in one order.
struct BatchTrial {
  double placed_gpus = 0.0;  // GPU capacity asked by the pods that found a node
  double growth = 0.0;       // fragmentation after - before over the changed nodes, in GPUs
};

// Whether `a` is a strictly better trial than `b`: more GPU capacity placed, or
// as much and less fragmentation growth.
bool betterTrial(const BatchTrial& a, const BatchTrial& b);

// Places the batch in `order` on copies of the nodes; `types` weigh the
// fragmentation (weights summing to 1). `picks`, when given, receives each
// pod's pick by its index in the batch (nullopt: no node fits it there).
BatchTrial tryOrder(const BatchCluster& cluster, std::span<const int> order,
                    const std::vector<PodType>& types,
                    std::vector<std::optional<BatchPick>>* picks = nullptr);

// The order kept and where it places each pod (by index in the batch).
struct BatchPlan {
  std::vector<int> order;
  std::vector<std::optional<BatchPick>> picks;
};

// The best of `orders` (the first among equals) with its picks. Empty
// `orders` -> empty.
BatchPlan planBatch(const BatchCluster& cluster, const std::vector<std::vector<int>>& orders,
                    const std::vector<PodType>& types);

// planBatch's order alone: the caller then places the pods for real in it.
std::vector<int> bestOrder(const BatchCluster& cluster, const std::vector<std::vector<int>>& orders,
                           const std::vector<PodType>& types);

}  // namespace mpshare::core
