#include "core/demand.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/mutation.h"

namespace mpshare::core {
namespace {

PodView gpuPod(std::map<std::string, std::string> annotations, std::string gpus = "1") {
  PodView pod;
  pod.name = "p";
  pod.namespace_name = "ml";
  pod.uid = "u1";
  pod.annotations = std::move(annotations);
  pod.has_annotations = !pod.annotations.empty();
  ContainerView container;
  container.name = "main";
  container.limits = {{"nvidia.com/gpu", gpus}};
  container.requests = {{"cpu", "1500m"}, {"memory", "2Gi"}};
  pod.containers.push_back(container);
  return pod;
}

struct DemandCase {
  std::string name;
  PodView pod;
  DemandRules rules;
  std::optional<Demand> want;
  std::string error;
};

Demand make(int gpus, std::optional<int> threads, std::optional<int64_t> memory) {
  Demand d;
  d.gpus = gpus;
  d.thread_percentage = threads;
  d.memory_mib = memory;
  return d;
}

TEST(DemandTest, FromAnnotations) {
  DemandRules defaults;
  defaults.defaults = {25, 8192};
  DemandRules host;
  host.track_host_resources = true;
  Demand with_host = make(1, 30, 4096);
  with_host.cpu_milli = 1500;
  with_host.host_memory_mib = 2048;
  PodView cpu_only = gpuPod({});
  cpu_only.containers[0].limits.clear();
  const std::vector<DemandCase> cases = {
      {"both annotations",
       gpuPod({{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "4Gi"}}),
       {},
       make(1, 30, 4096),
       ""},
      {"no annotations = whole GPU", gpuPod({}), {}, make(1, std::nullopt, std::nullopt), ""},
      {"defaults fill unannotated pods", gpuPod({}), defaults, make(1, 25, 8192), ""},
      {"only threads: memory from its default, as the webhook injects it",
       gpuPod({{"mpshare.io/thread-percentage", "30"}}), defaults, make(1, 30, 8192), ""},
      {"only memory: threads from its default", gpuPod({{"mpshare.io/memory-limit", "2Gi"}}),
       defaults, make(1, 25, 2048), ""},
      {"only threads, no defaults: memory whole",
       gpuPod({{"mpshare.io/thread-percentage", "30"}}),
       {},
       make(1, 30, std::nullopt),
       ""},
      {"only memory: threads whole",
       gpuPod({{"mpshare.io/memory-limit", "1Gi"}}),
       {},
       make(1, std::nullopt, 1024),
       ""},
      {"several GPUs = whole GPUs", gpuPod({}, "4"), defaults, make(4, std::nullopt, std::nullopt),
       ""},
      {"not a GPU pod", cpu_only, {}, std::nullopt, ""},
      {"host resources tracked",
       gpuPod({{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "4Gi"}}), host,
       with_host, ""},
      {"bad annotation names the key",
       gpuPod({{"mpshare.io/thread-percentage", "150"}}),
       {},
       std::nullopt,
       "mpshare.io/thread-percentage"},
      {"annotated multi-GPU pod",
       gpuPod({{"mpshare.io/thread-percentage", "30"}}, "2"),
       {},
       std::nullopt,
       "exactly"},
  };
  for (const DemandCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto demand = demandOf(c.pod, c.rules);
    if (!c.error.empty()) {
      ASSERT_FALSE(demand.ok());
      EXPECT_NE(demand.error().describe().find(c.error), std::string::npos)
          << demand.error().describe();
      continue;
    }
    ASSERT_TRUE(demand.ok()) << demand.error().describe();
    EXPECT_EQ(*demand, c.want);
  }
}

TEST(DemandTest, ResolvesWholeDimensionsAgainstTheGpu) {
  const GpuCapacity gpu{0, 150, 40960, 4};
  EXPECT_EQ(resolveOn(make(1, 30, std::nullopt), gpu), (GpuDemand{30, 40960, 1}));
  EXPECT_EQ(resolveOn(make(1, std::nullopt, std::nullopt), gpu), (GpuDemand{100, 40960, 1}));
  EXPECT_EQ(resolveOn(make(1, 10, 512), gpu), (GpuDemand{10, 512, 1}));
}

TEST(DemandTest, Describes) {
  EXPECT_EQ(make(1, 30, 46080).describe(), "30% threads / 46080 MiB");
  EXPECT_EQ(make(1, std::nullopt, std::nullopt).describe(), "a whole GPU");
  EXPECT_EQ(make(2, std::nullopt, std::nullopt).describe(), "2 whole GPUs");
  EXPECT_EQ(make(1, 30, std::nullopt).describe(), "30% threads / all GPU memory");
}

TEST(DemandTest, ParsesCpu) {
  const std::vector<std::pair<std::string, int64_t>> good = {
      {"500m", 500}, {"2", 2000}, {"1.5", 1500}, {"0", 0}};
  for (const auto& [text, want] : good) {
    auto milli = parseCpuMilli(text);
    ASSERT_TRUE(milli.ok()) << text;
    EXPECT_EQ(*milli, want) << text;
  }
  for (const std::string text : {"abc", "-1", "1.5m", ""}) {
    EXPECT_FALSE(parseCpuMilli(text).ok()) << text;
  }
}

// The extender charges a pod what the webhook makes MPS enforce on it. If the two
// ever read annotations or defaults differently, the ledger drifts from the GPU
// (a pod capped at 8 GiB by its env booked for the whole GPU, or the reverse), so
// every combination of present/absent annotations and defaults goes through both.
TEST(ChargeMatchesEnvTest, EveryAnnotationAndDefaultCombination) {
  const std::vector<std::optional<std::string>> thread_annotations = {std::nullopt, "30"};
  const std::vector<std::optional<std::string>> memory_annotations = {std::nullopt, "4Gi"};
  const std::vector<std::optional<int>> thread_defaults = {std::nullopt, 50};
  const std::vector<std::optional<int64_t>> memory_defaults = {std::nullopt, 8192};
  int combinations = 0;
  for (const auto& threads : thread_annotations) {
    for (const auto& memory : memory_annotations) {
      for (const auto& default_threads : thread_defaults) {
        for (const auto& default_memory : memory_defaults) {
          std::map<std::string, std::string> annotations;
          if (threads) annotations[std::string(kThreadPercentageAnnotation)] = *threads;
          if (memory) annotations[std::string(kMemoryLimitAnnotation)] = *memory;
          const PodView pod = gpuPod(annotations);
          SCOPED_TRACE(testing::Message()
                       << "threads=" << threads.value_or("-") << " memory=" << memory.value_or("-")
                       << " default threads=" << default_threads.value_or(0)
                       << " default memory=" << default_memory.value_or(0));

          WebhookRules webhook;
          webhook.daemon.inject = false;
          webhook.default_thread_percentage = default_threads;
          webhook.default_memory_limit_mib = default_memory;
          const Decision decision = decideAdmission(pod, {}, Operation::kCreate, webhook);
          ASSERT_TRUE(decision.allowed) << decision.message;

          DemandRules extender;
          extender.defaults = {default_threads, default_memory};
          auto demand = demandOf(pod, extender);
          ASSERT_TRUE(demand.ok()) << demand.error().describe();
          ASSERT_TRUE(demand->has_value());

          EXPECT_EQ((*demand)->thread_percentage, decision.limits.thread_percentage);
          EXPECT_EQ((*demand)->memory_mib, decision.limits.memory_limit_mib);
          ++combinations;
        }
      }
    }
  }
  EXPECT_EQ(combinations, 16);
}

}  // namespace
}  // namespace mpshare::core
