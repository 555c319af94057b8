// Many threads racing to reserve on one GPU through the locked Ledger. Built a
// second time under ThreadSanitizer (core_ledger_concurrency_tsan_test).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/ledger.h"
#include "core/placement.h"

namespace mpshare::core {
namespace {

TEST(LedgerConcurrencyTest, RacingBindsNeverOvercommitOneGpu) {
  Ledger ledger;
  NodeCapacity capacity;
  capacity.name = "n";
  capacity.gpus.push_back(GpuCapacity{0, 100, 40960, 48});
  ledger.upsertNode(capacity);
  const auto policy = makeBinpackPolicy();

  constexpr int kThreads = 16;
  constexpr int kPodsPerThread = 25;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPodsPerThread; ++i) {
        Demand demand;
        demand.thread_percentage = 7;
        demand.memory_mib = 1000;
        // What bind does: choose and reserve under one lock.
        ledger.write([&](LedgerState& state) {
          const NodeChoice choice = policy->choose(*state.node("n"), demand);
          if (!choice.fits) {
            return;
          }
          ReserveRequest request{"t" + std::to_string(t) + "-" + std::to_string(i), "ml/x", "n",
                                 choice.gpu_indices, demand};
          if (state.reserve(request).ok()) {
            granted.fetch_add(1);
          }
        });
        // Readers run concurrently with writers and must never see a broken budget.
        // (GoogleTest's assertions are thread-safe where pthreads are.)
        ledger.read([](const LedgerState& state) { EXPECT_EQ(state.checkInvariant(), ""); });
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  // 100 / 7 = 14 pods fit by threads (memory would allow 40).
  EXPECT_EQ(granted.load(), 14);
  const LedgerSnapshot snapshot = ledger.snapshot();
  EXPECT_EQ(snapshot.nodes[0].gpus[0].reserved, (GpuUsage{98, 14000, 14}));
  EXPECT_EQ(snapshot.reservations.size(), 14u);
  ledger.read([](const LedgerState& state) { EXPECT_EQ(state.checkInvariant(), ""); });
}

TEST(LedgerConcurrencyTest, ReserveAndReleaseFromManyThreadsBalances) {
  Ledger ledger;
  NodeCapacity capacity;
  capacity.name = "n";
  capacity.gpus.push_back(GpuCapacity{0, 100, 40960, 48});
  ledger.upsertNode(capacity);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string uid = std::to_string(t) + "/" + std::to_string(i);
        Demand demand;
        demand.thread_percentage = 10;
        demand.memory_mib = 100;
        if (ledger.reserve(ReserveRequest{uid, uid, "n", {0}, demand}).ok()) {
          EXPECT_TRUE(ledger.release(uid));
        }
        ledger.read([](const LedgerState& state) { EXPECT_EQ(state.checkInvariant(), ""); });
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(ledger.snapshot().nodes[0].gpus[0].reserved, (GpuUsage{0, 0, 0}));
}

}  // namespace
}  // namespace mpshare::core
