#include "core/node_labels.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/inventory.h"

namespace mpshare::core {
namespace {

using Labels = std::map<std::string, std::string>;

GpuDevice gpu(int index, int64_t memory_mib, std::string product = "NVIDIA H100 80GB HBM3",
              bool mig = false) {
  return GpuDevice{index, "GPU-" + std::to_string(index), std::move(product), memory_mib, mig};
}

TEST(NodeLabelsTest, DescribesTheUsableGpus) {
  struct Case {
    std::string name;
    std::vector<GpuDevice> gpus;
    int clients;
    Labels want;
  };
  const std::vector<Case> cases = {
      {"two H100s",
       {gpu(0, 81559), gpu(1, 81559)},
       8,
       {{"mpshare.io/gpu.count", "2"},
        {"mpshare.io/gpu.memory", "81559"},
        {"mpshare.io/gpu.product", "NVIDIA-H100-80GB-HBM3"},
        {"mpshare.io/gpu.clients", "8"}}},
      {"smallest memory and its product",
       {gpu(0, 81559), gpu(1, 40960, "NVIDIA A100-SXM4-40GB")},
       4,
       {{"mpshare.io/gpu.count", "2"},
        {"mpshare.io/gpu.memory", "40960"},
        {"mpshare.io/gpu.product", "NVIDIA-A100-SXM4-40GB"},
        {"mpshare.io/gpu.clients", "4"}}},
      {"equal memory: lowest index names the product",
       {gpu(1, 100, "B"), gpu(0, 100, "A")},
       1,
       {{"mpshare.io/gpu.count", "2"},
        {"mpshare.io/gpu.memory", "100"},
        {"mpshare.io/gpu.product", "A"},
        {"mpshare.io/gpu.clients", "1"}}},
      {"MIG GPUs are not counted",
       {gpu(0, 100, "small", true), gpu(1, 81559)},
       48,
       {{"mpshare.io/gpu.count", "1"},
        {"mpshare.io/gpu.memory", "81559"},
        {"mpshare.io/gpu.product", "NVIDIA-H100-80GB-HBM3"},
        {"mpshare.io/gpu.clients", "48"}}},
      {"no usable GPU",
       {gpu(0, 100, "x", true)},
       8,
       {{"mpshare.io/gpu.count", "0"}, {"mpshare.io/gpu.clients", "8"}}},
      {"no GPU at all", {}, 8, {{"mpshare.io/gpu.count", "0"}, {"mpshare.io/gpu.clients", "8"}}},
      {"clients clamped to the MPS limit",
       {gpu(0, 1)},
       64,
       {{"mpshare.io/gpu.count", "1"},
        {"mpshare.io/gpu.memory", "1"},
        {"mpshare.io/gpu.product", "NVIDIA-H100-80GB-HBM3"},
        {"mpshare.io/gpu.clients", "48"}}},
      {"clients at least one",
       {gpu(0, 1)},
       0,
       {{"mpshare.io/gpu.count", "1"},
        {"mpshare.io/gpu.memory", "1"},
        {"mpshare.io/gpu.product", "NVIDIA-H100-80GB-HBM3"},
        {"mpshare.io/gpu.clients", "1"}}},
      {"product with nothing valid is left off",
       {gpu(0, 1, "()")},
       2,
       {{"mpshare.io/gpu.count", "1"},
        {"mpshare.io/gpu.memory", "1"},
        {"mpshare.io/gpu.clients", "2"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(agentNodeLabels(c.gpus, c.clients), c.want);
  }
}

TEST(NodeLabelsTest, SanitizesLabelValues) {
  const std::string long_name(70, 'a');
  struct Case {
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"NVIDIA H100 80GB HBM3", "NVIDIA-H100-80GB-HBM3"},
      {"NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-80GB-HBM3"},
      {"Tesla V100-SXM2-16GB", "Tesla-V100-SXM2-16GB"},
      {"NVIDIA RTX 6000 Ada Generation (rev 2)", "NVIDIA-RTX-6000-Ada-Generation--rev-2"},
      {"  spaced  ", "spaced"},
      {"-._x_.-", "x"},
      {"GPU/ü", "GPU"},
      {"()", ""},
      {"", ""},
      {long_name, std::string(63, 'a')},
      // Cut at 63, then the trailing dash goes too.
      {std::string(62, 'b') + "-c", std::string(62, 'b')},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    const std::string value = sanitizeLabelValue(c.in);
    EXPECT_EQ(value, c.want);
    EXPECT_LE(value.size(), 63U);
  }
}

// What the agent writes is what the extender reads.
TEST(NodeLabelsTest, ExtenderReadsWhatTheAgentWrites) {
  NodeView node;
  node.name = "gpu-a";
  node.labels = agentNodeLabels({gpu(0, 81559), gpu(1, 81559), gpu(2, 10, "x", true)}, 6);
  auto capacity = nodeCapacityFromLabels(node, InventoryConfig{});
  ASSERT_TRUE(capacity.ok()) << capacity.error().describe();
  EXPECT_EQ(capacity->gpu_product, "NVIDIA-H100-80GB-HBM3");
  ASSERT_EQ(capacity->gpus.size(), 2U);
  EXPECT_EQ(capacity->gpus[1], (GpuCapacity{1, 100, 81559, 6}));
}

}  // namespace
}  // namespace mpshare::core
