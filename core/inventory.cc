#include "core/inventory.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include "core/gpu_device.h"

namespace mpshare::core {
namespace {

// One budget read from the agent's label when present, else from GPU Feature
// Discovery's: each label independently, so a node labelled by both (or being
// moved from GFD to mpshare-node) reads whichever is there.
struct LabelSource {
  std::string_view agent;  // mpshare.io/gpu.*, written by mpshare-node
  std::string_view gfd;    // nvidia.com/gpu.*, written by GPU Feature Discovery
};

// The label to read: the agent's when the node has it, else GFD's; nullptr
// when the node has neither.
const std::pair<const std::string, std::string>* findLabel(const NodeView& node,
                                                           const LabelSource& source) {
  for (const std::string_view label : {source.agent, source.gfd}) {
    if (const auto it = node.labels.find(std::string(label)); it != node.labels.end()) {
      return &*it;
    }
  }
  return nullptr;
}

// A label value as a positive whole number, or an error naming the label read.
Result<int64_t> positiveNumber(const std::string& label, const std::string& text,
                               std::string_view example) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return invalidArgument(label, "\"" + text + "\" is not a positive whole number (e.g. \"" +
                                      std::string(example) + "\")");
  }
  return value;
}

// A required budget: a missing label (neither source) names both.
Result<int64_t> requiredLabel(const NodeView& node, const LabelSource& source,
                              std::string_view example) {
  const auto* label = findLabel(node, source);
  if (label == nullptr) {
    return invalidArgument(std::string(source.agent),
                           "label is missing, and so is " + std::string(source.gfd) +
                               ", on a node selected for MPS sharing (mpshare-node sets the first, "
                               "GPU Feature Discovery the second; e.g. \"" +
                               std::string(example) + "\")");
  }
  return positiveNumber(label->first, label->second, example);
}

}  // namespace

Status validateInventoryConfig(const InventoryConfig& config) {
  if (!std::isfinite(config.thread_oversubscription) || config.thread_oversubscription < 1.0 ||
      config.thread_oversubscription > 48.0) {
    return invalidArgument("threadOversubscription",
                           std::to_string(config.thread_oversubscription) +
                               " is out of range; allowed: 1.0 (no oversubscription) to 48.0");
  }
  if (config.max_clients_per_gpu < 1 || config.max_clients_per_gpu > kMpsMaxClientsPerGpu) {
    return invalidArgument("maxClientsPerGpu",
                           std::to_string(config.max_clients_per_gpu) +
                               " is out of range; allowed: 1 to 48 (the MPS limit)");
  }
  return {};
}

bool isManagedNode(const NodeView& node, const InventoryConfig& config) {
  for (const auto& [key, value] : config.node_selector) {
    const auto it = node.labels.find(key);
    if (it == node.labels.end() || it->second != value) {
      return false;
    }
  }
  return true;
}

Result<NodeCapacity> nodeCapacityFromLabels(const NodeView& node, const InventoryConfig& config) {
  const LabelSource count_source{kAgentGpuCountLabel, kGpuCountLabel};
  auto count = requiredLabel(node, count_source, "8");
  if (!count) {
    return count.error();
  }
  // 64 GPUs is far beyond any server; a bigger number is a typo, not a node.
  if (*count > 64) {
    return invalidArgument(findLabel(node, count_source)->first,
                           "\"" + std::to_string(*count) + "\" is too large; allowed: 1 to 64");
  }
  auto memory = requiredLabel(node, {kAgentGpuMemoryLabel, kGpuMemoryLabel}, "81559");
  if (!memory) {
    return memory.error();
  }
  // Without sharing GFD writes replicas=1 or omits it: one client per GPU.
  int64_t replicas = 1;
  if (const auto* label = findLabel(node, {kAgentGpuClientsLabel, kGpuReplicasLabel})) {
    auto parsed = positiveNumber(label->first, label->second, "48");
    if (!parsed) {
      return parsed.error();
    }
    replicas = *parsed;
  }
  NodeCapacity capacity;
  capacity.name = node.name;
  if (const auto* label = findLabel(node, {kAgentGpuProductLabel, kGpuProductLabel})) {
    capacity.gpu_product = label->second;
  }
  const int threads =
      static_cast<int>(std::llround(kThreadPercentPerGpu * config.thread_oversubscription));
  const int clients = static_cast<int>(std::min<int64_t>(replicas, config.max_clients_per_gpu));
  capacity.gpus.reserve(static_cast<size_t>(*count));
  for (int i = 0; i < *count; ++i) {
    capacity.gpus.push_back(GpuCapacity{i, threads, *memory, clients});
  }
  return capacity;
}

}  // namespace mpshare::core
