#include "node/inventory_file.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "platform/yaml_json.h"

namespace mpshare::node {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 5> kGpuKeys = {"index", "uuid", "product", "memoryMiB",
                                                      "migEnabled"};
constexpr const char* kAllowedGpuKeys = "index, uuid, product, memoryMiB, migEnabled";

// Errors of one document: "<source>: <path>: <what>".
class Errors {
 public:
  explicit Errors(std::string_view source) : source_(source) {}
  [[nodiscard]] core::Error at(const std::string& path, const std::string& what) const {
    return core::invalidArgument(source_, path.empty() ? what : path + ": " + what);
  }

 private:
  std::string source_;
};

// The value as written, for messages: strings quoted, others as JSON. Invalid
// UTF-8 (YAML passes it through) is shown replaced, never thrown from dump().
std::string shown(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

core::Result<core::GpuDevice> parseGpu(const json& entry, const std::string& path,
                                       const Errors& errors) {
  if (!entry.is_object()) {
    return errors.at(path,
                     "expected an object {index, uuid, product, memoryMiB}, got " + shown(entry));
  }
  for (const auto& item : entry.items()) {
    const std::string& key = item.key();
    if (std::find(kGpuKeys.begin(), kGpuKeys.end(), key) == kGpuKeys.end()) {
      return errors.at(path + "." + key, std::string("unknown key; allowed: ") + kAllowedGpuKeys);
    }
  }
  for (const char* key : {"index", "uuid", "product", "memoryMiB"}) {
    if (!entry.contains(key)) {
      return errors.at(path + "." + key, "is required");
    }
  }
  core::GpuDevice gpu;
  const json& index = entry["index"];
  if (!index.is_number_integer() || index.get<int64_t>() < 0 || index.get<int64_t>() > 1023) {
    return errors.at(path + ".index",
                     "must be a whole number from 0 to 1023 (the NVML index), got " + shown(index));
  }
  gpu.index = index.get<int>();

  const json& uuid = entry["uuid"];
  if (!uuid.is_string() || !uuid.get_ref<const std::string&>().starts_with("GPU-") ||
      uuid.get_ref<const std::string&>().size() == 4) {
    const bool mig = uuid.is_string() && uuid.get_ref<const std::string&>().starts_with("MIG-");
    return errors.at(path + ".uuid",
                     "must be a GPU UUID (\"GPU-...\", as nvidia-smi -L shows it), got " +
                         shown(uuid) + (mig ? "; MIG devices are not shared with MPS" : ""));
  }
  gpu.uuid = uuid.get<std::string>();

  const json& product = entry["product"];
  if (!product.is_string() || product.get_ref<const std::string&>().empty()) {
    return errors.at(
        path + ".product",
        "must be a product name (e.g. \"NVIDIA-H100-80GB-HBM3\"), got " + shown(product));
  }
  gpu.product = product.get<std::string>();

  const json& memory = entry["memoryMiB"];
  if (!memory.is_number_integer() || memory.get<int64_t>() <= 0) {
    return errors.at(path + ".memoryMiB",
                     "must be a whole number > 0 (MiB, e.g. 81559), got " + shown(memory));
  }
  gpu.memory_mib = memory.get<int64_t>();

  if (const auto mig = entry.find("migEnabled"); mig != entry.end()) {
    if (!mig->is_boolean()) {
      return errors.at(path + ".migEnabled", "must be true or false, got " + shown(*mig));
    }
    gpu.mig_enabled = mig->get<bool>();
  }
  return gpu;
}

}  // namespace

core::Result<std::vector<core::GpuDevice>> parseInventory(std::string_view text,
                                                          std::string_view source) {
  const Errors errors(source);
  auto document = platform::yamlToJson(text, platform::YamlScalars::kTyped);
  if (!document) {
    return errors.at("", document.error().message);
  }
  if (!document->is_object()) {
    return errors.at("", "expected an object with a gpus list, got " + shown(*document));
  }
  for (const auto& [key, value] : document->items()) {
    if (key != "gpus") {
      return errors.at(key, "unknown key; allowed: gpus");
    }
  }
  const auto list = document->find("gpus");
  if (list == document->end()) {
    return errors.at("gpus", "is required");
  }
  if (!list->is_array() || list->empty()) {
    return errors.at("gpus", "must list at least one GPU, got " + shown(*list));
  }
  std::vector<core::GpuDevice> gpus;
  std::set<int> indexes;
  std::set<std::string> uuids;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = "gpus[" + std::to_string(i) + "]";
    auto gpu = parseGpu((*list)[i], path, errors);
    if (!gpu) {
      return gpu.error();
    }
    if (!indexes.insert(gpu->index).second) {
      return errors.at(path + ".index", std::to_string(gpu->index) + " is listed twice");
    }
    if (!uuids.insert(gpu->uuid).second) {
      return errors.at(path + ".uuid", gpu->uuid + " is listed twice");
    }
    gpus.push_back(std::move(*gpu));
  }
  std::sort(gpus.begin(), gpus.end(),
            [](const core::GpuDevice& a, const core::GpuDevice& b) { return a.index < b.index; });
  return gpus;
}

core::Result<std::vector<core::GpuDevice>> readInventoryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::Error{core::ErrorCode::kNotFound, path,
                       std::string("cannot read the GPU inventory file: ") + std::strerror(errno)};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parseInventory(text.str(), path);
}

}  // namespace mpshare::node
