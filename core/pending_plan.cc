#include "core/pending_plan.h"

#include <algorithm>
#include <numeric>

namespace mpshare::core {
namespace {

bool productAllowed(const PendingPod& pod, const NodeState& node) {
  return pod.products.empty() || std::find(pod.products.begin(), pod.products.end(),
                                           node.capacity.gpu_product) != pod.products.end();
}

}  // namespace

std::optional<double> PlanScoreCache::NodeScores::score(const PlacementPolicy& policy,
                                                        const NodeState& node,
                                                        const Demand& demand) {
  for (const auto& [asked, score] : scores_) {
    if (asked == demand) return score;
  }
  const NodeChoice choice = policy.choose(node, demand);
  return scores_.emplace_back(demand, choice.fits ? std::optional(choice.score) : std::nullopt)
      .second;
}

PlanScoreCache::NodeScores& PlanScoreCache::scoresOf(
    const std::shared_ptr<const PlacementPolicy>& policy, const NodeState& node) {
  if (policy != policy_) {
    nodes_.clear();
    policy_ = policy;
  }
  NodeScores& scores = nodes_[node.name()];
  if (!(scores.state_ == node)) {
    scores.state_ = node;
    scores.scores_.clear();
  }
  return scores;
}

void PlanScoreCache::trim(size_t nodes) {
  if (nodes_.size() > nodes) nodes_.clear();
}

bool podFits(const PlacementPolicy& policy, const NodeState& node, const PendingPod& pod) {
  return productAllowed(pod, node) && policy.fits(node, pod.demand);
}

bool queuedBefore(const PendingPod& a, const PendingPod& b) {
  if (a.priority != b.priority) {
    return a.priority > b.priority;
  }
  if (a.created != b.created) {
    return a.created < b.created;
  }
  return a.uid < b.uid;
}

bool fitsOnGpus(const NodeState& node, const Demand& demand, std::span<const int> gpu_indices) {
  if (!node.hostFits(demand) || static_cast<int>(gpu_indices.size()) != std::max(1, demand.gpus)) {
    return false;
  }
  for (auto at = gpu_indices.begin(); at != gpu_indices.end(); ++at) {
    const GpuState* gpu = node.gpu(*at);
    if (gpu == nullptr || std::find(gpu_indices.begin(), at, *at) != at) {
      return false;  // gone, or listed twice
    }
    if (!gpu->fits(resolveOn(demand, gpu->capacity))) {
      return false;
    }
  }
  return true;
}

std::vector<std::optional<PlannedPlacement>> planPending(
    std::span<const NodeState> nodes, std::span<const PendingPod> batch,
    const std::shared_ptr<const PlacementPolicy>& policy, PlanScoreCache& cache,
    const std::vector<PodType>& types, const BatchOptions& options, std::mt19937_64& rng) {
  // Nodes in the order equal scores are decided in.
  std::vector<int> visit(nodes.size());
  std::iota(visit.begin(), visit.end(), 0);
  std::sort(visit.begin(), visit.end(), [&](int a, int b) {
    return tieOrderBefore(nodes[static_cast<size_t>(a)].name(),
                          nodes[static_cast<size_t>(b)].name());
  });
  // Every pod's score on every node as it stands before the batch (nullopt:
  // does not fit, or not of its products); the trials rescore only the nodes
  // they change.
  // Pods asking the same on the same products share one column: a queue is
  // mostly replicas of a few workloads.
  std::vector<size_t> column_of(batch.size());
  std::vector<size_t> column_pod;  // a pod of each column
  for (size_t p = 0; p < batch.size(); ++p) {
    const auto same = std::find_if(column_pod.begin(), column_pod.end(), [&](size_t q) {
      return batch[q].demand == batch[p].demand && batch[q].products == batch[p].products;
    });
    column_of[p] = static_cast<size_t>(same - column_pod.begin());
    if (same == column_pod.end()) column_pod.push_back(p);
  }
  std::vector<std::vector<std::optional<double>>> columns(
      column_pod.size(), std::vector<std::optional<double>>(nodes.size()));
  cache.trim(2 * nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    PlanScoreCache::NodeScores& scores = cache.scoresOf(policy, nodes[n]);
    for (size_t c = 0; c < column_pod.size(); ++c) {
      const PendingPod& p = batch[column_pod[c]];
      if (productAllowed(p, nodes[n])) {
        columns[c][n] = scores.score(*policy, nodes[n], p.demand);
      }
    }
  }

  std::vector<size_t> rank(nodes.size());  // position in `visit`
  for (size_t i = 0; i < visit.size(); ++i) {
    rank[static_cast<size_t>(visit[i])] = i;
  }
  std::vector<char> is_changed(nodes.size(), 0);

  BatchCluster cluster;
  cluster.node = [&](int id) -> const NodeState& { return nodes[static_cast<size_t>(id)]; };
  cluster.ask = [&](size_t pod) { return gpuAsk(batch[pod].demand); };
  cluster.pick = [&](size_t pod, std::span<const ChangedNode> changed) -> std::optional<BatchPick> {
    const Demand& demand = batch[pod].demand;
    for (const ChangedNode& c : changed) {
      is_changed[static_cast<size_t>(c.id)] = 1;
    }
    // The best unchanged node: the first visited among equal scores.
    std::optional<int> best;
    double best_score = 0.0;
    for (const int id : visit) {
      const auto& score = columns[column_of[pod]][static_cast<size_t>(id)];
      if (is_changed[static_cast<size_t>(id)] == 0 && score &&
          (!best || *score > best_score + kScoreTie)) {
        best = id;
        best_score = *score;
      }
    }
    for (const ChangedNode& c : changed) {
      is_changed[static_cast<size_t>(c.id)] = 0;
    }
    // The changed nodes, scored as the trial left them, where visit order puts them.
    std::optional<NodeChoice> best_changed;  // its GPUs, when a changed node wins
    for (const ChangedNode& c : changed) {
      if (!productAllowed(batch[pod], c.state)) {
        continue;
      }
      NodeChoice choice = policy->choose(c.state, demand);
      if (!choice.fits) {
        continue;
      }
      const bool better = !best || choice.score > best_score + kScoreTie ||
                          (choice.score >= best_score - kScoreTie &&
                           rank[static_cast<size_t>(c.id)] < rank[static_cast<size_t>(*best)]);
      if (better) {
        best = c.id;
        best_score = choice.score;
        best_changed = std::move(choice);
      }
    }
    if (!best) {
      return std::nullopt;
    }
    // An unchanged node's GPUs: the cache keeps only scores.
    const NodeChoice choice = best_changed
                                  ? std::move(*best_changed)
                                  : policy->choose(nodes[static_cast<size_t>(*best)], demand);
    return BatchPick{*best, choice.gpu_indices, demand};
  };

  std::vector<double> asks;
  asks.reserve(batch.size());
  for (const PendingPod& pod : batch) {
    asks.push_back(gpuAsk(pod.demand));
  }
  const BatchPlan plan = planBatch(cluster, batchOrders(asks, options.orders, rng), types);
  std::vector<std::optional<PlannedPlacement>> placements(batch.size());
  for (size_t p = 0; p < plan.picks.size(); ++p) {
    if (const auto& pick = plan.picks[p]) {
      placements[p] =
          PlannedPlacement{nodes[static_cast<size_t>(pick->node)].name(), pick->gpu_indices};
    }
  }
  return placements;
}

}  // namespace mpshare::core
