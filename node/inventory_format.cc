#include "node/inventory_format.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace mpshare::node {
namespace {

constexpr size_t kColumns = 5;
using Row = std::array<std::string, kColumns>;

std::string table(const std::vector<core::GpuDevice>& gpus) {
  std::vector<Row> rows = {{"INDEX", "UUID", "PRODUCT", "MEMORY", "MIG"}};
  for (const core::GpuDevice& gpu : gpus) {
    rows.push_back({std::to_string(gpu.index), gpu.uuid, gpu.product,
                    std::to_string(gpu.memory_mib) + " MiB", gpu.mig_enabled ? "yes" : "no"});
  }
  std::array<size_t, kColumns> widths{};
  for (const Row& row : rows) {
    for (size_t c = 0; c < kColumns; ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string text;
  for (const Row& row : rows) {
    for (size_t c = 0; c < kColumns; ++c) {
      text += row[c];
      // Two spaces between columns, none after the last one.
      if (c + 1 < kColumns) {
        text.append(widths[c] - row[c].size() + 2, ' ');
      }
    }
    text += '\n';
  }
  return text;
}

std::string json(const std::vector<core::GpuDevice>& gpus) {
  // ordered_json keeps the fields in the order a person reads them.
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const core::GpuDevice& gpu : gpus) {
    nlohmann::ordered_json entry;
    entry["index"] = gpu.index;
    entry["uuid"] = gpu.uuid;
    entry["product"] = gpu.product;
    entry["memoryMiB"] = gpu.memory_mib;
    entry["migEnabled"] = gpu.mig_enabled;
    list.push_back(std::move(entry));
  }
  nlohmann::ordered_json out;
  out["gpus"] = std::move(list);
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace

core::Result<std::string> formatInventory(const std::vector<core::GpuDevice>& gpus,
                                          std::string_view format) {
  if (format == "text") {
    return table(gpus);
  }
  if (format == "json") {
    return json(gpus);
  }
  return core::invalidArgument(
      "--format", "\"" + std::string(format) + "\" is not a format; allowed: text, json");
}

}  // namespace mpshare::node
