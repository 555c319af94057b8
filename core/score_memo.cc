#include "core/score_memo.h"

#include <array>
#include <cstring>
#include <type_traits>

namespace mpshare::core {
namespace {

template <typename T>
void append(std::string& key, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::array<char, sizeof(T)> bytes{};
  std::memcpy(bytes.data(), &value, sizeof(T));
  key.append(bytes.data(), bytes.size());
}

void appendOptional(std::string& key, const auto& value) {
  append(key, value.has_value());
  append(key, value.value_or(0));
}

}  // namespace

void writeScoreKey(const NodeState& node, const Demand& demand, std::string& key) {
  key.clear();
  append(key, demand.gpus);
  appendOptional(key, demand.thread_percentage);
  appendOptional(key, demand.memory_mib);
  append(key, demand.cpu_milli);
  append(key, demand.host_memory_mib);
  append(key, node.capacity.cpu_milli);
  append(key, node.capacity.memory_mib);
  append(key, node.reserved_cpu_milli);
  append(key, node.reserved_memory_mib);
  append(key, node.gpus.size());
  for (const GpuState& gpu : node.gpus) {
    append(key, gpu.capacity.index);
    append(key, gpu.capacity.threads);
    append(key, gpu.capacity.memory_mib);
    append(key, gpu.capacity.clients);
    append(key, gpu.reserved.threads);
    append(key, gpu.reserved.memory_mib);
    append(key, gpu.reserved.clients);
  }
  // Last and unbounded: everything before it has a fixed length, so no two
  // different states write the same bytes.
  key.append(node.capacity.gpu_product);
}

std::optional<double> ScoreMemo::score(const std::shared_ptr<const PlacementPolicy>& policy,
                                       const NodeState& node, const Demand& demand) {
  if (policy != policy_) {
    entries_.clear();
    policy_ = policy;
  }
  writeScoreKey(node, demand, key_);
  if (const auto it = entries_.find(std::string_view(key_)); it != entries_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  const NodeChoice choice = policy->choose(node, demand);
  std::optional<double> score;
  if (choice.fits) {
    score = choice.score;
  }
  if (entries_.size() >= max_entries_) {
    entries_.clear();
  }
  entries_.emplace(key_, score);
  return score;
}

}  // namespace mpshare::core
