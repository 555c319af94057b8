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
      {"h100 x8",
       {{"nvidia.com/gpu.count", "8"},
        {"nvidia.com/gpu.memory", "81559"},
        {"nvidia.com/gpu.replicas", "48"}},
       {},
       8,
       100,
       81559,
       48,
       ""},
      {"replicas above MPS limit are capped at 48",
       {{"nvidia.com/gpu.count", "1"},
        {"nvidia.com/gpu.memory", "100"},
        {"nvidia.com/gpu.replicas", "64"}},
       {},
       1,
       100,
       100,
       48,
       ""},
      {"configured cap",
       {{"nvidia.com/gpu.count", "1"},
        {"nvidia.com/gpu.memory", "100"},
        {"nvidia.com/gpu.replicas", "48"}},
       capped,
       1,
       100,
       100,
       10,
       ""},
      {"oversubscription",
       {{"nvidia.com/gpu.count", "2"},
        {"nvidia.com/gpu.memory", "40960"},
        {"nvidia.com/gpu.replicas", "4"}},
       oversubscribed,
       2,
       150,
       40960,
       4,
       ""},
      {"no replicas label means one client",
       {{"nvidia.com/gpu.count", "2"}, {"nvidia.com/gpu.memory", "40960"}},
       {},
       2,
       100,
       40960,
       1,
       ""},
      {"missing count",
       {{"nvidia.com/gpu.memory", "40960"}},
       {},
       0,
       0,
       0,
       0,
       "mpshare.io/gpu.count: label is missing, and so is nvidia.com/gpu.count"},
      {"missing memory",
       {{"nvidia.com/gpu.count", "2"}},
       {},
       0,
       0,
       0,
       0,
       "mpshare.io/gpu.memory: label is missing, and so is nvidia.com/gpu.memory"},
      {"malformed memory",
       {{"nvidia.com/gpu.count", "2"}, {"nvidia.com/gpu.memory", "40GB"}},
       {},
       0,
       0,
       0,
       0,
       "nvidia.com/gpu.memory: \"40GB\" is not a positive whole number"},
      {"zero count",
       {{"nvidia.com/gpu.count", "0"}, {"nvidia.com/gpu.memory", "1"}},
       {},
       0,
       0,
       0,
       0,
       "nvidia.com/gpu.count: \"0\""},
      {"huge count",
       {{"nvidia.com/gpu.count", "1000"}, {"nvidia.com/gpu.memory", "1"}},
       {},
       0,
       0,
       0,
       0,
       "too large"},
      {"malformed replicas",
       {{"nvidia.com/gpu.count", "1"},
        {"nvidia.com/gpu.memory", "1"},
        {"nvidia.com/gpu.replicas", "-3"}},
       {},
       0,
       0,
       0,
       0,
       "nvidia.com/gpu.replicas: \"-3\""},
      // mpshare-node's labels, read before GFD's, each one on its own.
      {"agent labels only",
       {{"mpshare.io/gpu.count", "2"},
        {"mpshare.io/gpu.memory", "81559"},
        {"mpshare.io/gpu.clients", "8"}},
       {},
       2,
       100,
       81559,
       8,
       ""},
      {"agent labels win over GFD",
       {{"mpshare.io/gpu.count", "1"},
        {"mpshare.io/gpu.memory", "1000"},
        {"mpshare.io/gpu.clients", "4"},
        {"nvidia.com/gpu.count", "8"},
        {"nvidia.com/gpu.memory", "81559"},
        {"nvidia.com/gpu.replicas", "48"}},
       {},
       1,
       100,
       1000,
       4,
       ""},
      {"GFD fills what the agent lacks",
       {{"mpshare.io/gpu.count", "2"},
        {"nvidia.com/gpu.memory", "40960"},
        {"nvidia.com/gpu.replicas", "6"}},
       {},
       2,
       100,
       40960,
       6,
       ""},
      {"agent clients capped like replicas",
       {{"mpshare.io/gpu.count", "1"},
        {"mpshare.io/gpu.memory", "100"},
        {"mpshare.io/gpu.clients", "48"}},
       capped,
       1,
       100,
       100,
       10,
       ""},
      {"agent without clients means one client",
       {{"mpshare.io/gpu.count", "1"}, {"mpshare.io/gpu.memory", "100"}},
       {},
       1,
       100,
       100,
       1,
       ""},
      {"malformed agent memory is not masked by GFD",
       {{"mpshare.io/gpu.count", "2"},
        {"mpshare.io/gpu.memory", "80GiB"},
        {"nvidia.com/gpu.count", "2"},
        {"nvidia.com/gpu.memory", "81559"}},
       {},
       0,
       0,
       0,
       0,
       "mpshare.io/gpu.memory: \"80GiB\" is not a positive whole number (e.g. \"81559\")"},
      {"malformed agent count",
       {{"mpshare.io/gpu.count", "two"},
        {"nvidia.com/gpu.count", "2"},
        {"nvidia.com/gpu.memory", "1"}},
       {},
       0,
       0,
       0,
       0,
       "mpshare.io/gpu.count: \"two\""},
      {"agent count zero (no usable GPU)",
       {{"mpshare.io/gpu.count", "0"}, {"mpshare.io/gpu.clients", "8"}},
       {},
       0,
       0,
       0,
       0,
       "mpshare.io/gpu.count: \"0\" is not a positive whole number"},
      {"huge agent count",
       {{"mpshare.io/gpu.count", "65"}, {"mpshare.io/gpu.memory", "1"}},
       {},
       0,
       0,
       0,
       0,
       "mpshare.io/gpu.count: \"65\" is too large"},
      {"malformed agent clients",
       {{"mpshare.io/gpu.count", "1"},
        {"mpshare.io/gpu.memory", "1"},
        {"mpshare.io/gpu.clients", "1.5"},
        {"nvidia.com/gpu.replicas", "4"}},
       {},
       0,
       0,
       0,
       0,
       "mpshare.io/gpu.clients: \"1.5\""},
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

TEST(InventoryTest, ProductFromAgentLabelElseGfd) {
  struct Case {
    std::map<std::string, std::string> labels;
    std::string product;
  };
  const std::map<std::string, std::string> budgets = {{"nvidia.com/gpu.count", "1"},
                                                      {"nvidia.com/gpu.memory", "1"}};
  const Case cases[] = {
      {{}, ""},
      {{{"nvidia.com/gpu.product", "NVIDIA-A100-SXM4-40GB"}}, "NVIDIA-A100-SXM4-40GB"},
      {{{"mpshare.io/gpu.product", "NVIDIA-H100-80GB-HBM3"}}, "NVIDIA-H100-80GB-HBM3"},
      {{{"mpshare.io/gpu.product", "NVIDIA-H100-80GB-HBM3"}, {"nvidia.com/gpu.product", "other"}},
       "NVIDIA-H100-80GB-HBM3"},
  };
  for (const Case& c : cases) {
    auto labels = budgets;
    labels.insert(c.labels.begin(), c.labels.end());
    auto capacity = nodeCapacityFromLabels(nodeWith(labels), InventoryConfig{});
    ASSERT_TRUE(capacity.ok()) << capacity.error().describe();
    EXPECT_EQ(capacity->gpu_product, c.product);
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
