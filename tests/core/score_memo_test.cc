#include "core/score_memo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/fgd_policy.h"
#include "core/policy_registry.h"

namespace mpshare::core {
namespace {

std::optional<double> uncached(const PlacementPolicy& policy, const NodeState& node,
                               const Demand& demand) {
  const NodeChoice choice = policy.choose(node, demand);
  return choice.fits ? std::optional<double>(choice.score) : std::nullopt;
}

// Equal, NaN included: binpack scores a pod without GPUs NaN (no GPU to
// average over), and the memo must hand that back as it is.
bool sameScore(const std::optional<double>& a, const std::optional<double>& b) {
  if (!a || !b) {
    return a.has_value() == b.has_value();
  }
  return *a == *b || (std::isnan(*a) && std::isnan(*b));
}

std::shared_ptr<const PlacementPolicy> livePolicy(std::string_view name) {
  auto made = makePolicy(name);
  EXPECT_TRUE(made.ok()) << name;
  return std::move(*made);
}

// Random states drawn from few values, so that nodes repeat one another (as in
// a cluster) and the memo answers from its table as well as by computing.
class RandomCluster {
 public:
  explicit RandomCluster(unsigned seed) : rng_(seed) {}

  const NodeState& node() {
    NodeCapacity capacity;
    capacity.name = "n" + std::to_string(count_++);
    capacity.gpu_product = pick({0, 1}) == 0 ? "T4" : "A100";
    capacity.cpu_milli = pick({0, 1}) * 8000;
    capacity.memory_mib = pick({0, 1}) * 65536;
    const int gpus = 1 + static_cast<int>(rng_() % 4);
    const int64_t memory = pick({0, 1}) == 0 ? 16384 : 40960;
    for (int i = 0; i < gpus; ++i) {
      capacity.gpus.push_back(GpuCapacity{i, 100 * (1 + pick({0, 0, 1})), memory, 4});
    }
    (void)state_.upsertNode(capacity);
    for (int i = 0; i < gpus; ++i) {
      for (int pod = pick({0, 1, 2}); pod > 0; --pod) {
        // Failures (no room) are fine: the node just holds less.
        (void)state_.reserve({capacity.name + "-" + std::to_string(i) + "-" + std::to_string(pod),
                              "ns/p",
                              capacity.name,
                              {i},
                              demand(1)});
      }
    }
    if (capacity.cpu_milli != 0 && pick({0, 1}) == 1) {
      Demand host;
      host.gpus = 0;
      host.cpu_milli = 6000;
      (void)state_.reserve({capacity.name + "-host", "ns/h", capacity.name, {}, host});
    }
    return *state_.node(capacity.name);
  }

  // A pod: one GPU's share (thread % with or without memory), whole GPUs, or
  // host resources only; `gpus` fixes the count when > 0.
  Demand demand(int gpus = 0) {
    Demand d;
    d.gpus = gpus > 0 ? gpus : static_cast<int>(rng_() % 3);
    if (d.gpus == 1 && pick({0, 1, 1, 1}) == 1) {
      d.thread_percentage = 10 * (1 + pick({0, 2, 4, 6}));
      if (pick({0, 1}) == 1) {
        d.memory_mib = 4096 * (1 + pick({0, 1, 3}));
      }
    }
    if (pick({0, 1}) == 1) {
      d.cpu_milli = 1000 * (1 + pick({0, 3}));
    }
    return d;
  }

 private:
  int pick(std::initializer_list<int> values) {
    return *(values.begin() + static_cast<std::ptrdiff_t>(rng_() % values.size()));
  }

  std::mt19937 rng_;
  LedgerState state_;
  int count_ = 0;
};

TEST(ScoreMemoTest, GivesExactlyThePolicysScoreOverRandomNodesAndPods) {
  for (const char* name : {"fgd", "binpack", "spread"}) {
    const auto policy = livePolicy(name);
    ScoreMemo memo;
    ScoreMemo tiny(8);  // empties itself often: answers must not change
    RandomCluster cluster(42);
    for (int i = 0; i < 3000; ++i) {
      const NodeState& node = cluster.node();
      const Demand demand = cluster.demand();
      const std::optional<double> want = uncached(*policy, node, demand);
      // Twice each: the first may compute, the second is from the table.
      for (int round = 0; round < 2; ++round) {
        ASSERT_TRUE(sameScore(memo.score(policy, node, demand), want))
            << name << " node " << node.name() << " demand " << demand.describe();
        ASSERT_TRUE(sameScore(tiny.score(policy, node, demand), want))
            << name << " " << node.name();
      }
    }
    // The draws repeat states, so most first lookups hit as well.
    EXPECT_GT(memo.hits(), memo.misses()) << name;
    EXPECT_LE(tiny.size(), 8u);
  }
}

// fgd-plus as the extender builds it: typical pods of which some are bound to
// T4, and the cluster's GPUs per product making T4 scarce.
std::shared_ptr<const PlacementPolicy> fgdPlus(const std::map<std::string, int>& gpus_by_model) {
  PodType any;
  any.share = 0.5;
  any.weight = 3;
  PodType on_t4;
  on_t4.share = 1.0;
  on_t4.products = {"T4"};
  on_t4.weight = 1;
  PolicyInputs inputs;
  inputs.pod_types = {any, on_t4};
  inputs.gpus_by_model = gpus_by_model;
  auto made = makePolicy("fgd-plus", inputs);
  EXPECT_TRUE(made.ok());
  return std::move(*made);
}

TEST(ScoreMemoTest, GivesFgdPlusItsOwnScoresAndDropsThemWhenThePressureMoves) {
  // T4 at 10 % of the GPUs, then at half of them: two pressures, two policies.
  const auto scarce = fgdPlus({{"T4", 10}, {"A100", 90}});
  const auto plenty = fgdPlus({{"T4", 50}, {"A100", 50}});
  ScoreMemo memo;
  RandomCluster cluster(7);
  int differing = 0;
  for (int i = 0; i < 2000; ++i) {
    const NodeState& node = cluster.node();
    const Demand demand = cluster.demand();
    // Alternating policies empties the table at each switch: every answer must
    // be the policy's own, never the other's remembered score.
    for (const auto& policy : {scarce, plenty, scarce}) {
      ASSERT_TRUE(sameScore(memo.score(policy, node, demand), uncached(*policy, node, demand)))
          << "node " << node.name() << " demand " << demand.describe();
    }
    differing +=
        sameScore(uncached(*scarce, node, demand), uncached(*plenty, node, demand)) ? 0 : 1;
  }
  // The pressures do move scores, so a stale table would have been caught.
  EXPECT_GT(differing, 50);
}

TEST(ScoreMemoTest, NodesWithTheSameContentShareAnEntryWhateverTheirNames) {
  const auto policy = livePolicy("fgd");
  LedgerState state;
  for (const char* name : {"gpu-a", "gpu-b"}) {
    NodeCapacity capacity{
        name, "T4", {GpuCapacity{0, 100, 16384, 4}, GpuCapacity{1, 100, 16384, 4}}};
    (void)state.upsertNode(capacity);
    Demand used;
    used.thread_percentage = 30;
    used.memory_mib = 4096;
    ASSERT_TRUE(state.reserve({std::string(name) + "-p", "ns/p", name, {1}, used}).ok());
  }
  Demand pod;
  pod.thread_percentage = 50;
  ScoreMemo memo;
  const auto a = memo.score(policy, *state.node("gpu-a"), pod);
  const auto b = memo.score(policy, *state.node("gpu-b"), pod);
  EXPECT_EQ(a, b);
  EXPECT_EQ(memo.misses(), 1u);
  EXPECT_EQ(memo.hits(), 1u);

  // A bind changes one node's content: it gets its own entry, the other keeps its answer.
  Demand more;
  more.thread_percentage = 60;
  ASSERT_TRUE(state.reserve({"gpu-b-q", "ns/q", "gpu-b", {0}, more}).ok());
  EXPECT_EQ(memo.score(policy, *state.node("gpu-b"), pod),
            uncached(*policy, *state.node("gpu-b"), pod));
  EXPECT_EQ(memo.misses(), 2u);
  EXPECT_EQ(memo.score(policy, *state.node("gpu-a"), pod), a);
}

TEST(ScoreMemoTest, ANewPolicyEmptiesTheTable) {
  // The same node scores differently against two typical-pod distributions:
  // a half-GPU pod on the half-free GPU leaves the whole GPU for whole-GPU pods,
  // and on the free GPU strands half a GPU that only half-GPU pods can use.
  PodType half;
  half.share = 0.5;
  half.weight = 1;
  PodType whole;
  whole.share = 1.0;
  whole.weight = 1;
  const std::shared_ptr<const PlacementPolicy> halves = makeFgdPolicy({half});
  const std::shared_ptr<const PlacementPolicy> wholes = makeFgdPolicy({whole});
  LedgerState state;
  (void)state.upsertNode(
      {"n", "T4", {GpuCapacity{0, 100, 16384, 4}, GpuCapacity{1, 100, 16384, 4}}});
  Demand used;
  used.thread_percentage = 50;
  used.memory_mib = 8192;
  ASSERT_TRUE(state.reserve({"p", "ns/p", "n", {0}, used}).ok());
  Demand pod;
  pod.thread_percentage = 25;
  pod.memory_mib = 4096;
  const NodeState& node = *state.node("n");
  ASSERT_NE(uncached(*halves, node, pod), uncached(*wholes, node, pod));

  ScoreMemo memo;
  EXPECT_EQ(memo.score(halves, node, pod), uncached(*halves, node, pod));
  EXPECT_EQ(memo.score(wholes, node, pod), uncached(*wholes, node, pod));
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_EQ(memo.hits(), 0u);
}

TEST(ScoreMemoTest, KeysTellApartEveryInputOfTheScore) {
  LedgerState state;
  (void)state.upsertNode({"n", "T4", {GpuCapacity{0, 100, 16384, 4}}, 8000, 0});
  const NodeState base = *state.node("n");
  Demand pod;
  pod.thread_percentage = 30;
  std::string want;
  writeScoreKey(base, pod, want);
  std::string key;
  NodeState renamed = base;
  renamed.capacity.name = "m";
  writeScoreKey(renamed, pod, key);
  EXPECT_EQ(key, want) << "the name is not an input";

  std::vector<NodeState> changed(6, base);
  changed[0].capacity.gpu_product = "A100";
  changed[1].reserved_cpu_milli = 1000;
  changed[2].gpus[0].reserved.threads = 10;
  changed[3].gpus[0].reserved.clients = 1;
  changed[4].gpus[0].capacity.memory_mib = 40960;
  changed[5].gpus.push_back(base.gpus[0]);
  for (size_t i = 0; i < changed.size(); ++i) {
    writeScoreKey(changed[i], pod, key);
    EXPECT_NE(key, want) << "node change " << i;
  }
  Demand other = pod;
  other.memory_mib = 4096;
  writeScoreKey(base, other, key);
  EXPECT_NE(key, want) << "demand change";
}

}  // namespace
}  // namespace mpshare::core
