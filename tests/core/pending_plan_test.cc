#include "core/pending_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/policy_registry.h"

namespace mpshare::core {
namespace {

constexpr int64_t kGpuMiB = 1000;

Demand share(double s, int gpus = 1) {
  Demand d;
  d.gpus = gpus;
  d.thread_percentage = static_cast<int>(std::lround(s * 100));
  d.memory_mib = std::llround(s * kGpuMiB);
  return d;
}

Demand wholeGpus(int gpus) {
  Demand d;
  d.gpus = gpus;
  return d;
}

PendingPod pod(std::string uid, Demand demand, std::vector<std::string> products = {}) {
  PendingPod p;
  p.key = "ns/" + uid;
  p.uid = std::move(uid);
  p.demand = std::move(demand);
  p.products = std::move(products);
  return p;
}

// A node named `name` whose GPUs are used as in `used` (share of each).
NodeState node(const std::string& name, const std::vector<double>& used,
               const std::string& product = "", int64_t cpu_milli = 0) {
  LedgerState ledger;
  NodeCapacity capacity;
  capacity.name = name;
  capacity.gpu_product = product;
  capacity.cpu_milli = cpu_milli;
  for (size_t i = 0; i < used.size(); ++i) {
    capacity.gpus.push_back(GpuCapacity{static_cast<int>(i), 100, kGpuMiB, 48});
  }
  (void)ledger.upsertNode(capacity);
  for (size_t i = 0; i < used.size(); ++i) {
    if (used[i] > 0) {
      const std::string uid = name + "-" + std::to_string(i);
      EXPECT_TRUE(
          ledger.reserve({uid, "ns/" + uid, name, {static_cast<int>(i)}, share(used[i])}).ok());
    }
  }
  return *ledger.node(name);
}

std::shared_ptr<const PlacementPolicy> fgdPlus() {
  auto made = makePolicy("fgd-plus-batch", PolicyInputs{});
  EXPECT_TRUE(made.ok());
  return std::shared_ptr<const PlacementPolicy>(std::move(*made));
}

std::vector<PodType> types() {
  PodType half;
  half.share = 0.5;
  half.weight = 0.5;
  PodType whole;
  whole.weight = 0.5;
  return {half, whole};
}

std::vector<std::optional<PlannedPlacement>> plan(const std::vector<NodeState>& nodes,
                                                  const std::vector<PendingPod>& batch,
                                                  int orders = 4) {
  PlanScoreCache cache;
  std::mt19937_64 rng(7);
  return planPending(nodes, batch, fgdPlus(), cache, types(), BatchOptions{16, orders}, rng);
}

TEST(PendingPlanTest, APodFitsANodeOfItsProductsWithRoomForIt) {
  const auto policy = fgdPlus();
  const NodeState half_free = node("n", {0.5}, "T4");
  EXPECT_TRUE(podFits(*policy, half_free, pod("p", share(0.5))));
  EXPECT_TRUE(podFits(*policy, half_free, pod("p", share(0.5), {"A10", "T4"})));
  EXPECT_FALSE(podFits(*policy, half_free, pod("p", share(0.5), {"A10"}))) << "other product";
  EXPECT_FALSE(podFits(*policy, half_free, pod("p", share(0.6)))) << "no room";
  EXPECT_FALSE(podFits(*policy, half_free, pod("p", wholeGpus(2)))) << "one GPU only";
}

TEST(PendingPlanTest, QueueOrderIsPriorityThenAgeThenUid) {
  struct Case {
    const char* name;
    int priority_a, priority_b;
    const char *created_a, *created_b, *uid_a, *uid_b;
    bool a_first;
  };
  const Case cases[] = {
      {"higher priority first", 10, 0, "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", "a", "b",
       true},
      {"lower priority later", 0, 10, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "a", "b",
       false},
      {"older first", 5, 5, "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "b", "a", true},
      {"same age: by uid", 5, 5, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "a", "b", true},
  };
  for (const Case& c : cases) {
    PendingPod a = pod(c.uid_a, share(0.5));
    a.priority = c.priority_a;
    a.created = c.created_a;
    PendingPod b = pod(c.uid_b, share(0.5));
    b.priority = c.priority_b;
    b.created = c.created_b;
    EXPECT_EQ(queuedBefore(a, b), c.a_first) << c.name;
    EXPECT_EQ(queuedBefore(b, a), !c.a_first) << c.name;
  }
}

TEST(PendingPlanTest, GpuAskIsGpusTimesThreadShare) {
  EXPECT_DOUBLE_EQ(gpuAsk(share(0.3)), 0.3);
  EXPECT_DOUBLE_EQ(gpuAsk(share(0.3, 2)), 0.6);
  EXPECT_DOUBLE_EQ(gpuAsk(wholeGpus(4)), 4.0);
}

TEST(PendingPlanTest, FitsOnGpusChecksExactlyThePlannedGpus) {
  const NodeState n = node("a", {0.8, 0.0}, "", 1000);
  struct Case {
    const char* name;
    Demand demand;
    std::vector<int> gpus;
    bool fits;
  };
  Demand cpu_heavy = share(0.1);
  cpu_heavy.cpu_milli = 2000;
  const Case cases[] = {
      {"room on the planned GPU", share(0.2), {0}, true},
      {"planned GPU too full", share(0.3), {0}, false},
      {"other GPU free", share(0.3), {1}, true},
      {"no such GPU", share(0.1), {7}, false},
      {"GPU listed twice", share(0.1, 2), {1, 1}, false},
      {"fewer GPUs than asked", wholeGpus(2), {1}, false},
      {"host CPU short", cpu_heavy, {1}, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(fitsOnGpus(n, c.demand, c.gpus), c.fits) << c.name;
  }
}

TEST(PendingPlanTest, KeepsTheOrderThatPlacesMoreCapacity) {
  // One free GPU; in arrival order the half would take it and the whole GPU
  // would find none.
  const auto placements =
      plan({node("a", {0.0})}, {pod("half", share(0.5)), pod("whole", wholeGpus(1))});
  ASSERT_EQ(placements.size(), 2U);
  EXPECT_FALSE(placements[0]);
  EXPECT_EQ(placements[1], (PlannedPlacement{"a", {0}}));
  // With the arrival order alone the half wins.
  const auto arrival =
      plan({node("a", {0.0})}, {pod("half", share(0.5)), pod("whole", wholeGpus(1))}, 1);
  EXPECT_EQ(arrival[0], (PlannedPlacement{"a", {0}}));
  EXPECT_FALSE(arrival[1]);
}

TEST(PendingPlanTest, PlacesPodsOnlyOnTheirProducts) {
  const std::vector<NodeState> nodes{node("t4", {0.5}, "Tesla-T4"), node("h100", {0.0}, "H100")};
  const auto placements = plan(nodes, {pod("p", share(0.5), {"H100"})});
  EXPECT_EQ(placements[0], (PlannedPlacement{"h100", {0}}));
  const auto nowhere = plan(nodes, {pod("p", share(0.5), {"A100"})});
  EXPECT_FALSE(nowhere[0]);
}

// The reference for one order: each pod, in turn, on the node a plan-less
// prioritize would give 10 (rankedNodeScores over every node) and the GPUs the
// policy chooses there, on the nodes as the earlier pods left them.
std::vector<std::optional<PlannedPlacement>> placeOneByOne(std::vector<NodeState> nodes,
                                                           const std::vector<PendingPod>& batch) {
  const auto policy = fgdPlus();
  std::vector<std::optional<PlannedPlacement>> out;
  for (const PendingPod& p : batch) {
    std::vector<ScoredNode> scored;
    std::vector<NodeChoice> choices;
    for (const NodeState& n : nodes) {
      const bool allowed =
          p.products.empty() || std::find(p.products.begin(), p.products.end(),
                                          n.capacity.gpu_product) != p.products.end();
      NodeChoice choice = allowed ? policy->choose(n, p.demand) : NodeChoice{};
      scored.push_back({n.name(), choice.fits ? std::optional(choice.score) : std::nullopt});
      choices.push_back(std::move(choice));
    }
    const std::vector<int> ranks = rankedNodeScores(scored);
    const auto top = std::find(ranks.begin(), ranks.end(), kMaxNodeScore);
    if (top == ranks.end()) {
      out.emplace_back();
      continue;
    }
    const auto i = static_cast<size_t>(top - ranks.begin());
    addPlacement(nodes[i], p.demand, choices[i].gpu_indices);
    out.emplace_back(PlannedPlacement{nodes[i].name(), choices[i].gpu_indices});
  }
  return out;
}

struct RandomCase {
  std::vector<NodeState> nodes;
  std::vector<PendingPod> batch;
};

RandomCase randomCase(uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution(lo, hi)(rng); };
  const std::vector<std::string> products{"A", "B"};
  RandomCase c;
  const int nodes = uniform(2, 12);
  for (int n = 0; n < nodes; ++n) {
    std::vector<double> used(static_cast<size_t>(uniform(1, 8)));
    for (double& u : used) u = uniform(0, 4) == 0 ? 0.0 : uniform(0, 10) / 10.0;
    c.nodes.push_back(node("node-" + std::to_string(n), used, products[uniform(0, 1)]));
  }
  const int pods = uniform(1, 16);
  for (int p = 0; p < pods; ++p) {
    const int kind = uniform(0, 5);
    Demand d = kind == 0 ? wholeGpus(uniform(1, 4)) : share(uniform(1, 9) / 10.0);
    std::vector<std::string> only;
    if (uniform(0, 3) == 0) only.push_back(products[uniform(0, 1)]);
    c.batch.push_back(pod("pod-" + std::to_string(p), d, only));
  }
  return c;
}

TEST(PendingPlanTest, OneOrderPlansAsPrioritizeWouldPlaceOneByOne) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const RandomCase c = randomCase(seed);
    EXPECT_EQ(plan(c.nodes, c.batch, 1), placeOneByOne(c.nodes, c.batch)) << "seed " << seed;
  }
}

TEST(PendingPlanTest, PlansFitTogetherAndPlaceAtLeastTheArrivalOrder) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const RandomCase c = randomCase(seed);
    const auto placements = plan(c.nodes, c.batch);
    std::vector<NodeState> after = c.nodes;
    double placed = 0.0;
    for (size_t p = 0; p < placements.size(); ++p) {
      if (!placements[p]) continue;
      const auto at = std::find_if(after.begin(), after.end(), [&](const NodeState& n) {
        return n.name() == placements[p]->node;
      });
      ASSERT_NE(at, after.end()) << "seed " << seed;
      // Each plan fits on the nodes as the other plans leave them.
      EXPECT_TRUE(fitsOnGpus(*at, c.batch[p].demand, placements[p]->gpu_indices))
          << "seed " << seed << " pod " << p;
      addPlacement(*at, c.batch[p].demand, placements[p]->gpu_indices);
      placed += gpuAsk(c.batch[p].demand);
    }
    double arrival = 0.0;
    const auto one_by_one = plan(c.nodes, c.batch, 1);
    for (size_t p = 0; p < one_by_one.size(); ++p) {
      if (one_by_one[p]) arrival += gpuAsk(c.batch[p].demand);
    }
    EXPECT_GE(placed, arrival - 1e-9) << "seed " << seed;
  }
}

TEST(PendingPlanTest, AKeptScoreCachePlansAsAFreshOne) {
  PlanScoreCache kept;
  const auto policy = fgdPlus();
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const RandomCase c = randomCase(seed);
    std::mt19937_64 rng_kept(seed);
    std::mt19937_64 rng_fresh(seed);
    PlanScoreCache fresh;
    EXPECT_EQ(planPending(c.nodes, c.batch, policy, kept, types(), BatchOptions{}, rng_kept),
              planPending(c.nodes, c.batch, policy, fresh, types(), BatchOptions{}, rng_fresh))
        << "seed " << seed;
  }
}

}  // namespace
}  // namespace mpshare::core
