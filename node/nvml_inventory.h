#pragma once

// The node's GPUs from NVML, loaded at run time with dlopen: the binary builds
// and starts without NVIDIA's libraries, and a node without them gets an error
// that says what to install instead of a loader failure.

#include <string>
#include <string_view>
#include <vector>

#include "core/gpu_device.h"
#include "core/result.h"

namespace mpshare::node {

// The soname the NVIDIA driver installs (and the container toolkit mounts).
inline constexpr std::string_view kNvmlLibrary = "libnvidia-ml.so.1";

// Every GPU NVML lists, in NVML index order: index, UUID, product (spaces as
// dashes, as GPU Feature Discovery labels it), total memory in MiB, and whether
// MIG is enabled now (the caller skips those GPUs). `library` is a soname or a
// path. Errors name the library and what failed, e.g.
//   libnvidia-ml.so.1: cannot load NVML (...): install the NVIDIA driver on the
//   node, or run mpshare-node under the NVIDIA container runtime
//   libnvidia-ml.so.1: nvmlInit_v2 failed: Driver Not Loaded
core::Result<std::vector<core::GpuDevice>> readNvmlInventory(
    const std::string& library = std::string(kNvmlLibrary));

// An NVML device name as GFD writes it in nvidia.com/gpu.product:
// "NVIDIA H100 80GB HBM3" -> "NVIDIA-H100-80GB-HBM3".
std::string productName(std::string_view nvml_name);

}  // namespace mpshare::node
