#include "core/fgd_plus_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace mpshare::core {
namespace {

constexpr int64_t kGpuMiB = 1000;

PodType type(double share, double weight = 1.0, std::vector<std::string> products = {}) {
  PodType t;
  t.gpus = 1;
  t.share = share;
  t.weight = weight;
  t.products = std::move(products);
  return t;
}

// Nodes of one product whose GPUs are already `used` (share each) full.
class Cluster {
 public:
  const NodeState& node(const std::string& product, const std::vector<double>& used) {
    NodeCapacity capacity;
    capacity.name = "n" + std::to_string(count_++);
    capacity.gpu_product = product;
    for (size_t i = 0; i < used.size(); ++i) {
      capacity.gpus.push_back(GpuCapacity{static_cast<int>(i), 100, kGpuMiB, 48});
    }
    (void)ledger_.upsertNode(capacity);
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i] > 0) {
        Demand d = share(used[i]);
        const std::string uid = capacity.name + "-" + std::to_string(i);
        EXPECT_TRUE(
            ledger_.reserve({uid, "ns/" + uid, capacity.name, {static_cast<int>(i)}, d}).ok());
      }
    }
    return *ledger_.node(capacity.name);
  }

  static Demand share(double s) {
    Demand d;
    d.thread_percentage = static_cast<int>(std::lround(s * 100));
    d.memory_mib = std::llround(s * kGpuMiB);
    return d;
  }

 private:
  LedgerState ledger_;
  int count_ = 0;
};

Demand wholeGpu() { return Demand{}; }

TEST(ModelPressure, BoundAskOverCapacityShare) {
  // 1,000 GPUs, 100 of them T4. Half the typical pods need a T4 (weights 1:1,
  // one GPU each): T4 gets 0.5 of the ask on 0.1 of the GPUs -> 5.
  const std::map<std::string, int> gpus{{"T4", 100}, {"G2", 900}};
  auto pressure = modelPressure(normalisePodTypes({type(1.0), type(1.0, 1.0, {"T4"})}), gpus);
  ASSERT_EQ(pressure.size(), 1u);
  EXPECT_NEAR(pressure.at("T4"), 5.0, 1e-9);
  // A type allowed on both spreads its ask by GPU count: 0.5 x 0.1 on T4, 0.5 x 0.9
  // on G2, so each model's bound share is half its GPU share.
  pressure = modelPressure(normalisePodTypes({type(1.0), type(1.0, 1.0, {"T4", "G2"})}), gpus);
  EXPECT_NEAR(pressure.at("T4"), 0.5, 1e-9);
  EXPECT_NEAR(pressure.at("G2"), 0.5, 1e-9);
  // Shares count by GPU ask; nothing bound -> no pressure.
  pressure = modelPressure(normalisePodTypes({type(0.5, 3.0), type(1.0, 1.0, {"T4"})}), gpus);
  EXPECT_NEAR(pressure.at("T4"), (1.0 / 2.5) / 0.1, 1e-9);
  EXPECT_TRUE(modelPressure(normalisePodTypes({type(0.5)}), gpus).empty());
}

TEST(FgdPlusPolicy, ScoresAsFgdWhereNoModelIsScarce) {
  // No typical pod is bound to a model, so nothing is charged: same GPU, same score
  // as fgd for every pod on every node, with the default (tuned) weight.
  Cluster c;
  const NodeState& half = c.node("T4", {0.5, 0.0});
  const NodeState& empty = c.node("T4", {0.0, 0.0});
  const NodeState& full = c.node("T4", {1.0, 0.8});
  const std::vector<PodType> types{type(0.5, 98.0), type(0.6, 2.0), type(1.0, 5.0)};
  const auto fgd = makeFgdPolicy(types);
  const auto plus = makeFgdPlusPolicy(types, {{"T4", 6}}, FgdPlusOptions{});
  for (const NodeState* n : {&half, &empty, &full}) {
    for (const Demand& d :
         {Cluster::share(0.3), Cluster::share(0.5), Cluster::share(0.8), wholeGpu()}) {
      const NodeChoice a = fgd->choose(*n, d);
      const NodeChoice b = plus->choose(*n, d);
      EXPECT_EQ(a.fits, b.fits);
      EXPECT_EQ(a.gpu_indices, b.gpu_indices);
      EXPECT_DOUBLE_EQ(a.score, b.score);
    }
  }
}

TEST(FgdPlusPolicy, LeavesTheScarceModelToPodsBoundToIt) {
  // Half the typical pods need a T4, a tenth of the GPUs (pressure 5). A half-GPU
  // pod that may run anywhere: FGD prefers the half-used T4 GPU, which it fills
  // exactly (growth -0.5: 62) over an empty G2 node (growth 0: 50). With weight
  // 0.5 the T4 GPU costs 0.5 x 5 x 0.5 = 1.25 more (growth 0.75: 32) and G2 wins.
  Cluster c;
  const NodeState& t4 = c.node("T4", {0.5, 1.0});
  const NodeState& g2 = c.node("G2", {0.0, 0.0});
  const std::vector<PodType> types{type(1.0), type(1.0, 1.0, {"T4"})};
  const std::map<std::string, int> gpus{{"T4", 100}, {"G2", 900}};
  FgdPlusOptions unpriced;
  unpriced.scarcity_weight = 0.0;
  const auto fgd = makeFgdPlusPolicy(types, gpus, unpriced);
  FgdPlusOptions priced;
  priced.scarcity_weight = 0.5;
  const auto plus = makeFgdPlusPolicy(types, gpus, priced);
  const Demand half = Cluster::share(0.5);
  EXPECT_DOUBLE_EQ(fgd->choose(t4, half).score, 0.62);
  EXPECT_DOUBLE_EQ(fgd->choose(g2, half).score, 0.50);
  EXPECT_DOUBLE_EQ(plus->choose(t4, half).score, 0.32);
  EXPECT_DOUBLE_EQ(plus->choose(g2, half).score, 0.50);
  EXPECT_EQ(plus->name(), "fgd-plus");
}

TEST(FgdPlusPolicy, ChargeGrowsWithGpusTaken) {
  // Same cluster, weight 0.1: 0.5 GPU of growth per T4 GPU taken. A whole GPU on
  // an empty T4 node grows nothing else: 0.5 -> 37; two GPUs 1.0 -> 26. On an
  // empty G2 node it shrinks the T4-bound pods' fragment (-0.5) -> 62.
  Cluster c;
  const NodeState& t4 = c.node("T4", {0.0, 0.0});
  const NodeState& g2 = c.node("G2", {0.0, 0.0});
  const std::vector<PodType> types{type(1.0), type(1.0, 1.0, {"T4"})};
  FgdPlusOptions priced;
  priced.scarcity_weight = 0.1;
  const auto plus = makeFgdPlusPolicy(types, {{"T4", 100}, {"G2", 900}}, priced);
  EXPECT_DOUBLE_EQ(plus->choose(t4, wholeGpu()).score, 0.37);
  EXPECT_DOUBLE_EQ(plus->choose(g2, wholeGpu()).score, 0.62);
  Demand two;
  two.gpus = 2;
  EXPECT_DOUBLE_EQ(plus->choose(t4, two).score, 0.26);
}

}  // namespace
}  // namespace mpshare::core
