#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extender/simulate/report.h"
#include "extender/simulate/simulator.h"

namespace mpshare::extender {
namespace {

using testing::HasSubstr;

SimPod pod(int gpus, int milli, int64_t cpu = 1000) {
  SimPod p;
  p.name = "p";
  p.gpus = gpus;
  p.gpu_milli = gpus == 0 ? 0 : milli;
  p.cpu_milli = cpu;
  p.memory_mib = 1024;
  return p;
}

SimNode node(const std::string& name, int gpus, const std::string& model = "T4") {
  return SimNode{name, model, gpus, 16384, 48, 64000, 262144};
}

TEST(DemandOnGpu, SameShareOfThreadsAndMemory) {
  const struct {
    SimPod pod;
    int64_t gpu_mib;
    int gpus;
    std::optional<int> threads;
    std::optional<int64_t> memory;
  } cases[] = {
      {pod(1, 460), 16384, 1, 46, 7536},   // 0.46 x 16384 = 7536.6, rounded down
      {pod(1, 460), 32768, 1, 46, 15073},  // same share of a larger GPU
      {pod(1, 50), 16384, 1, 5, 819},
      {pod(1, 1000), 16384, 1, std::nullopt, std::nullopt},  // whole GPU
      {pod(8, 1000), 16384, 8, std::nullopt, std::nullopt},
      {pod(0, 0), 16384, 0, std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    const core::Demand d = demandOnGpu(c.pod, c.gpu_mib);
    EXPECT_EQ(d.gpus, c.gpus);
    EXPECT_EQ(d.thread_percentage, c.threads) << c.pod.gpu_milli;
    EXPECT_EQ(d.memory_mib, c.memory) << c.pod.gpu_milli;
    EXPECT_EQ(d.cpu_milli, 1000);
    EXPECT_EQ(d.host_memory_mib, 1024);
  }
  // Shares that sum to one GPU always fit together, despite rounding.
  EXPECT_LE(
      *demandOnGpu(pod(1, 300), 16384).memory_mib + *demandOnGpu(pod(1, 700), 16384).memory_mib,
      16384);
}

TEST(EqualSliceDemand, SliceOrWholeGpu) {
  // 4 slices: 25 % / 4096 MiB each.
  const core::Demand small = equalSliceDemand(pod(1, 100), 16384, 4);
  EXPECT_EQ(small.thread_percentage, 25);
  EXPECT_EQ(small.memory_mib, 4096);
  const core::Demand exact = equalSliceDemand(pod(1, 250), 16384, 4);
  EXPECT_EQ(exact.thread_percentage, 25);
  // Larger than a slice: only a whole GPU can hold it.
  const core::Demand large = equalSliceDemand(pod(1, 260), 16384, 4);
  EXPECT_TRUE(large.wholeGpu());
  EXPECT_EQ(large.gpus, 1);
  EXPECT_TRUE(equalSliceDemand(pod(2, 1000), 16384, 4).wholeGpu());
}

TEST(PodTypesOf, ByPodCount) {
  const std::vector<SimPod> pods{pod(1, 500), pod(1, 500), pod(1, 500), pod(2, 1000), pod(0, 0)};
  const auto by_count = podTypesOf(pods, TypeWeight::kPodCount);
  ASSERT_EQ(by_count.size(), 2u);  // the host-only pod is no GPU shape
  EXPECT_EQ(by_count[0].gpus, 1);
  EXPECT_DOUBLE_EQ(by_count[0].share, 0.5);
  EXPECT_DOUBLE_EQ(by_count[0].weight, 3.0 / 4.0);
  EXPECT_EQ(by_count[1].gpus, 2);
  EXPECT_DOUBLE_EQ(by_count[1].weight, 1.0 / 4.0);
}

TEST(PodTypesOf, TypicalPodsAsThePaperKeepsThem) {
  // 20 pods: 18 of half a GPU, one host-only (4000m CPU), one of two GPUs
  // (1000m). The most popular shapes are kept until they cover 95 % (19 pods):
  // the half-GPU shape, then of the two single pods the one asking more CPU.
  std::vector<SimPod> pods(18, pod(1, 500));
  SimPod host_only = pod(0, 0, 4000);
  host_only.memory_mib = 65536;
  pods.push_back(host_only);
  pods.push_back(pod(2, 1000));
  const auto typical = podTypesOf(pods, TypeWeight::kTypical);
  ASSERT_EQ(typical.size(), 2u);
  EXPECT_EQ(typical[0].gpus, 1);
  EXPECT_DOUBLE_EQ(typical[0].share, 0.5);
  EXPECT_DOUBLE_EQ(typical[0].weight, 18.0 / 19.0);
  EXPECT_EQ(typical[0].host_memory_mib, 0);  // the paper's shapes carry no host memory
  EXPECT_EQ(typical[1].gpus, 0);
  EXPECT_EQ(typical[1].cpu_milli, 4000);
  EXPECT_DOUBLE_EQ(typical[1].weight, 1.0 / 19.0);
  // With 20 more half-GPU pods (38 of 40) that shape alone covers 95 %.
  pods.insert(pods.end(), 20, pod(1, 500));
  EXPECT_EQ(podTypesOf(pods, TypeWeight::kTypical).size(), 1u);
}

TEST(PodTypesOf, ShapesCarryHostResourcesAndModels) {
  SimPod big = pod(1, 500, 8000);
  big.memory_mib = 65536;
  SimPod a10 = pod(1, 500);
  a10.models = {"A10"};
  const auto types = podTypesOf({pod(1, 500), big, a10}, TypeWeight::kPodCount);
  ASSERT_EQ(types.size(), 3u);  // same share, three shapes
  bool saw_big = false;
  bool saw_a10 = false;
  for (const core::PodType& t : types) {
    if (t.cpu_milli == 8000) {
      saw_big = true;
      EXPECT_EQ(t.host_memory_mib, 65536);
    }
    if (t.products == std::vector<std::string>{"A10"}) {
      saw_a10 = true;
      EXPECT_EQ(t.host_memory_mib, 1024);
    }
  }
  EXPECT_TRUE(saw_big && saw_a10);
}

TEST(Simulate, FgdDoesNotStrandAGpuBehindHostCpu) {
  // The typical GPU pod (a whole GPU with 48 cores) fits either node. A host-only
  // pod of 32 cores arriving first would leave "small" (64 cores) 32 and strand
  // its GPU; on "large" (128 cores) it leaves room. FGD sees the host CPU in the
  // pod shape, so both GPU pods fit afterwards, whichever node comes first.
  const std::vector<SimNode> nodes{SimNode{"small", "T4", 1, 16384, 48, 64000, 262144},
                                   SimNode{"large", "T4", 1, 16384, 48, 128000, 262144}};
  const SimPod host_only = pod(0, 0, 32000);
  const SimPod typical = pod(1, 1000, 48000);
  SimulationOptions options;
  options.policy = "fgd";
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    options.seed = seed;
    // Arrival and node order are shuffled; runs where the host-only pod comes
    // first test the choice (a third of them), and every order must end with
    // both GPUs used.
    auto result = simulate(nodes, {host_only, typical, typical}, options);
    ASSERT_TRUE(result.ok()) << result.error().describe();
    EXPECT_EQ(result->final_point.failed_pods, 0) << "seed " << seed;
    EXPECT_DOUBLE_EQ(result->final_point.allocated_gpus, 2.0);
  }
}

TEST(Simulate, ReportsThePapersFragmentation) {
  // One 1-GPU node; pods 0.6 (x1) and 0.1 (x3) all fit in any order, leaving 0.1
  // free: a fragment for the 0.6 shape, usable by the 0.1 shape. The paper weighs
  // shapes by popularity (pod count): 1/4 x 0.1 = 0.025 GPU. (GPU-capacity
  // weights, 0.6 : 0.3, would give 2/3 x 0.1.)
  SimulationOptions options;
  options.policy = "fgd";
  auto result =
      simulate({node("a", 1)}, {pod(1, 600), pod(1, 100), pod(1, 100), pod(1, 100)}, options);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(result->final_point.failed_pods, 0);
  EXPECT_NEAR(result->final_point.fragmented_gpus, 0.025, 1e-9);
}

TEST(Simulate, HonoursModelsHostResourcesAndSlices) {
  const std::vector<SimNode> nodes{node("t4", 1, "T4"), node("a10", 1, "A10")};
  SimPod needs_a10 = pod(1, 1000);
  needs_a10.models = {"A10"};
  SimPod huge_cpu = pod(1, 100, 100000);  // more CPU than any node
  SimPod host_hog = pod(0, 0, 100000);
  SimulationOptions options;
  options.policy = "binpack";
  auto result = simulate(nodes, {needs_a10, needs_a10, huge_cpu, pod(2, 1000), host_hog}, options);
  ASSERT_TRUE(result.ok()) << result.error().describe();
  // The second A10 pod, the CPU hogs and the 2-GPU pod (no node has 2 GPUs) fail,
  // each counted by what it asked.
  EXPECT_EQ(result->final_point.failed_pods, 4);
  EXPECT_EQ(result->final_point.failed_whole_gpu_pods, 1);
  EXPECT_EQ(result->final_point.failed_sharing_pods, 1);
  EXPECT_EQ(result->final_point.failed_multi_gpu_pods, 1);
  EXPECT_EQ(result->final_point.failed_host_only_pods, 1);
  EXPECT_DOUBLE_EQ(result->final_point.allocated_gpus, 1.0);

  // Equal slices of 1/2 on two GPUs (4 slices): each 0.3 pod takes a slice, the
  // 0.6 pod is larger than a slice and needs a whole GPU, so in any order one fails.
  options.policy = "equal-slices";
  options.slices = 2;
  auto sliced = simulate({node("a", 1), node("b", 1)},
                         {pod(1, 300), pod(1, 300), pod(1, 300), pod(1, 600)}, options);
  ASSERT_TRUE(sliced.ok()) << sliced.error().describe();
  EXPECT_EQ(sliced->final_point.failed_pods, 1);
  EXPECT_EQ(sliced->policy, "equal-slices 2");
}

TEST(Simulate, InflateReachesTheTargetAndIsReproducible) {
  const std::vector<SimNode> nodes{node("a", 2), node("b", 2)};
  const std::vector<SimPod> pods{pod(1, 200), pod(1, 700), pod(1, 1000), pod(0, 0)};
  SimulationOptions options;
  options.policy = "spread";
  options.inflate = true;
  options.target = 1.5;
  options.seed = 7;
  auto first = simulate(nodes, pods, options);
  auto second = simulate(nodes, pods, options);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_GE(first->final_point.arrived_share, 1.5);
  EXPECT_LE(first->final_point.allocated_share, 1.0);
  EXPECT_EQ(formatReport(*first, ReportFormat::kCsv), formatReport(*second, ReportFormat::kCsv));
  EXPECT_GE(first->at_capacity.arrived_share, 1.0);
}

// Runs `want` and `got` over a small cluster of three models and pods of every
// size, for seeds 1..`seeds`, and expects the same series, sample by sample.
void expectSamePlacements(SimulationOptions want, SimulationOptions got, uint64_t seeds) {
  const std::vector<SimNode> nodes{node("a", 2), node("b", 4, "G2"), node("c", 1, "P100")};
  const std::vector<SimPod> pods{pod(1, 300),     pod(1, 500), pod(1, 1000), pod(2, 1000),
                                 pod(0, 0, 8000), pod(1, 810), pod(1, 190),  pod(1, 470)};
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    want.seed = got.seed = seed;
    auto a = simulate(nodes, pods, want);
    auto b = simulate(nodes, pods, got);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(a->series.size(), b->series.size());
    for (size_t i = 0; i < a->series.size(); ++i) {
      EXPECT_DOUBLE_EQ(a->series[i].allocated_gpus, b->series[i].allocated_gpus) << seed;
      EXPECT_DOUBLE_EQ(a->series[i].fragmented_gpus, b->series[i].fragmented_gpus) << seed;
      EXPECT_EQ(a->series[i].failed_pods, b->series[i].failed_pods) << seed;
    }
  }
}

TEST(Simulate, FgdPlusIsFgdWhenNoPodIsBoundToAModel) {
  // No pod lists GPU models, so no model is scarce and fgd-plus places every pod
  // where fgd does.
  SimulationOptions fgd;
  fgd.policy = "fgd";
  fgd.inflate = true;
  SimulationOptions plus = fgd;
  plus.policy = "fgd-plus";
  expectSamePlacements(fgd, plus, 5);
}

TEST(Simulate, FgdPlusBatchOfOneIsFgdPlus) {
  // A batch of one has one order to try, so every pod goes where fgd-plus puts it.
  SimulationOptions plus;
  plus.policy = "fgd-plus";
  plus.inflate = true;
  SimulationOptions batch = plus;
  batch.policy = "fgd-plus-batch";
  batch.batch.size = 1;
  expectSamePlacements(plus, batch, 3);
}

TEST(Simulate, FgdPlusBatchSamplesSeeEveryArrivedPodPlacedOrFailed) {
  // Batches end where a sample is due, so no arrived pod is still waiting when
  // the allocation is measured: arrived = allocated + failed at every sample.
  // 400 GPUs: a sample every 4 GPUs of arrivals, several pods apart.
  std::vector<SimNode> nodes;
  for (int i = 0; i < 50; ++i) {
    nodes.push_back(node("n" + std::to_string(i), 8, i % 2 == 0 ? "T4" : "G2"));
  }
  const std::vector<SimPod> pods{pod(1, 300), pod(1, 500), pod(1, 1000), pod(2, 1000),
                                 pod(1, 810), pod(1, 190), pod(1, 470),  pod(4, 1000)};
  SimulationOptions options;
  options.policy = "fgd-plus-batch";
  options.inflate = true;
  auto result = simulate(nodes, pods, options);
  ASSERT_TRUE(result.ok());
  EXPECT_GT(result->final_point.failed_pods, 0);
  for (const SamplePoint& p : result->series) {
    EXPECT_NEAR(p.arrived_gpus, p.allocated_gpus + p.failed_gpus, 1e-9) << p.arrived_share;
  }
}

TEST(Simulate, ClearErrors) {
  SimulationOptions options;
  options.policy = "tetris";
  EXPECT_THAT(simulate({node("a", 1)}, {pod(1, 500)}, options).error().describe(),
              HasSubstr("known: binpack, spread, fgd, fgd-plus, fgd-plus-batch, equal-slices N"));
  options.policy = "fgd";
  EXPECT_THAT(simulate({node("a", 0)}, {pod(1, 500)}, options).error().describe(),
              HasSubstr("no node has a GPU"));
  EXPECT_THAT(simulate({node("a", 1)}, {}, options).error().describe(), HasSubstr("empty"));
  options.policy = "equal-slices";
  options.slices = 0;
  EXPECT_THAT(simulate({node("a", 1)}, {pod(1, 500)}, options).error().describe(),
              HasSubstr("N in 1..48"));
}

TEST(Report, FormatsAreParseable) {
  SimulationOptions options;
  auto result = simulate({node("a", 1)}, {pod(1, 500)}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(formatReport(*result, ReportFormat::kJson), HasSubstr("\"at_capacity\""));
  EXPECT_THAT(formatReport(*result, ReportFormat::kJson), HasSubstr("\"failed_by_ask\""));
  EXPECT_THAT(formatReport(*result, ReportFormat::kCsv),
              testing::StartsWith("policy,seed,arrived_share"));
  EXPECT_THAT(formatReport(*result, ReportFormat::kText), HasSubstr("allocated 0.5 of 1 GPUs"));
  EXPECT_THAT(parseReportFormat("xml").error().describe(), HasSubstr("known: text, json, csv"));
}

}  // namespace
}  // namespace mpshare::extender
