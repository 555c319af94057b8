#include "core/batch_placement.h"

#include <algorithm>
#include <numeric>

namespace mpshare::core {
namespace {

// Placed capacities closer than this are equal (sums of shares in thousandths).
constexpr double kPlacedTie = 1e-9;

}  // namespace

std::vector<std::vector<int>> batchOrders(std::span<const double> asks, int count,
                                          std::mt19937_64& rng) {
  std::vector<int> arrival(asks.size());
  std::iota(arrival.begin(), arrival.end(), 0);
  std::vector<std::vector<int>> orders{arrival};
  if (count >= 2 && asks.size() > 1) {
    std::vector<int> largest = arrival;
    std::stable_sort(largest.begin(), largest.end(), [&](int a, int b) {
      return asks[static_cast<size_t>(a)] > asks[static_cast<size_t>(b)];
    });
    orders.push_back(std::move(largest));
    while (static_cast<int>(orders.size()) < count) {
      std::vector<int> shuffled = arrival;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      orders.push_back(std::move(shuffled));
    }
  }
  return orders;
}

void addPlacement(NodeState& node, const Demand& demand, const std::vector<int>& gpu_indices) {
  for (const int index : gpu_indices) {
    const auto at = std::find_if(node.gpus.begin(), node.gpus.end(),
                                 [&](const GpuState& g) { return g.capacity.index == index; });
    if (at == node.gpus.end()) {
      continue;
    }
    const GpuDemand need = resolveOn(demand, at->capacity);
    at->reserved.threads += need.threads;
    at->reserved.memory_mib += need.memory_mib;
    at->reserved.clients += need.clients;
  }
  node.reserved_cpu_milli += demand.cpu_milli;
  node.reserved_memory_mib += demand.host_memory_mib;
}

bool betterTrial(const BatchTrial& a, const BatchTrial& b) {
  if (a.placed_gpus > b.placed_gpus + kPlacedTie) {
    return true;
  }
  return a.placed_gpus > b.placed_gpus - kPlacedTie && a.growth < b.growth - kPlacedTie;
}

BatchTrial tryOrder(const BatchCluster& cluster, std::span<const int> order,
                    const std::vector<PodType>& types,
                    std::vector<std::optional<BatchPick>>* picks) {
  std::vector<ChangedNode> changed;
  changed.reserve(order.size());
  BatchTrial trial;
  if (picks != nullptr) {
    picks->assign(order.size(), std::nullopt);
  }
  for (const int pod : order) {
    auto pick = cluster.pick(static_cast<size_t>(pod), changed);
    if (!pick) {
      continue;
    }
    auto at = std::find_if(changed.begin(), changed.end(),
                           [&](const ChangedNode& c) { return c.id == pick->node; });
    if (at == changed.end()) {
      changed.push_back(ChangedNode{pick->node, cluster.node(pick->node)});
      at = changed.end() - 1;
    }
    addPlacement(at->state, pick->demand, pick->gpu_indices);
    trial.placed_gpus += cluster.ask(static_cast<size_t>(pod));
    if (picks != nullptr) {
      (*picks)[static_cast<size_t>(pod)] = std::move(pick);
    }
  }
  for (const ChangedNode& c : changed) {
    trial.growth += nodeFragmentation(shapeOf(c.state), types) -
                    nodeFragmentation(shapeOf(cluster.node(c.id)), types);
  }
  return trial;
}

BatchPlan planBatch(const BatchCluster& cluster, const std::vector<std::vector<int>>& orders,
                    const std::vector<PodType>& types) {
  BatchPlan best;
  if (orders.empty()) {
    return best;
  }
  BatchTrial best_trial;
  for (size_t i = 0; i < orders.size(); ++i) {
    BatchPlan plan{orders[i], {}};
    const BatchTrial trial = tryOrder(cluster, plan.order, types, &plan.picks);
    if (i == 0 || betterTrial(trial, best_trial)) {
      best = std::move(plan);
      best_trial = trial;
    }
  }
  return best;
}

std::vector<int> bestOrder(const BatchCluster& cluster, const std::vector<std::vector<int>>& orders,
                           const std::vector<PodType>& types) {
  if (orders.size() <= 1) {
    return orders.empty() ? std::vector<int>{} : orders.front();
  }
  return planBatch(cluster, orders, types).order;
}

}  // namespace mpshare::core
