#include "core/slots.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

namespace mpshare::core {
namespace {

constexpr std::string_view kSlotPrefix = "slot-";
constexpr std::string_view kSpecPrefix = "mpshare.io-gpu-";
constexpr std::string_view kSpecSuffix = ".json";

// Digits only, no sign, no leading '+' or spaces; -1 when not a number.
int parseDigits(std::string_view digits) {
  if (digits.empty() || digits.size() > 6) {
    return -1;
  }
  int value = 0;
  const auto* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (ec != std::errc() || ptr != end || digits.front() == '-' || digits.front() == '+') {
    return -1;
  }
  return value;
}

}  // namespace

std::string slotId(int slot) {
  std::array<char, 24> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "slot-%03d", slot);
  return buffer.data();
}

Result<int> parseSlotId(std::string_view id, int slot_count) {
  const std::string range = "slot-000..." + slotId(slot_count > 0 ? slot_count - 1 : 0);
  if (id.substr(0, kSlotPrefix.size()) != kSlotPrefix) {
    return invalidArgument("device ID",
                           "\"" + std::string(id) + "\" is not an mpshare slot (" + range + ")");
  }
  const int slot = parseDigits(id.substr(kSlotPrefix.size()));
  if (slot < 0 || slot >= slot_count || slotId(slot) != id) {
    return invalidArgument(
        "device ID",
        "\"" + std::string(id) + "\" is not an mpshare slot of this node (" + range + ")");
  }
  return slot;
}

std::string cdiDeviceName(int slot) { return "mpshare.io/gpu=" + slotId(slot); }

std::string cdiAnnotationKey(int slot) { return "cdi.k8s.io/mpshare_" + slotId(slot); }

std::string cdiSpecFileName(int slot) {
  return std::string(kSpecPrefix) + slotId(slot) + std::string(kSpecSuffix);
}

int slotOfSpecFileName(std::string_view file_name) {
  if (file_name.size() <= kSpecPrefix.size() + kSpecSuffix.size() ||
      file_name.substr(0, kSpecPrefix.size()) != kSpecPrefix ||
      file_name.substr(file_name.size() - kSpecSuffix.size()) != kSpecSuffix) {
    return -1;
  }
  const std::string_view id = file_name.substr(
      kSpecPrefix.size(), file_name.size() - kSpecPrefix.size() - kSpecSuffix.size());
  if (id.substr(0, kSlotPrefix.size()) != kSlotPrefix) {
    return -1;
  }
  const int slot = parseDigits(id.substr(kSlotPrefix.size()));
  return slot >= 0 && slotId(slot) == id ? slot : -1;
}

std::vector<bool> slotHealth(int slot_count, int clients_per_gpu,
                             const std::map<int, int>& gpu_of_slot,
                             const std::set<int>& down_gpus) {
  std::vector<bool> healthy(static_cast<size_t>(std::max(slot_count, 0)), true);
  int unhealthy = 0;
  for (const auto& [slot, gpu] : gpu_of_slot) {
    if (slot >= 0 && slot < slot_count && down_gpus.count(gpu) > 0) {
      healthy[static_cast<size_t>(slot)] = false;
      ++unhealthy;
    }
  }
  const int wanted = static_cast<int>(down_gpus.size()) * clients_per_gpu;
  for (int slot = slot_count - 1; slot >= 0 && unhealthy < wanted; --slot) {
    if (gpu_of_slot.count(slot) == 0) {
      healthy[static_cast<size_t>(slot)] = false;
      ++unhealthy;
    }
  }
  return healthy;
}

}  // namespace mpshare::core
