#include "core/ledger.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace mpshare::core {
namespace {

NodeCapacity node(const std::string& name, int gpus, int64_t memory = 40960, int clients = 4) {
  NodeCapacity capacity;
  capacity.name = name;
  for (int i = 0; i < gpus; ++i) {
    capacity.gpus.push_back(GpuCapacity{i, 100, memory, clients});
  }
  return capacity;
}

ReserveRequest ask(const std::string& uid, const std::string& node_name, std::vector<int> gpus,
                   std::optional<int> threads, std::optional<int64_t> memory) {
  ReserveRequest request;
  request.uid = uid;
  request.pod_key = "ml/" + uid;
  request.node = node_name;
  request.gpu_indices = std::move(gpus);
  request.demand.gpus = static_cast<int>(request.gpu_indices.size());
  request.demand.thread_percentage = threads;
  request.demand.memory_mib = memory;
  return request;
}

struct Step {
  ReserveRequest request;
  std::optional<ErrorCode> error;  // nullopt = success
  std::string message;             // substring of the error
};

TEST(LedgerTest, ReserveChecksEveryBudget) {
  const std::vector<std::pair<std::string, std::vector<Step>>> scenarios = {
      {"memory",
       {{ask("a", "n", {0}, 10, 30000), {}, ""},
        {ask("b", "n", {0}, 10, 20000), ErrorCode::kConflict,
         "n: GPU0 no longer fits 10% threads / 20000 MiB (GPU0 has 90% / 10960 MiB / 3 clients "
         "free)"}}},
      {"threads",
       {{ask("a", "n", {0}, 60, 1000), {}, ""},
        {ask("b", "n", {0}, 50, 1000), ErrorCode::kConflict, "no longer fits"},
        {ask("c", "n", {0}, 40, 1000), {}, ""}}},
      {"clients",
       {{ask("a", "n", {0}, 1, 1), {}, ""},
        {ask("b", "n", {0}, 1, 1), {}, ""},
        {ask("c", "n", {0}, 1, 1), {}, ""},
        {ask("d", "n", {0}, 1, 1), {}, ""},
        {ask("e", "n", {0}, 1, 1), ErrorCode::kConflict, "0 clients free"}}},
      {"whole GPU takes all memory",
       {{ask("a", "n", {1}, std::nullopt, std::nullopt), {}, ""},
        {ask("b", "n", {1}, 1, 1), ErrorCode::kConflict, "GPU1"}}},
      {"unknown node", {{ask("a", "x", {0}, 1, 1), ErrorCode::kNotFound, "\"x\""}}},
      {"unknown GPU", {{ask("a", "n", {7}, 1, 1), ErrorCode::kNotFound, "has no GPU7"}}},
      {"GPU listed twice",
       {{ask("a", "n", {0, 0}, std::nullopt, std::nullopt), ErrorCode::kInvalidArgument,
         "listed twice"}}},
      {"multi-GPU",
       {{ask("a", "n", {0, 1}, std::nullopt, std::nullopt), {}, ""},
        {ask("b", "n", {1}, 1, 1), ErrorCode::kConflict, ""}}},
  };
  for (const auto& [name, steps] : scenarios) {
    SCOPED_TRACE(name);
    LedgerState ledger;
    ledger.upsertNode(node("n", 2));
    for (const Step& step : steps) {
      auto result = ledger.reserve(step.request);
      if (!step.error) {
        EXPECT_TRUE(result.ok()) << result.error().describe();
      } else {
        ASSERT_FALSE(result.ok()) << step.request.uid;
        EXPECT_EQ(result.error().code, *step.error);
        EXPECT_NE(result.error().describe().find(step.message), std::string::npos)
            << result.error().describe();
      }
      EXPECT_EQ(ledger.checkInvariant(), "");
    }
  }
}

TEST(LedgerTest, ReserveIsIdempotentPerUid) {
  LedgerState ledger;
  ledger.upsertNode(node("n", 1));
  ASSERT_TRUE(ledger.reserve(ask("a", "n", {0}, 30, 1000)).ok());
  auto again = ledger.reserve(ask("a", "n", {0}, 30, 1000));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ledger.node("n")->gpus[0].reserved, (GpuUsage{30, 1000, 1}));
  EXPECT_TRUE(ledger.release("a"));
  EXPECT_FALSE(ledger.release("a"));
  EXPECT_EQ(ledger.node("n")->gpus[0].reserved, (GpuUsage{0, 0, 0}));
  EXPECT_TRUE(ledger.node("n")->gpus[0].pods.empty());
}

TEST(LedgerTest, UnsettledStampsAreNewPerMarkAndARecordSettles) {
  LedgerState ledger;
  ledger.upsertNode(node("n", 1));
  ASSERT_TRUE(ledger.reserve(ask("p", "n", {0}, 60, 1024)).ok());
  const uint64_t first = ledger.setUnsettled("p", true);
  const uint64_t second = ledger.setUnsettled("p", true);
  EXPECT_NE(first, 0u);
  EXPECT_NE(second, first);  // a later failure is told from the one seen before
  EXPECT_EQ(ledger.reservation("p")->unsettled, second);
  EXPECT_EQ(ledger.node("n")->gpus[0].reserved.threads, 60);  // held, counted once
  // The pod seen placed: its record replaces the held share, settled.
  ASSERT_TRUE(ledger.record(ask("p", "n", {0}, 60, 1024)).ok());
  EXPECT_EQ(ledger.reservation("p")->unsettled, 0u);
  EXPECT_EQ(ledger.node("n")->gpus[0].reserved.threads, 60);
  EXPECT_EQ(ledger.setUnsettled("absent", true), 0u);
  EXPECT_EQ(ledger.setUnsettled("p", false), 0u);
}

TEST(LedgerTest, RecordAlwaysRecordsAndReportsOvercommit) {
  LedgerState ledger;
  ledger.upsertNode(node("n", 1));
  auto first = ledger.record(ask("a", "n", {0}, 80, 30000));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->overcommitted);
  auto second = ledger.record(ask("b", "n", {0}, 80, 30000));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->overcommitted);
  EXPECT_EQ(ledger.node("n")->gpus[0].reserved, (GpuUsage{160, 60000, 2}));
  EXPECT_EQ(ledger.checkInvariant(), "");  // overcommit is recorded, not hidden
  // A checked reserve still refuses while the GPU is over budget.
  EXPECT_FALSE(ledger.reserve(ask("c", "n", {0}, 1, 1)).ok());
  EXPECT_FALSE(ledger.record(ask("d", "gone", {0}, 1, 1)).ok());
}

TEST(LedgerTest, NodeRemovalAndShrinkLeaveNothingDangling) {
  LedgerState ledger;
  ledger.upsertNode(node("n", 2));
  ledger.upsertNode(node("m", 1));
  ASSERT_TRUE(ledger.reserve(ask("a", "n", {0}, 10, 100)).ok());
  ASSERT_TRUE(ledger.reserve(ask("b", "n", {1}, 10, 100)).ok());
  ASSERT_TRUE(ledger.reserve(ask("c", "m", {0}, 10, 100)).ok());
  // Shrink n to one GPU: b's GPU is gone, a is kept and re-counted.
  EXPECT_EQ(ledger.upsertNode(node("n", 1)), (std::vector<std::string>{"b"}));
  EXPECT_EQ(ledger.reservation("b"), nullptr);
  EXPECT_EQ(ledger.node("n")->gpus[0].reserved, (GpuUsage{10, 100, 1}));
  EXPECT_EQ(ledger.removeNode("m"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(ledger.reservation("c"), nullptr);
  EXPECT_EQ(ledger.node("m"), nullptr);
  EXPECT_EQ(ledger.reservations().size(), 1u);
}

TEST(LedgerTest, SnapshotIsIndependentOfHistory) {
  LedgerState one;
  LedgerState two;
  one.upsertNode(node("b", 1));
  one.upsertNode(node("a", 1));
  two.upsertNode(node("a", 1));
  two.upsertNode(node("b", 1));
  ASSERT_TRUE(one.reserve(ask("x", "a", {0}, 10, 10)).ok());
  ASSERT_TRUE(one.reserve(ask("y", "a", {0}, 10, 10)).ok());
  ASSERT_TRUE(two.reserve(ask("y", "a", {0}, 10, 10)).ok());
  ASSERT_TRUE(two.reserve(ask("x", "a", {0}, 10, 10)).ok());
  EXPECT_EQ(one.snapshot(), two.snapshot());
  EXPECT_EQ(one.snapshot().nodes.front().name(), "a");
  EXPECT_EQ(one.snapshot().nodes.front().gpus[0].pods, (std::vector<std::string>{"x", "y"}));
}

// Property: any sequence of reserves and releases keeps every GPU within budget,
// and releasing everything returns the ledger to empty. Seeded, so reproducible.
TEST(LedgerTest, RandomSequencesNeverBreakTheInvariant) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    LedgerState ledger;
    ledger.upsertNode(node("n0", 4, 40960, 6));
    ledger.upsertNode(node("n1", 2, 81559, 48));
    std::vector<std::string> live;
    for (int op = 0; op < 2000; ++op) {
      if (!live.empty() && rng() % 3 == 0) {
        const size_t victim = rng() % live.size();
        EXPECT_TRUE(ledger.release(live[victim]));
        live.erase(live.begin() + static_cast<long>(victim));
      } else {
        const bool first = rng() % 2 == 0;
        const int gpus = first ? 4 : 2;
        const std::string uid = "p" + std::to_string(op);
        ReserveRequest request;
        if (rng() % 10 == 0) {
          request = ask(uid, first ? "n0" : "n1", {static_cast<int>(rng() % gpus)}, std::nullopt,
                        std::nullopt);
        } else {
          request =
              ask(uid, first ? "n0" : "n1", {static_cast<int>(rng() % gpus)},
                  static_cast<int>(1 + rng() % 60), static_cast<int64_t>(256 + rng() % 30000));
        }
        if (ledger.reserve(request).ok()) {
          live.push_back(uid);
        }
      }
      ASSERT_EQ(ledger.checkInvariant(), "") << "after op " << op;
    }
    for (const std::string& uid : live) {
      EXPECT_TRUE(ledger.release(uid));
    }
    for (const auto& [name, state] : ledger.nodes()) {
      for (const GpuState& gpu : state.gpus) {
        EXPECT_EQ(gpu.reserved, (GpuUsage{0, 0, 0})) << name;
      }
    }
  }
}

}  // namespace
}  // namespace mpshare::core
