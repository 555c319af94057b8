// Cost of one placement decision of fgd and fgd-plus at cluster scale: a pod
// scored on every node of 1,000 nodes x 8 GPUs (what the extender's filter +
// prioritize do per scheduling cycle), the nodes half full with a mix of the
// trace's pods. The typical pods are those of the gpuspec33 list (57 shapes,
// some bound to GPU models), the nodes G2, a model some of them are bound to:
// fgd-plus charges on every node, its slowest case. BM_FgdPlusBatch_Plan16 is
// what fgd-plus-batch adds for a batch of 16 such pods: trying its 4 orders
// (core/batch_placement.h), with each pod's answers on the unchanged nodes
// remembered from its own filter + prioritize, as the simulator does.
//
//   build/bench/packing_policy_benchmark

#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/batch_placement.h"
#include "core/fgd_plus_policy.h"
#include "core/fgd_policy.h"
#include "core/ledger.h"
#include "extender/simulate/simulator.h"
#include "extender/simulate/trace.h"

namespace mpshare {
namespace {

constexpr int64_t kGpuMiB = 32768;

struct Fixture {
  core::LedgerState ledger;
  std::vector<const core::NodeState*> nodes;
  std::vector<core::PodType> types;
  std::vector<extender::SimPod> pods;
};

// `count` G2-like nodes (96 cores, 8 GPUs), about half full with trace pods.
const Fixture& fixture(int count) {
  static std::map<int, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[count];
  if (slot) {
    return *slot;
  }
  slot = std::make_unique<Fixture>();
  Fixture& f = *slot;
  auto pods = extender::loadPods(std::string(MPSHARE_TRACE_DIR) + "/openb_pod_list_gpuspec33.csv");
  if (!pods) {
    std::abort();
  }
  f.pods = *pods;
  f.types = extender::podTypesOf(f.pods, extender::TypeWeight::kTypical);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<size_t> pick(0, f.pods.size() - 1);
  for (int n = 0; n < count; ++n) {
    core::NodeCapacity capacity;
    capacity.name = "node-" + std::to_string(n);
    capacity.gpu_product = "G2";
    capacity.cpu_milli = 96000;
    capacity.memory_mib = 786432;
    for (int g = 0; g < 8; ++g) {
      capacity.gpus.push_back(core::GpuCapacity{g, 100, kGpuMiB, 48});
    }
    (void)f.ledger.upsertNode(capacity);
    // Single-GPU pods on GPUs 0..3 until they are about full.
    for (int g = 0; g < 4; ++g) {
      for (int tries = 0; tries < 4; ++tries) {
        const extender::SimPod& p = f.pods[pick(rng)];
        if (p.gpus != 1) {
          continue;
        }
        core::ReserveRequest r;
        r.uid = capacity.name + "-" + std::to_string(g) + "-" + std::to_string(tries);
        r.pod_key = "ns/" + r.uid;
        r.node = capacity.name;
        r.gpu_indices = {g};
        r.demand = extender::demandOnGpu(p, kGpuMiB);
        (void)f.ledger.reserve(r);  // a pod that no longer fits is skipped
      }
    }
    f.nodes.push_back(f.ledger.node(capacity.name));
  }
  return f;
}

core::Demand sharingPod() {
  extender::SimPod p;
  p.gpus = 1;
  p.gpu_milli = 470;
  p.cpu_milli = 8000;
  p.memory_mib = 30517;
  return extender::demandOnGpu(p, kGpuMiB);
}

core::Demand wholeGpuPod() {
  extender::SimPod p;
  p.gpus = 1;
  p.gpu_milli = 1000;
  p.cpu_milli = 11300;
  p.memory_mib = 37888;
  return extender::demandOnGpu(p, kGpuMiB);
}

void scoreEveryNode(benchmark::State& state, const core::PlacementPolicy& policy,
                    const core::Demand& demand) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    double best = -1.0;
    for (const core::NodeState* node : f.nodes) {
      const core::NodeChoice choice = policy.choose(*node, demand);
      if (choice.fits && choice.score > best) {
        best = choice.score;
      }
    }
    benchmark::DoNotOptimize(best);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.nodes.size()));
}

void BM_Fgd_SharingPod(benchmark::State& state) {
  const auto policy = core::makeFgdPolicy(fixture(static_cast<int>(state.range(0))).types);
  scoreEveryNode(state, *policy, sharingPod());
}

void BM_FgdPlus_SharingPod(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)));
  const auto policy =
      core::makeFgdPlusPolicy(f.types, {{"G2", 8 * static_cast<int>(state.range(0))}},
                              extender::SimulationOptions{}.fgd_plus);
  scoreEveryNode(state, *policy, sharingPod());
}

void BM_Fgd_WholeGpuPod(benchmark::State& state) {
  const auto policy = core::makeFgdPolicy(fixture(static_cast<int>(state.range(0))).types);
  scoreEveryNode(state, *policy, wholeGpuPod());
}

void BM_FgdPlus_WholeGpuPod(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)));
  const auto policy =
      core::makeFgdPlusPolicy(f.types, {{"G2", 8 * static_cast<int>(state.range(0))}},
                              extender::SimulationOptions{}.fgd_plus);
  scoreEveryNode(state, *policy, wholeGpuPod());
}

void BM_FgdPlusBatch_Plan16(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<int>(state.range(0)));
  const auto policy =
      core::makeFgdPlusPolicy(f.types, {{"G2", 8 * static_cast<int>(state.range(0))}},
                              extender::SimulationOptions{}.fgd_plus);
  const auto measure = extender::podTypesOf(f.pods, extender::TypeWeight::kPodCount);
  // 16 GPU pods of the trace and each one's answer on every node.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<size_t> pick(0, f.pods.size() - 1);
  std::vector<core::Demand> batch;
  std::vector<double> asks;
  while (batch.size() < 16) {
    const extender::SimPod& p = f.pods[pick(rng)];
    if (p.gpus == 1) {
      batch.push_back(extender::demandOnGpu(p, kGpuMiB));
      asks.push_back(p.gpuShare());
    }
  }
  std::vector<std::vector<core::NodeChoice>> answers(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    for (const core::NodeState* node : f.nodes) {
      answers[i].push_back(policy->choose(*node, batch[i]));
    }
  }
  core::BatchCluster cluster;
  cluster.pick = [&](size_t i, std::span<const core::ChangedNode> changed) {
    std::optional<core::BatchPick> best;
    double best_score = -1.0;
    for (size_t id = 0; id < f.nodes.size(); ++id) {
      const auto it = std::find_if(changed.begin(), changed.end(), [&](const core::ChangedNode& c) {
        return c.id == static_cast<int>(id);
      });
      const core::NodeChoice choice =
          it == changed.end() ? answers[i][id] : policy->choose(it->state, batch[i]);
      if (choice.fits && choice.score > best_score) {
        best_score = choice.score;
        best = core::BatchPick{static_cast<int>(id), choice.gpu_indices, batch[i]};
      }
    }
    return best;
  };
  cluster.node = [&](int id) -> const core::NodeState& {
    return *f.nodes[static_cast<size_t>(id)];
  };
  cluster.ask = [&](size_t i) { return asks[i]; };
  const core::BatchOptions options;
  for (auto _ : state) {
    std::mt19937_64 order_rng(42);
    benchmark::DoNotOptimize(
        core::bestOrder(cluster, core::batchOrders(asks, options.orders, order_rng), measure));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}

BENCHMARK(BM_Fgd_SharingPod)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FgdPlus_SharingPod)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Fgd_WholeGpuPod)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FgdPlus_WholeGpuPod)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FgdPlusBatch_Plan16)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mpshare

BENCHMARK_MAIN();
