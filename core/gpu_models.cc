#include "core/gpu_models.h"

#include <string_view>

#include "core/gpu_device.h"
#include "core/inventory.h"

namespace mpshare::core {

std::vector<std::string> gpuProductsOf(const PodView& pod) {
  for (const std::string_view label : {kAgentGpuProductLabel, kGpuProductLabel}) {
    const auto it = pod.node_selector.find(std::string(label));
    if (it != pod.node_selector.end()) {
      return {it->second};
    }
  }
  return {};
}

std::map<std::string, int> gpusByModel(const LedgerState& state) {
  std::map<std::string, int> gpus;
  for (const auto& [name, node] : state.nodes()) {
    gpus[node.capacity.gpu_product] += static_cast<int>(node.capacity.gpus.size());
  }
  return gpus;
}

}  // namespace mpshare::core
