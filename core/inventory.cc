#include "core/inventory.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace mpshare::core {
namespace {

// A label value as a positive whole number, or an error naming the label.
Result<int64_t> positiveLabel(const NodeView& node, std::string_view label, std::string_view example) {
  const auto it = node.labels.find(std::string(label));
  if (it == node.labels.end()) {
    return invalidArgument(std::string(label), "label is missing on a node selected for MPS sharing "
                                               "(GPU Feature Discovery sets it; e.g. \"" +
                                                   std::string(example) + "\")");
  }
  const std::string& text = it->second;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return invalidArgument(std::string(label), "\"" + text + "\" is not a positive whole number (e.g. \"" +
                                                   std::string(example) + "\")");
  }
  return value;
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
    return invalidArgument("maxClientsPerGpu", std::to_string(config.max_clients_per_gpu) +
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
  auto count = positiveLabel(node, kGpuCountLabel, "8");
  if (!count) {
    return count.error();
  }
  // 64 GPUs is far beyond any server; a bigger number is a typo, not a node.
  if (*count > 64) {
    return invalidArgument(std::string(kGpuCountLabel),
                           "\"" + std::to_string(*count) + "\" is too large; allowed: 1 to 64");
  }
  auto memory = positiveLabel(node, kGpuMemoryLabel, "81559");
  if (!memory) {
    return memory.error();
  }
  // Without sharing GFD writes replicas=1 or omits it: one client per GPU.
  int64_t replicas = 1;
  if (node.labels.contains(std::string(kGpuReplicasLabel))) {
    auto parsed = positiveLabel(node, kGpuReplicasLabel, "48");
    if (!parsed) {
      return parsed.error();
    }
    replicas = *parsed;
  }
  NodeCapacity capacity;
  capacity.name = node.name;
  if (const auto it = node.labels.find(std::string(kGpuProductLabel)); it != node.labels.end()) {
    capacity.gpu_product = it->second;
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
