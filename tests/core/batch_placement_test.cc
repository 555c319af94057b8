#include "core/batch_placement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/placement.h"

namespace mpshare::core {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kGpuMiB = 1000;

Demand share(double s) {
  Demand d;
  d.thread_percentage = static_cast<int>(std::lround(s * 100));
  d.memory_mib = std::llround(s * kGpuMiB);
  return d;
}

double askOf(const Demand& d) {
  return d.wholeGpu() ? d.gpus : d.gpus * d.thread_percentage.value_or(100) / 100.0;
}

PodType type(double s) {
  PodType t;
  t.share = s;
  t.weight = 1.0;
  return t;
}

// Nodes with `gpus` GPUs each, some GPUs already `used` (share), and a batch of
// demands placed by `policy`, best score first, the first node among equals.
class Fixture {
 public:
  void addNode(const std::vector<double>& used, int64_t cpu_milli = 0) {
    NodeCapacity capacity;
    capacity.name = "n" + std::to_string(nodes_.size());
    capacity.cpu_milli = cpu_milli;
    for (size_t i = 0; i < used.size(); ++i) {
      capacity.gpus.push_back(GpuCapacity{static_cast<int>(i), 100, kGpuMiB, 48});
    }
    (void)ledger_.upsertNode(capacity);
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i] > 0) {
        const std::string uid = capacity.name + "-" + std::to_string(i);
        EXPECT_TRUE(
            ledger_
                .reserve({uid, "ns/" + uid, capacity.name, {static_cast<int>(i)}, share(used[i])})
                .ok());
      }
    }
    nodes_.push_back(*ledger_.node(capacity.name));
  }

  BatchCluster cluster(const PlacementPolicy& policy, const std::vector<Demand>& batch) const {
    BatchCluster c;
    c.pick = [this, &policy, batch](
                 size_t pod, std::span<const ChangedNode> changed) -> std::optional<BatchPick> {
      std::optional<BatchPick> best;
      double best_score = -1.0;
      for (size_t id = 0; id < nodes_.size(); ++id) {
        const auto it = std::find_if(changed.begin(), changed.end(), [&](const ChangedNode& n) {
          return n.id == static_cast<int>(id);
        });
        const NodeState& state = it == changed.end() ? nodes_[id] : it->state;
        const NodeChoice choice = policy.choose(state, batch[pod]);
        if (choice.fits && choice.score > best_score) {
          best_score = choice.score;
          best = BatchPick{static_cast<int>(id), choice.gpu_indices, batch[pod]};
        }
      }
      return best;
    };
    c.node = [this](int id) -> const NodeState& { return nodes_[static_cast<size_t>(id)]; };
    c.ask = [batch](size_t pod) { return askOf(batch[pod]); };
    return c;
  }

 private:
  LedgerState ledger_;
  std::vector<NodeState> nodes_;
};

TEST(BatchOrders, ArrivalThenLargestFirstThenSeededShuffles) {
  std::mt19937_64 rng(7);
  const std::vector<double> asks{0.5, 2.0, 1.0};
  EXPECT_THAT(batchOrders(asks, 2, rng), ElementsAre(ElementsAre(0, 1, 2), ElementsAre(1, 2, 0)));
  // Equal asks stay in arrival order.
  EXPECT_THAT(batchOrders(std::vector<double>{0.3, 1.0, 0.3, 1.0}, 2, rng)[1],
              ElementsAre(1, 3, 0, 2));
  // More orders: shuffles of the batch, the same ones for the same seed.
  std::mt19937_64 a(42);
  std::mt19937_64 b(42);
  const auto orders = batchOrders(asks, 5, a);
  ASSERT_EQ(orders.size(), 5u);
  for (auto order : orders) {
    std::sort(order.begin(), order.end());
    EXPECT_THAT(order, ElementsAre(0, 1, 2));
  }
  EXPECT_EQ(orders, batchOrders(asks, 5, b));
  // One order, or one pod: arrival order only.
  EXPECT_THAT(batchOrders(asks, 1, rng), ElementsAre(ElementsAre(0, 1, 2)));
  EXPECT_THAT(batchOrders(std::vector<double>{0.5}, 4, rng), ElementsAre(ElementsAre(0)));
}

TEST(AddPlacement, MatchesWhatTheLedgerReserves) {
  LedgerState ledger;
  NodeCapacity capacity;
  capacity.name = "n";
  capacity.cpu_milli = 8000;
  capacity.memory_mib = 16000;
  for (int i = 0; i < 3; ++i) {
    capacity.gpus.push_back(GpuCapacity{i, 100, kGpuMiB, 48});
  }
  (void)ledger.upsertNode(capacity);
  NodeState copy = *ledger.node("n");
  Demand sharing = share(0.3);
  sharing.cpu_milli = 1500;
  sharing.host_memory_mib = 2000;
  Demand two_whole;
  two_whole.gpus = 2;
  two_whole.cpu_milli = 4000;
  ASSERT_TRUE(ledger.reserve({"a", "ns/a", "n", {1}, sharing}).ok());
  ASSERT_TRUE(ledger.reserve({"b", "ns/b", "n", {0, 2}, two_whole}).ok());
  addPlacement(copy, sharing, {1});
  addPlacement(copy, two_whole, {0, 2});
  const NodeState& reserved = *ledger.node("n");
  EXPECT_EQ(copy.reserved_cpu_milli, 5500);
  EXPECT_EQ(copy.reserved_cpu_milli, reserved.reserved_cpu_milli);
  EXPECT_EQ(copy.reserved_memory_mib, reserved.reserved_memory_mib);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(copy.gpus[i].reserved, reserved.gpus[i].reserved) << i;
  }
  EXPECT_EQ(copy.gpus[1].reserved.threads, 30);
}

TEST(BetterTrial, MorePlacedFirstThenLessGrowth) {
  EXPECT_TRUE(betterTrial({1.0, 0.5}, {0.8, 0.0}));
  EXPECT_FALSE(betterTrial({0.8, 0.0}, {1.0, 0.5}));
  EXPECT_TRUE(betterTrial({1.0, 0.1}, {1.0, 0.2}));
  EXPECT_FALSE(betterTrial({1.0, 0.2}, {1.0, 0.2}));  // equal: the earlier order stays
}

TEST(BestOrder, PlacesMoreGpuWhenArrivalOrderWouldStrandIt) {
  // One GPU; a half-GPU pod arrives before a whole-GPU pod. In arrival order the
  // half fills the GPU's first half and the whole-GPU pod fails (0.5 placed);
  // largest first places the whole GPU (1.0).
  Fixture f;
  f.addNode({0.0});
  const auto fgd = makeFgdPolicy({type(0.5), type(1.0)});
  const std::vector<Demand> batch{share(0.5), Demand{}};
  const BatchCluster cluster = f.cluster(*fgd, batch);
  const std::vector<PodType> types{type(0.5)};
  EXPECT_DOUBLE_EQ(tryOrder(cluster, std::vector<int>{0, 1}, types).placed_gpus, 0.5);
  EXPECT_DOUBLE_EQ(tryOrder(cluster, std::vector<int>{1, 0}, types).placed_gpus, 1.0);
  std::mt19937_64 rng(1);
  const std::vector<double> asks{0.5, 1.0};
  EXPECT_THAT(bestOrder(cluster, batchOrders(asks, 2, rng), types), ElementsAre(1, 0));
}

TEST(BestOrder, AmongEqualPlacementsTheLeastFragmentationGrowth) {
  // Two GPUs, the second half used; binpack puts each pod on the fullest GPU that
  // fits. Arrival order (0.3, then 0.5): 0.3 on GPU1 (0.2 left, too small for the
  // 0.5 shape), 0.5 on GPU0: growth 0.2. Largest first: 0.5 fills GPU1, 0.3 goes
  // to GPU0 (0.7 left, fits the shape): growth 0. Both place 0.8 GPU.
  Fixture f;
  f.addNode({0.0, 0.5});
  const auto binpack = makeBinpackPolicy();
  const std::vector<Demand> batch{share(0.3), share(0.5)};
  const BatchCluster cluster = f.cluster(*binpack, batch);
  const std::vector<PodType> types{type(0.5)};
  const BatchTrial arrival = tryOrder(cluster, std::vector<int>{0, 1}, types);
  const BatchTrial largest = tryOrder(cluster, std::vector<int>{1, 0}, types);
  EXPECT_DOUBLE_EQ(arrival.placed_gpus, 0.8);
  EXPECT_DOUBLE_EQ(largest.placed_gpus, 0.8);
  EXPECT_NEAR(arrival.growth, 0.2, 1e-9);
  EXPECT_NEAR(largest.growth, 0.0, 1e-9);
  std::mt19937_64 rng(1);
  EXPECT_THAT(bestOrder(cluster, batchOrders(std::vector<double>{0.3, 0.5}, 2, rng), types),
              ElementsAre(1, 0));
  // A trial only reads the cluster: the same order gives the same result again.
  EXPECT_NEAR(tryOrder(cluster, std::vector<int>{0, 1}, types).growth, 0.2, 1e-9);
}

TEST(BestOrder, EqualTrialsKeepArrivalOrder) {
  Fixture f;
  f.addNode({0.0, 0.0});
  const auto fgd = makeFgdPolicy({type(0.5)});
  const std::vector<Demand> batch{share(0.5), share(0.5)};
  const BatchCluster cluster = f.cluster(*fgd, batch);
  const std::vector<std::vector<int>> orders{{0, 1}, {1, 0}};
  EXPECT_THAT(bestOrder(cluster, orders, {type(0.5)}), ElementsAre(0, 1));
  EXPECT_TRUE(bestOrder(cluster, {}, {type(0.5)}).empty());
}

}  // namespace
}  // namespace mpshare::core
