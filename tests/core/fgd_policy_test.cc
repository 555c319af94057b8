#include "core/fgd_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace mpshare::core {
namespace {

// GPUs of 1000 MiB so a share s is s*100 % threads and s*1000 MiB.
constexpr int64_t kGpuMiB = 1000;

PodType type(double share, double weight = 1.0, int gpus = 1) {
  PodType t;
  t.gpus = gpus;
  t.share = share;
  t.weight = weight;
  return t;
}

NodeShape shape(std::vector<double> free, int64_t free_cpu = 0) {
  NodeShape s;
  s.product = "T4";
  s.cpu_tracked = free_cpu > 0;
  s.free_cpu_milli = free_cpu;
  s.free_share = std::move(free);
  s.has_client_slot.assign(s.free_share.size(), true);
  return s;
}

// A node whose GPUs are already `used` (share each) full, via the real ledger.
class NodeBuilder {
 public:
  const NodeState& node(const std::vector<double>& used, int64_t cpu_milli = 0,
                        int64_t reserved_cpu = 0) {
    NodeCapacity capacity;
    capacity.name = "n" + std::to_string(count_++);
    capacity.gpu_product = "T4";
    capacity.cpu_milli = cpu_milli;
    for (size_t i = 0; i < used.size(); ++i) {
      capacity.gpus.push_back(GpuCapacity{static_cast<int>(i), 100, kGpuMiB, 48});
    }
    (void)ledger_.upsertNode(capacity);
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i] > 0) {
        reserve(capacity.name, static_cast<int>(i), used[i], 0);
      }
    }
    if (reserved_cpu > 0) {
      Demand host;
      host.gpus = 0;
      host.cpu_milli = reserved_cpu;
      EXPECT_TRUE(ledger_.reserve({"cpu" + capacity.name, "ns/cpu", capacity.name, {}, host}).ok());
    }
    return *ledger_.node(capacity.name);
  }

 private:
  void reserve(const std::string& node, int gpu, double share, int64_t cpu) {
    Demand d;
    d.thread_percentage = static_cast<int>(std::lround(share * 100));
    d.memory_mib = std::llround(share * kGpuMiB);
    d.cpu_milli = cpu;
    const std::string uid = node + "-" + std::to_string(gpu);
    ASSERT_TRUE(ledger_.reserve({uid, "ns/" + uid, node, {gpu}, d}).ok());
  }

  LedgerState ledger_;
  int count_ = 0;
};

Demand shareDemand(double share) {
  Demand d;
  d.thread_percentage = static_cast<int>(std::lround(share * 100));
  d.memory_mib = std::llround(share * kGpuMiB);
  return d;
}

TEST(TypeFragmentation, HandComputedCases) {
  PodType lacks_cpu = type(0.2);
  lacks_cpu.cpu_milli = 2000;
  PodType other_model = type(0.2);
  other_model.products = {"A10"};
  PodType lacks_memory = type(0.2);
  lacks_memory.host_memory_mib = 8192;
  NodeShape little_memory = shape({0.3, 1.0});
  little_memory.memory_tracked = true;
  little_memory.free_memory_mib = 4096;
  NodeShape enough_memory = little_memory;
  enough_memory.free_memory_mib = 8192;
  NodeShape no_slot = shape({0.3, 1.0});
  no_slot.has_client_slot[1] = false;
  const struct {
    const char* name;
    NodeShape node;
    PodType type;
    double want;
  } cases[] = {
      {"small GPU is a fragment for a larger share", shape({0.3, 1.0}), type(0.5), 0.3},
      {"both GPUs usable", shape({0.3, 1.0}), type(0.2), 0.0},
      {"exact fit is not a fragment", shape({0.5, 1.0}), type(0.5), 0.0},
      {"too few whole GPUs: everything free", shape({0.3, 1.0}), type(1.0, 1.0, 2), 1.3},
      {"one whole GPU fits", shape({0.3, 1.0}), type(1.0), 0.3},
      {"host CPU lacking: everything free", shape({0.3, 1.0}, 1000), lacks_cpu, 1.3},
      {"GPU model not allowed: everything free", shape({0.3, 1.0}), other_model, 1.3},
      {"host memory lacking: everything free", little_memory, lacks_memory, 1.3},
      {"host memory just enough", enough_memory, lacks_memory, 0.0},
      {"GPU without a client slot is a fragment", no_slot, type(0.2), 1.0},
      {"full node has no fragment", shape({0.0, 0.0}), type(0.5), 0.0},
      {"host-only type: every free share is a fragment", shape({0.3, 1.0}), type(0.0, 1.0, 0), 1.3},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(typeFragmentation(c.node, c.type), c.want, 1e-9) << c.name;
  }
}

TEST(NodeFragmentation, WeightsByPopularity) {
  const auto types = normalisePodTypes({type(0.5, 1.0), type(0.2, 1.0)});
  EXPECT_NEAR(nodeFragmentation(shape({0.3, 1.0}), types), 0.15, 1e-9);
  // Weights 3:1 -> 0.75 x 0.3.
  const auto skewed = normalisePodTypes({type(0.5, 3.0), type(0.2, 1.0), type(0.9, 0.0)});
  ASSERT_EQ(skewed.size(), 2u);
  EXPECT_NEAR(nodeFragmentation(shape({0.3, 1.0}), skewed), 0.225, 1e-9);
}

TEST(UsableFreeShare, SmallerOfThreadsAndMemory) {
  NodeBuilder b;
  const NodeState& n = b.node({0.4});
  EXPECT_NEAR(usableFreeShare(n.gpus[0]), 0.6, 1e-9);
  EXPECT_NEAR(shapeOf(n).free_share[0], 0.6, 1e-9);
}

TEST(FgdPolicy, PicksTheGpuThatKeepsRoomForTheTypicalPod) {
  // Typical pod takes half a GPU. Free {0.6, 1.0}; a 0.3 pod on GPU0 would leave
  // 0.3 nobody can use (fragmentation +0.3), on GPU1 it leaves 0.7 (+0): FGD takes
  // GPU1 where best fit would take GPU0.
  NodeBuilder b;
  const NodeState& n = b.node({0.4, 0.0});
  const auto policy = makeFgdPolicy({type(0.5)});
  const NodeChoice choice = policy->choose(n, shareDemand(0.3));
  ASSERT_TRUE(choice.fits);
  EXPECT_THAT(choice.gpu_indices, testing::ElementsAre(1));
  EXPECT_DOUBLE_EQ(choice.score, 0.5);  // increase 0 -> floor(100 / (1 + e^0)) / 100
}

TEST(FgdPolicy, FillsAGpuWhenThatRemovesAFragment) {
  // Typical pod 0.6. Free {0.5, 1.0}: GPU0's 0.5 is a fragment. A 0.4 pod there
  // leaves 0.1 (-0.4); on GPU1 it leaves 0.6 usable and GPU0 still stranded (0).
  NodeBuilder b;
  const NodeState& n = b.node({0.5, 0.0});
  const auto policy = makeFgdPolicy({type(0.6)});
  const NodeChoice choice = policy->choose(n, shareDemand(0.4));
  ASSERT_TRUE(choice.fits);
  EXPECT_THAT(choice.gpu_indices, testing::ElementsAre(0));
  EXPECT_DOUBLE_EQ(choice.score, 0.59);  // floor(100 / (1 + e^-0.4)) = floor(59.87)
}

TEST(FgdPolicy, NodeThatLosesAFragmentScoresHigher) {
  NodeBuilder b;
  const NodeState& stranded = b.node({0.5});  // 0.5 free: a fragment for 0.6 pods
  const NodeState& empty = b.node({0.0});
  const auto policy = makeFgdPolicy({type(0.6)});
  const NodeChoice on_stranded = policy->choose(stranded, shareDemand(0.4));
  const NodeChoice on_empty = policy->choose(empty, shareDemand(0.4));
  ASSERT_TRUE(on_stranded.fits && on_empty.fits);
  EXPECT_GT(on_stranded.score, on_empty.score);
}

TEST(FgdPolicy, ScoresOnThePapersIntegerScale) {
  // Typical pod 0.5; a 0.5 pod leaves no fragment on either node (increase 0), so
  // both score 50/100 and the scheduler chooses between them.
  NodeBuilder b;
  const NodeState& half = b.node({0.5});
  const NodeState& empty = b.node({0.0});
  const auto policy = makeFgdPolicy({type(0.5)});
  EXPECT_DOUBLE_EQ(policy->choose(half, shareDemand(0.5)).score, 0.5);
  EXPECT_DOUBLE_EQ(policy->choose(empty, shareDemand(0.5)).score, 0.5);
  // A decrease smaller than one step scores the same: typical pods 0.5 (weight
  // 98) and 0.6 (weight 2). Filling the half-used GPU removes the 0.5 the 0.6
  // pods could not use (increase -0.01): 100 / (1 + e^-0.01) = 50.25 -> 50.
  const auto two_types = makeFgdPolicy({type(0.5, 98.0), type(0.6, 2.0)});
  EXPECT_DOUBLE_EQ(two_types->choose(half, shareDemand(0.5)).score, 0.5);
  // An increase of the same size drops a step: on the empty GPU the 0.5 left is
  // a fragment for the 0.6 pods (+0.01): 49.75 -> 49.
  EXPECT_DOUBLE_EQ(two_types->choose(empty, shareDemand(0.5)).score, 0.49);
}

TEST(FgdPolicy, WholeGpusAndRejections) {
  NodeBuilder b;
  const NodeState& n = b.node({0.5, 0.0, 0.0});
  const auto policy = makeFgdPolicy({type(0.5)});
  Demand two;
  two.gpus = 2;
  const NodeChoice whole = policy->choose(n, two);
  ASSERT_TRUE(whole.fits);
  EXPECT_THAT(whole.gpu_indices, testing::ElementsAre(1, 2));
  Demand three;
  three.gpus = 3;
  const NodeChoice too_many = policy->choose(n, three);
  EXPECT_FALSE(too_many.fits);
  EXPECT_THAT(too_many.reason, testing::HasSubstr("3 whole GPUs asked, 2 free"));
}

TEST(FgdPolicy, HostOnlyPodPaysForTheGpusItStrands) {
  // After a 2000m host-only pod, 2000m CPU is left and the typical GPU pod needs
  // 3000m: the whole free GPU becomes a fragment (+1.0).
  NodeBuilder b;
  const NodeState& n = b.node({0.0}, 4000);
  PodType typical = type(1.0);
  typical.cpu_milli = 3000;
  const auto policy = makeFgdPolicy({typical});
  Demand host;
  host.gpus = 0;
  host.cpu_milli = 2000;
  const NodeChoice choice = policy->choose(n, host);
  ASSERT_TRUE(choice.fits);
  EXPECT_TRUE(choice.gpu_indices.empty());
  EXPECT_DOUBLE_EQ(choice.score, 0.26);  // floor(100 / (1 + e^1)) = floor(26.89)
  host.cpu_milli = 5000;
  EXPECT_FALSE(policy->choose(n, host).fits);
}

}  // namespace
}  // namespace mpshare::core
