#include "core/node_labels.h"

#include <algorithm>
#include <string>

namespace mpshare::core {
namespace {

constexpr size_t kMaxLabelValue = 63;

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool isLabelChar(char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; }

// Drops non-alphanumeric characters from both ends (a label value must start
// and end with one).
std::string trimToAlnum(std::string text) {
  const auto first = std::find_if(text.begin(), text.end(), isAlnum);
  const auto last = std::find_if(text.rbegin(), text.rend(), isAlnum).base();
  return first < last ? std::string(first, last) : std::string();
}

}  // namespace

std::string sanitizeLabelValue(std::string_view text) {
  std::string value;
  value.reserve(text.size());
  for (const char c : text) {
    value.push_back(isLabelChar(c) ? c : '-');
  }
  value = trimToAlnum(std::move(value));
  if (value.size() > kMaxLabelValue) {
    value = trimToAlnum(value.substr(0, kMaxLabelValue));
  }
  return value;
}

std::map<std::string, std::string> agentNodeLabels(const std::vector<GpuDevice>& gpus,
                                                   int clients_per_gpu) {
  const GpuDevice* smallest = nullptr;
  int usable = 0;
  for (const GpuDevice& gpu : gpus) {
    if (gpu.mig_enabled) {
      continue;
    }
    ++usable;
    // Ties go to the lower index so the product label does not depend on the
    // order the GPUs were listed in.
    if (smallest == nullptr || gpu.memory_mib < smallest->memory_mib ||
        (gpu.memory_mib == smallest->memory_mib && gpu.index < smallest->index)) {
      smallest = &gpu;
    }
  }
  std::map<std::string, std::string> labels;
  labels[std::string(kAgentGpuCountLabel)] = std::to_string(usable);
  labels[std::string(kAgentGpuClientsLabel)] =
      std::to_string(std::clamp(clients_per_gpu, 1, kMaxSlotsPerGpu));
  if (smallest != nullptr) {
    labels[std::string(kAgentGpuMemoryLabel)] = std::to_string(smallest->memory_mib);
    const std::string product = sanitizeLabelValue(smallest->product);
    if (!product.empty()) {
      labels[std::string(kAgentGpuProductLabel)] = product;
    }
  }
  return labels;
}

}  // namespace mpshare::core
