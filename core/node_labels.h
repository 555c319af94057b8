#pragma once

// The labels mpshare-node writes on its node, from the GPUs it found (NVML or
// an inventory file), so the extender can budget the node without GPU Feature
// Discovery. The extender reads them in core/inventory.cc, each one before its
// GFD counterpart.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/gpu_device.h"

namespace mpshare::core {

// Label values for the usable GPUs (MIG-enabled ones are skipped: the agent
// runs no MPS daemon on them):
//   mpshare.io/gpu.count    number of usable GPUs
//   mpshare.io/gpu.memory   the smallest memory of them, in MiB (a pod must
//                           fit whichever GPU the extender picks)
//   mpshare.io/gpu.product  the product of that smallest GPU, as a label value
//   mpshare.io/gpu.clients  clients_per_gpu, clamped to 1..48 (MPS's limit)
// With no usable GPU only count ("0") and clients are set; the extender then
// rejects the node with a reason naming the count label. Labels this map lacks
// should be removed from the node, so a stale value never outlives its GPU.
// Example: two H100s, 8 clients -> {count "2", memory "81559",
//   product "NVIDIA-H100-80GB-HBM3", clients "8"}.
std::map<std::string, std::string> agentNodeLabels(const std::vector<GpuDevice>& gpus,
                                                   int clients_per_gpu);

// `text` as a valid Kubernetes label value: at most 63 characters of
// [A-Za-z0-9._-], starting and ending alphanumeric. Other characters become
// '-' (spaces too, as GFD writes products). Example:
// "NVIDIA H100 80GB HBM3" -> "NVIDIA-H100-80GB-HBM3"; "(x)" -> "x"; "" -> "".
std::string sanitizeLabelValue(std::string_view text);

}  // namespace mpshare::core
