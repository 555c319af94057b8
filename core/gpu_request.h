#pragma once

// Which containers of a pod ask for a GPU, and the rule that an MPS pod needs
// exactly one: MPS caps a client on one device ordinal, and one pod is one client.

#include <cstdint>
#include <string>
#include <vector>

#include "core/pod.h"
#include "core/result.h"

namespace mpshare::core {

// Extended-resource names that mean "an MPS GPU" (configurable).
struct GpuResourceNames {
  std::vector<std::string> names{"nvidia.com/gpu", "nvidia.com/gpu.shared"};
};

struct ContainerGpuAsk {
  const ContainerView* container = nullptr;  // points into the PodView it came from
  int64_t gpus = 0;                          // summed over the configured resource names
};

struct GpuRequest {
  std::vector<ContainerGpuAsk> asks;  // only containers asking for a non-zero amount

  // A pod is an MPS pod when any container or init container asks for a GPU.
  [[nodiscard]] bool isMpsPod() const { return !asks.empty(); }
  // GPUs the pod holds at once, as Kubernetes counts it:
  // max(largest init container, sum over regular containers and sidecars).
  [[nodiscard]] int64_t podGpus() const;
};

// The GPU asks of every container. A container's amount is its limit, or its
// request when no limit is set (extended resources must have request == limit).
// Errors name the container and resource whose amount is not a whole number.
Result<GpuRequest> gpuRequestOf(const PodView& pod, const GpuResourceNames& names);

// OK when every GPU container asks for exactly 1 and at most one regular container
// (sidecars count as regular) asks at all; init containers run one after another,
// so each may ask for 1. The error lists which containers ask for how many.
Status checkExactlyOneGpu(const GpuRequest& request);

}  // namespace mpshare::core
