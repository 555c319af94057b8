#pragma once

// Node inventory: what each managed node offers, read from the labels mpshare-node
// writes (mpshare.io/gpu.count, .memory, .product, .clients; core/node_labels.h)
// or, for each one the node lacks, from GPU Feature Discovery's (nvidia.com/gpu.count,
// .memory, .product, .replicas). Pure values; the ledger (core/ledger.h) tracks
// what is reserved against them.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/pod.h"
#include "core/result.h"

namespace mpshare::core {

inline constexpr std::string_view kGpuCountLabel = "nvidia.com/gpu.count";
inline constexpr std::string_view kGpuMemoryLabel = "nvidia.com/gpu.memory";
inline constexpr std::string_view kGpuReplicasLabel = "nvidia.com/gpu.replicas";
inline constexpr std::string_view kGpuProductLabel = "nvidia.com/gpu.product";
// MPS accepts at most 48 clients per device on Volta and newer.
inline constexpr int kMpsMaxClientsPerGpu = 48;
// Thread budget of one GPU at oversubscription 1.0, in percent.
inline constexpr int kThreadPercentPerGpu = 100;

// Budgets of one GPU. `threads` is 100 x the oversubscription factor.
struct GpuCapacity {
  int index = 0;  // device ordinal on the node
  int threads = kThreadPercentPerGpu;
  int64_t memory_mib = 0;
  int clients = 1;

  bool operator==(const GpuCapacity&) const = default;
};

// One managed node. Host CPU and memory are optional budgets: 0 = not tracked
// (the scheduler already checks them; the simulator replays traces that need them).
struct NodeCapacity {
  std::string name;
  std::string gpu_product;  // informational, from nvidia.com/gpu.product
  std::vector<GpuCapacity> gpus;
  int64_t cpu_milli = 0;
  int64_t memory_mib = 0;

  bool operator==(const NodeCapacity&) const = default;
};

struct InventoryConfig {
  // A node is managed when every selector label is present with this value.
  std::map<std::string, std::string> node_selector{{"mpshare.io/mps", "enabled"}};
  // Thread budget per GPU = 100 x factor; must be >= 1.0.
  double thread_oversubscription = 1.0;
  // Caps mpshare.io/gpu.clients (else nvidia.com/gpu.replicas); 1..48.
  int max_clients_per_gpu = kMpsMaxClientsPerGpu;
};

// OK when the factor is >= 1.0 (and finite) and the client cap is 1..48. Errors
// name the config field ("threadOversubscription", "maxClientsPerGpu").
Status validateInventoryConfig(const InventoryConfig& config);

// True when `node` carries every selector label with the selected value.
bool isManagedNode(const NodeView& node, const InventoryConfig& config);

// The capacity of a managed node from its labels. Each budget comes from the
// agent's label when present, else from GFD's: count (mpshare.io/gpu.count,
// nvidia.com/gpu.count), memory (mpshare.io/gpu.memory, nvidia.com/gpu.memory),
// clients (mpshare.io/gpu.clients, nvidia.com/gpu.replicas; neither = 1) and
// product (mpshare.io/gpu.product, nvidia.com/gpu.product). A malformed label is
// an error naming the label read, e.g.
//   nvidia.com/gpu.memory: "40GB" is not a positive whole number (e.g. "81559")
// Example: labels {nvidia.com/gpu.count: "2", nvidia.com/gpu.memory: "40960",
//   nvidia.com/gpu.replicas: "10"} -> 2 GPUs of {threads 100, memory 40960, clients 10}.
// Does not check the selector: callers filter with isManagedNode() first.
Result<NodeCapacity> nodeCapacityFromLabels(const NodeView& node, const InventoryConfig& config);

}  // namespace mpshare::core
