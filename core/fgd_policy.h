#pragma once

// Fragmentation gradient descent (FGD, Weng et al., "Beware of Fragmentation",
// USENIX ATC'23): place each pod where it least increases the node's expected
// fragmentation, given how often each pod shape arrives.
//
// Units: GPU capacity is measured as a share of one GPU in [0, 1]. The usable
// free share of a GPU is the smaller of its free thread fraction and its free
// memory fraction, so a GPU with 50 % threads but 10 % memory left offers 0.1.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/demand.h"
#include "core/ledger.h"
#include "core/placement.h"

namespace mpshare::core {

// One shape of pod in the expected workload and how often it arrives.
struct PodType {
  int gpus = 1;        // GPUs taken; > 1 means whole GPUs; 0 = host resources only
  double share = 1.0;  // share of each GPU, (0, 1]; 1 = whole GPU
  // GPU memory per GPU in MiB; 0 = the same share of the GPU's memory as
  // `share` (the trace's pods). When set, `share` is of the threads only and a
  // GPU fits the type when both its free threads and its free memory suffice.
  int64_t gpu_memory_mib = 0;
  int64_t cpu_milli = 0;  // host CPU; 0 = none
  int64_t host_memory_mib = 0;
  std::vector<std::string> products;  // allowed nvidia.com/gpu.product values; empty = any
  double weight = 0.0;                // popularity; the list is normalised to sum 1
};

// The share of `gpu` (0..1, the lower of threads and memory) still free after
// `take`; 0 for a GPU without capacity. fgd's and fgd-plus's one measure.
inline double freeShareAfter(const GpuState& gpu, const GpuDemand& take) {
  if (gpu.capacity.threads <= 0 || gpu.capacity.memory_mib <= 0) {
    return 0.0;
  }
  const double threads =
      static_cast<double>(gpu.freeThreads() - take.threads) / kThreadPercentPerGpu;
  const double memory = static_cast<double>(gpu.freeMemoryMiB() - take.memory_mib) /
                        static_cast<double>(gpu.capacity.memory_mib);
  return std::clamp(std::min(threads, memory), 0.0, 1.0);
}

// Free capacity of one GPU, as FGD sees it.
double usableFreeShare(const GpuState& gpu);

// A node reduced to what fragmentation depends on: free host resources and the
// usable free share of each GPU.
struct NodeShape {
  std::string product;
  int64_t free_cpu_milli = 0;  // ignored when cpu_tracked is false
  int64_t free_memory_mib = 0;
  bool cpu_tracked = false;
  bool memory_tracked = false;
  std::vector<double> free_share;  // per GPU, in [0, 1]
  std::vector<bool> has_client_slot;
  // Per GPU, read only by types with gpu_memory_mib set: free threads / 100 and
  // free memory in MiB.
  std::vector<double> free_thread_share;
  std::vector<int64_t> free_gpu_memory_mib;
};
NodeShape shapeOf(const NodeState& node);

// Fragmentation of `node` for one pod type, in GPUs: the free GPU capacity that
// type cannot use. When the type cannot run on the node at all (host resources,
// GPU product, too few fitting GPUs) or uses no GPU, every free share is a
// fragment; otherwise the free shares of the GPUs too small for it are.
// Example: free shares {0.3, 1.0}, type share 0.5 -> 0.3; type of 2 whole GPUs -> 1.3;
// host-only type -> 1.3.
double typeFragmentation(const NodeShape& node, const PodType& type);

// Expected fragmentation over the workload: sum of weight x typeFragmentation.
// `types` weights must sum to 1 (see normalisePodTypes()).
// Example: free {0.3, 1.0}; types {0.5 share, w 0.5}, {0.2 share, w 0.5} -> 0.15.
double nodeFragmentation(const NodeShape& node, const std::vector<PodType>& types);

// Scales weights to sum to 1 and drops zero-weight entries. Empty in -> empty out.
std::vector<PodType> normalisePodTypes(std::vector<PodType> types);

// The FGD policy over `types`. For a one-GPU pod it tries every fitting GPU
// (once per distinct budget: equal GPUs give equal increases) and keeps the one
// with the smallest increase (lowest ordinal among equals);
// for whole-GPU pods the emptiest fitting GPUs (all give the same result).
// Score = floor(100 / (1 + e^(increase))) / 100, the paper's integer node score
// 0..100 scaled to [0, 1]: a smaller fragmentation increase scores higher, and
// increases within one step of each other score the same, leaving the choice
// among them to the scheduler (the paper's simulator took the first node in its
// node order). A pod with gpus == 0 (host resources only) is also accepted.
// scoreScale() is kRanked: the live extender maps its scores with
// rankedNodeScores().
std::unique_ptr<PlacementPolicy> makeFgdPolicy(std::vector<PodType> types);

}  // namespace mpshare::core
