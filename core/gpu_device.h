#pragma once

// One physical GPU of a node as the node agent sees it (from NVML or from an
// inventory file), and the names mpshare-node gives to the slots it advertises.
// Pure values: node/ fills them, core/ and node/ reason about them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mpshare::core {

struct GpuDevice {
  int index = 0;             // NVML index = device ordinal on the node
  std::string uuid;          // "GPU-8f1d..."
  std::string product;       // "NVIDIA-H100-80GB-HBM3" (spaces as dashes, as GFD writes it)
  int64_t memory_mib = 0;    // total device memory
  bool mig_enabled = false;  // MIG GPUs are skipped by the agent

  bool operator==(const GpuDevice&) const = default;
};

// Labels mpshare-node writes on its node; the extender reads them before the
// GPU Feature Discovery labels (core/inventory.h).
inline constexpr std::string_view kAgentGpuCountLabel = "mpshare.io/gpu.count";
inline constexpr std::string_view kAgentGpuMemoryLabel = "mpshare.io/gpu.memory";
inline constexpr std::string_view kAgentGpuProductLabel = "mpshare.io/gpu.product";
inline constexpr std::string_view kAgentGpuClientsLabel = "mpshare.io/gpu.clients";

// The CDI kind of mpshare's per-slot specs and the slot device names:
// slot 3 -> ID "slot-003", CDI device "mpshare.io/gpu=slot-003".
inline constexpr std::string_view kCdiKind = "mpshare.io/gpu";
inline constexpr int kMaxSlotsPerGpu = 48;

}  // namespace mpshare::core
