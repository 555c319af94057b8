#pragma once

// What the webhook's and the extender's YAML config files have in common, read
// by one piece of code: the check for unknown keys, quantities, and the keys
// both files carry (gpuResourceNames, minMemoryLimit, defaultThreadPercentage,
// defaultMemoryLimit). The Helm chart writes the same values into both
// ConfigMaps, and the extender's reservation must equal what the webhook
// injects, so a value one accepts the other accepts too, and means the same.

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "core/gpu_request.h"
#include "core/result.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace mpshare::platform {

// Refuses a key of `node` (which must be a mapping) outside `known`, naming it
// and the keys allowed: `webhook.daemonAcess: unknown key (allowed: ...)`.
core::Status onlyKnownKeys(const YAML::Node& node, const std::string& path,
                           const std::set<std::string>& known);

// A Kubernetes quantity of at least `min_bytes`, in bytes; `min_text` says that
// minimum in the error: `webhook.maxRequestBytes: must be a quantity >= 4Ki, got "1k"`.
core::Result<int64_t> quantityBytes(const YAML::Node& node, const std::string& path,
                                    int64_t min_bytes, const std::string& min_text);

struct PodLimitKeys {
  core::GpuResourceNames resources;
  int64_t min_memory_limit_mib = 256;
  std::optional<int> default_thread_percentage;     // 1..100
  std::optional<int64_t> default_memory_limit_mib;  // >= min_memory_limit_mib
};

// Reads those of the four keys that `section` (a mapping) holds into `keys`,
// leaving the others as they are; other keys of `section` are the caller's.
// `path` names the section in errors, e.g.
//   webhook.defaultThreadPercentage: must be an integer 1-100, got "+30"
//   extender.defaultMemoryLimit: must be a quantity >= 512Mi (extender.minMemoryLimit), got "128Mi"
//   webhook.gpuResourceNames[0]: must be a resource name like nvidia.com/gpu, got "gpu"
core::Status readPodLimitKeys(const YAML::Node& section, const std::string& path,
                              PodLimitKeys* keys);

}  // namespace mpshare::platform
