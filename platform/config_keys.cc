#include "platform/config_keys.h"

#include <yaml-cpp/yaml.h>

#include "core/annotations.h"
#include "core/quantity.h"

namespace mpshare::platform {
namespace {

using core::invalidArgument;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string shown(const YAML::Node& node) {
  return node.IsScalar() ? quoted(node.Scalar()) : std::string("a non-scalar value");
}

// Kubernetes extended-resource names look like "<domain>/<name>".
bool validResourceName(const std::string& name) {
  const auto slash = name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == name.size()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == '/';
    if (!ok) return false;
  }
  return name.find('/', slash + 1) == std::string::npos;
}

}  // namespace

core::Status onlyKnownKeys(const YAML::Node& node, const std::string& path,
                           const std::set<std::string>& known) {
  if (!node.IsMap()) return invalidArgument(path, "must be a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (!known.contains(key)) {
      std::string allowed;
      for (const auto& k : known) allowed += (allowed.empty() ? "" : ", ") + k;
      return invalidArgument(path + "." + key, "unknown key (allowed: " + allowed + ")");
    }
  }
  return {};
}

core::Result<int64_t> quantityBytes(const YAML::Node& node, const std::string& path,
                                    int64_t min_bytes, const std::string& min_text) {
  const std::string allowed = "must be a quantity >= " + min_text + ", got " + shown(node);
  if (!node.IsScalar()) return invalidArgument(path, allowed);
  auto quantity = core::parseQuantity(node.Scalar());
  if (!quantity || quantity->isNegative()) return invalidArgument(path, allowed);
  auto bytes = quantity->floorDiv(1);
  if (!bytes || *bytes < min_bytes) return invalidArgument(path, allowed);
  return *bytes;
}

core::Status readPodLimitKeys(const YAML::Node& section, const std::string& path,
                              PodLimitKeys* keys) {
  if (const auto names = section["gpuResourceNames"]) {
    const std::string p = path + ".gpuResourceNames";
    if (!names.IsSequence() || names.size() == 0) {
      return invalidArgument(p, "must be a non-empty list of resource names like nvidia.com/gpu");
    }
    keys->resources.names.clear();
    for (size_t i = 0; i < names.size(); ++i) {
      const auto name = names[i];
      if (!name.IsScalar() || !validResourceName(name.Scalar())) {
        return invalidArgument(p + "[" + std::to_string(i) + "]",
                               "must be a resource name like nvidia.com/gpu, got " + shown(name));
      }
      keys->resources.names.push_back(name.Scalar());
    }
  }
  if (const auto min = section["minMemoryLimit"]) {
    auto bytes = quantityBytes(min, path + ".minMemoryLimit", core::kMiB, "1Mi");
    if (!bytes) return bytes.error();
    keys->min_memory_limit_mib = *bytes / core::kMiB;
  }
  if (const auto pct = section["defaultThreadPercentage"]) {
    // The annotation's own parser: digits only, so "+30" or "30.0" is refused
    // here as it is on a pod.
    auto value = pct.IsScalar() ? core::parseThreadPercentage(pct.Scalar())
                                : core::Result<int>(invalidArgument("", ""));
    if (!value) {
      return invalidArgument(path + ".defaultThreadPercentage",
                             "must be an integer 1-100, got " + shown(pct));
    }
    keys->default_thread_percentage = *value;
  }
  if (const auto mem = section["defaultMemoryLimit"]) {
    const std::string min_text =
        std::to_string(keys->min_memory_limit_mib) + "Mi (" + path + ".minMemoryLimit)";
    auto bytes = quantityBytes(mem, path + ".defaultMemoryLimit",
                               keys->min_memory_limit_mib * core::kMiB, min_text);
    if (!bytes) return bytes.error();
    keys->default_memory_limit_mib = *bytes / core::kMiB;
  }
  return {};
}

}  // namespace mpshare::platform
