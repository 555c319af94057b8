#include "core/inventory.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace mpshare::core {
namespace {

NodeView nodeWith(std::map<std::string, std::string> labels) {
  NodeView node;
  node.name = "gpu-a";
  node.labels = std::move(labels);
  return node;
}

TEST(InventoryTest, ManagedOnlyWhenSelectorMatches) {
  const InventoryConfig config;
  EXPECT_TRUE(isManagedNode(nodeWith({{"mpshare.io/mps", "enabled"}}), config));
  EXPECT_FALSE(isManagedNode(nodeWith({{"mpshare.io/mps", "disabled"}}), config));
  EXPECT_FALSE(isManagedNode(nodeWith({}), config));
}

struct CapacityCase {
  std::string name;
  std::map<std::string, std::string> labels;
  InventoryConfig config;
  int gpus;
  int threads;
  int64_t memory;
  int clients;
  std::string error;  // substring; empty = success
};

TEST(InventoryTest, CapacityFromLabels) {
  InventoryConfig oversubscribed;
  oversubscribed.thread_oversubscription = 1.5;
  InventoryConfig capped;
  capped.max_clients_per_gpu = 10;
  const std::vector<CapacityCase> cases = {
      {"h100 x8", {{"nvidia.com/gpu.count", "8"}, {"nvidia.com/gpu.memory", "81559"},
                   {"nvidia.com/gpu.replicas", "48"}}, {}, 8, 100, 81559, 48, ""},
      {"replicas above MPS limit are capped at 48", {{"nvidia.com/gpu.count", "1"},
          {"nvidia.com/gpu.memory", "100"}, {"nvidia.com/gpu.replicas", "64"}}, {}, 1, 100, 100, 48, ""},
      {"configured cap", {{"nvidia.com/gpu.count", "1"}, {"nvidia.com/gpu.memory", "100"},
                          {"nvidia.com/gpu.replicas", "48"}}, capped, 1, 100, 100, 10, ""},
      {"oversubscription", {{"nvidia.com/gpu.count", "2"}, {"nvidia.com/gpu.memory", "40960"},
                            {"nvidia.com/gpu.replicas", "4"}}, oversubscribed, 2, 150, 40960, 4, ""},
      {"no replicas label means one client", {{"nvidia.com/gpu.count", "2"},
          {"nvidia.com/gpu.memory", "40960"}}, {}, 2, 100, 40960, 1, ""},
      {"missing count", {{"nvidia.com/gpu.memory", "40960"}}, {}, 0, 0, 0, 0,
       "nvidia.com/gpu.count: label is missing"},
      {"missing memory", {{"nvidia.com/gpu.count", "2"}}, {}, 0, 0, 0, 0,
       "nvidia.com/gpu.memory: label is missing"},
      {"malformed memory", {{"nvidia.com/gpu.count", "2"}, {"nvidia.com/gpu.memory", "40GB"}}, {},
       0, 0, 0, 0, "nvidia.com/gpu.memory: \"40GB\" is not a positive whole number"},
      {"zero count", {{"nvidia.com/gpu.count", "0"}, {"nvidia.com/gpu.memory", "1"}}, {}, 0, 0, 0,
       0, "nvidia.com/gpu.count: \"0\""},
      {"huge count", {{"nvidia.com/gpu.count", "1000"}, {"nvidia.com/gpu.memory", "1"}}, {}, 0, 0,
       0, 0, "too large"},
      {"malformed replicas", {{"nvidia.com/gpu.count", "1"}, {"nvidia.com/gpu.memory", "1"},
                              {"nvidia.com/gpu.replicas", "-3"}}, {}, 0, 0, 0, 0,
       "nvidia.com/gpu.replicas: \"-3\""},
  };
  for (const CapacityCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto capacity = nodeCapacityFromLabels(nodeWith(c.labels), c.config);
    if (!c.error.empty()) {
      ASSERT_FALSE(capacity.ok());
      EXPECT_NE(capacity.error().describe().find(c.error), std::string::npos)
          << capacity.error().describe();
      continue;
    }
    ASSERT_TRUE(capacity.ok()) << capacity.error().describe();
    EXPECT_EQ(capacity->name, "gpu-a");
    ASSERT_EQ(static_cast<int>(capacity->gpus.size()), c.gpus);
    for (int i = 0; i < c.gpus; ++i) {
      EXPECT_EQ(capacity->gpus[static_cast<size_t>(i)],
                (GpuCapacity{i, c.threads, c.memory, c.clients}));
    }
  }
}

TEST(InventoryTest, ValidatesConfig) {
  InventoryConfig config;
  EXPECT_TRUE(validateInventoryConfig(config).ok());
  config.thread_oversubscription = 0.5;
  auto status = validateInventoryConfig(config);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().field, "threadOversubscription");
  config.thread_oversubscription = 1.0;
  config.max_clients_per_gpu = 49;
  status = validateInventoryConfig(config);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().field, "maxClientsPerGpu");
}

}  // namespace
}  // namespace mpshare::core
