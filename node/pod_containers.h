#pragma once

// The pods of this node with their running containers' runtime IDs, which is
// how a GPU process's cgroup (node/cgroup_path.h) is traced to a container:
// status.containerStatuses[].containerID "containerd://<id>" -> container name.
// Also each container's MPS limits, from the env the webhook set.

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/pod.h"
#include "core/result.h"

namespace mpshare::node {

struct NodePod {
  core::PodView pod;
  std::map<std::string, std::string> container_by_id;  // runtime ID (no scheme) -> name
};

// runtime ID -> container name from a v1.Pod's status.containerStatuses,
// initContainerStatuses and ephemeralContainerStatuses. Entries without an ID
// (not started yet) are skipped; a malformed status section yields an empty map,
// never an error: the status is the kubelet's, not the user's, to get right.
std::map<std::string, std::string> containerIdsFromJson(const nlohmann::json& pod);

// The pods of a v1.PodList (`kubectl get pods -o json`) or a single v1.Pod.
// Errors name `source` and the item, e.g. "pods.json: items[2]: metadata.uid: ...".
core::Result<std::vector<NodePod>> nodePodsFromJson(const nlohmann::json& document,
                                                    const std::string& source);

// The MPS limits a container runs under: CUDA_MPS_ACTIVE_THREAD_PERCENTAGE and
// CUDA_MPS_PINNED_DEVICE_MEM_LIMIT in its env (the webhook's injection, exactly
// what MPS applies to each of its processes), else the pod's mpshare.io/
// annotations; nullopt in a dimension without a limit.
struct ContainerLimits {
  std::optional<int> thread_percentage;  // 1..100
  std::optional<int64_t> memory_mib;

  bool operator==(const ContainerLimits&) const = default;
};
ContainerLimits limitsOf(const core::PodView& pod, const std::string& container);

// Device 0's limit in a CUDA_MPS_PINNED_DEVICE_MEM_LIMIT value, in MiB:
// "0=4096M" -> 4096, "0=2G,1=1G" -> 2048. The container sees its GPU as 0.
// nullopt when the value names no device 0 or does not parse (MPS ignores it then too).
std::optional<int64_t> pinnedLimitMiB(const std::string& value);

}  // namespace mpshare::node
