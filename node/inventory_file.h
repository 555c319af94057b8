#pragma once

// The node's GPUs from a file, for nodes where mpshare-node cannot (or should
// not) ask NVML: tests, a node whose GPUs are described by its operator.
//
//   gpus:
//   - index: 0
//     uuid: GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f
//     product: NVIDIA-H100-80GB-HBM3
//     memoryMiB: 81559
//     migEnabled: false        # optional
//
// JSON with the same shape reads too.

#include <string>
#include <string_view>
#include <vector>

#include "core/gpu_device.h"
#include "core/result.h"

namespace mpshare::node {

// The GPUs listed in `text`, sorted by index. `source` names the input in
// errors, which give the path inside it and what is allowed, e.g.
//   gpus.yaml: gpus[1].memoryMiB: must be a whole number > 0, got 0
//   gpus.yaml: gpus[0].memory: unknown key; allowed: index, uuid, product, memoryMiB, migEnabled
// Refused: unknown keys, a missing key (migEnabled may be left out), index < 0,
// memoryMiB <= 0, a UUID not starting "GPU-" (MIG devices are not GPUs here),
// the same index or UUID twice, an empty list.
core::Result<std::vector<core::GpuDevice>> parseInventory(std::string_view text,
                                                          std::string_view source);

// parseInventory() of the file at `path`; an unreadable file is an error naming it.
core::Result<std::vector<core::GpuDevice>> readInventoryFile(const std::string& path);

}  // namespace mpshare::node
