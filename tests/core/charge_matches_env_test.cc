// The extender charges a pod what the webhook makes MPS enforce on it. If the two
// ever read annotations or defaults differently, the ledger drifts from the GPU:
// a pod capped at 8 GiB by its env would be booked for the whole GPU, or worse,
// the other way round. This walks every combination of present/absent
// annotations and configured defaults through both and compares.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/demand.h"
#include "core/mutation.h"

namespace mpshare::core {
namespace {

PodView gpuPod(std::map<std::string, std::string> annotations) {
  PodView pod;
  pod.name = "p";
  pod.namespace_name = "ml";
  pod.uid = "u1";
  pod.annotations = std::move(annotations);
  pod.has_annotations = !pod.annotations.empty();
  ContainerView container;
  container.name = "main";
  container.limits = {{"nvidia.com/gpu", "1"}};
  pod.containers.push_back(container);
  return pod;
}

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
