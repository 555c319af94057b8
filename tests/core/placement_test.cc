#include "core/placement.h"

#include <gtest/gtest.h>

#include <string>

namespace mpshare::core {
namespace {

// A node "gpu-b" with `gpus` GPUs of 40960 MiB, and reservations applied.
LedgerState cluster(int gpus, const std::vector<std::tuple<std::string, int, int, int64_t>>& used) {
  LedgerState state;
  NodeCapacity capacity;
  capacity.name = "gpu-b";
  for (int i = 0; i < gpus; ++i) {
    capacity.gpus.push_back(GpuCapacity{i, 100, 40960, 4});
  }
  state.upsertNode(capacity);
  for (const auto& [uid, gpu, threads, memory] : used) {
    Demand demand;
    demand.thread_percentage = threads;
    demand.memory_mib = memory;
    EXPECT_TRUE(state.reserve(ReserveRequest{uid, uid, "gpu-b", {gpu}, demand}).ok());
  }
  return state;
}

Demand mps(std::optional<int> threads, std::optional<int64_t> memory) {
  Demand demand;
  demand.thread_percentage = threads;
  demand.memory_mib = memory;
  return demand;
}

struct ChoiceCase {
  std::string name;
  std::string policy;
  LedgerState state;
  Demand demand;
  std::vector<int> want_gpus;  // empty = does not fit
  std::string reason;
};

TEST(PlacementTest, PoliciesPickTheGpu) {
  Demand two_whole;
  two_whole.gpus = 2;
  const std::vector<ChoiceCase> cases = {
      {"binpack prefers the fuller GPU",
       "binpack",
       cluster(3, {{"a", 1, 50, 20480}}),
       mps(20, 8192),
       {1},
       ""},
      {"spread prefers the emptier GPU",
       "spread",
       cluster(3, {{"a", 0, 50, 20480}, {"b", 1, 10, 1000}}),
       mps(20, 8192),
       {2},
       ""},
      {"binpack prefers balanced fill over a lopsided GPU",
       "binpack",
       cluster(2, {{"a", 0, 90, 1024}, {"b", 1, 40, 16384}}),
       mps(10, 4096),
       {1},
       ""},
      {"binpack skips a GPU that does not fit",
       "binpack",
       cluster(2, {{"a", 0, 95, 1024}}),
       mps(10, 4096),
       {1},
       ""},
      {"reason names the best GPU",
       "binpack",
       cluster(2, {{"a", 0, 80, 30000}, {"b", 1, 10, 35000}}),
       mps(30, 46080),
       {},
       "gpu-b: no GPU fits 30% threads / 46080 MiB (best: GPU0 has 20% / 10960 MiB free)"},
      {"whole GPU needs an empty GPU",
       "binpack",
       cluster(2, {{"a", 0, 1, 256}, {"b", 1, 1, 256}}),
       mps(std::nullopt, std::nullopt),
       {},
       "gpu-b: no GPU fits a whole GPU (best: GPU0 has 99% / 40704 MiB free)"},
      {"several whole GPUs", "binpack", cluster(4, {{"a", 1, 1, 256}}), two_whole, {0, 2}, ""},
      {"several whole GPUs, too few free",
       "spread",
       cluster(2, {{"a", 1, 1, 256}}),
       two_whole,
       {},
       "gpu-b: 2 whole GPUs asked, 1 free (GPU0)"},
      {"client slots exhausted",
       "binpack",
       cluster(1, {{"a", 0, 1, 1}, {"b", 0, 1, 1}, {"c", 0, 1, 1}, {"d", 0, 1, 1}}),
       mps(1, 1),
       {},
       "gpu-b: no GPU has a free MPS client slot (4 of 4 used on every GPU)"},
  };
  for (const ChoiceCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto policy = makePolicy(c.policy);
    ASSERT_TRUE(policy.ok());
    const NodeChoice choice = (*policy)->choose(*c.state.node("gpu-b"), c.demand);
    if (c.want_gpus.empty()) {
      EXPECT_FALSE(choice.fits);
      EXPECT_EQ(choice.reason, c.reason);
    } else {
      ASSERT_TRUE(choice.fits) << choice.reason;
      EXPECT_EQ(choice.gpu_indices, c.want_gpus);
      EXPECT_GE(choice.score, 0.0);
      EXPECT_LE(choice.score, 1.0);
    }
  }
}

TEST(PlacementTest, BinpackScoresFullerNodesHigher) {
  const auto binpack = makeBinpackPolicy();
  const auto spread = makeSpreadPolicy();
  const LedgerState empty = cluster(2, {});
  const LedgerState busy = cluster(2, {{"a", 0, 60, 24000}, {"b", 1, 60, 24000}});
  const Demand demand = mps(20, 8192);
  const double empty_pack = binpack->choose(*empty.node("gpu-b"), demand).score;
  const double busy_pack = binpack->choose(*busy.node("gpu-b"), demand).score;
  EXPECT_GT(busy_pack, empty_pack);
  EXPECT_GT(toNodeScore(busy_pack), toNodeScore(empty_pack));
  EXPECT_LT(spread->choose(*busy.node("gpu-b"), demand).score,
            spread->choose(*empty.node("gpu-b"), demand).score);
}

TEST(PlacementTest, HostBudgetsAreChecked) {
  LedgerState state;
  NodeCapacity capacity;
  capacity.name = "cpu-tight";
  capacity.cpu_milli = 2000;
  capacity.memory_mib = 4096;
  capacity.gpus.push_back(GpuCapacity{0, 100, 40960, 4});
  state.upsertNode(capacity);
  Demand demand = mps(10, 100);
  demand.cpu_milli = 4000;
  const NodeChoice choice = makeBinpackPolicy()->choose(*state.node("cpu-tight"), demand);
  EXPECT_FALSE(choice.fits);
  EXPECT_EQ(choice.reason, "cpu-tight: host CPU 4000m asked, 2000m free");
  demand.cpu_milli = 1000;
  demand.host_memory_mib = 8192;
  EXPECT_EQ(makeBinpackPolicy()->choose(*state.node("cpu-tight"), demand).reason,
            "cpu-tight: host memory 8192 MiB asked, 4096 MiB free");
}

// The ledger records pods placed outside mpshare even past a GPU's budget, so
// a node whose every GPU is far over budget still gets a reason, naming the
// least overcommitted GPU.
TEST(PlacementTest, TheReasonOnGpusFarOverBudgetNamesTheLeastOvercommitted) {
  LedgerState state = cluster(2, {});
  Demand whole;
  for (const auto& [uid, gpu] :
       std::vector<std::pair<std::string, int>>{{"a", 0}, {"b", 0}, {"c", 0}, {"d", 1}, {"e", 1}}) {
    ASSERT_TRUE(state.record(ReserveRequest{uid, uid, "gpu-b", {gpu}, whole}).ok());
  }
  for (const std::string name : {"fgd", "binpack", "spread"}) {
    const auto policy = makePolicy(name);
    ASSERT_TRUE(policy.ok());
    const NodeChoice choice = (*policy)->choose(*state.node("gpu-b"), mps(30, 4096));
    EXPECT_FALSE(choice.fits) << name;
    EXPECT_EQ(choice.reason,
              "gpu-b: no GPU fits 30% threads / 4096 MiB (best: GPU1 has -100% / -40960 MiB "
              "free)")
        << name;
  }
}

TEST(PlacementTest, ScoresMapToZeroToTen) {
  EXPECT_EQ(toNodeScore(0.0), 0);
  EXPECT_EQ(toNodeScore(0.44), 4);
  EXPECT_EQ(toNodeScore(0.46), 5);
  EXPECT_EQ(toNodeScore(1.0), 10);
  EXPECT_EQ(toNodeScore(3.0), 10);
  EXPECT_EQ(toNodeScore(-1.0), 0);
}

TEST(PlacementTest, UnknownPolicyListsTheKnownOnes) {
  auto policy = makePolicy("firstfit");
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error().describe(),
            "policy: \"firstfit\" is not a policy; known: fgd-plus-batch, fgd-plus, fgd, binpack, "
            "spread");
}

}  // namespace
}  // namespace mpshare::core
