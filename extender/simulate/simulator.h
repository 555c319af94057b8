#pragma once

// Replays pod arrivals against a cluster through the same ledger and placement
// policies as the live extender (core/ledger.h, core/placement.h,
// core/fgd_policy.h) and records how the cluster fills up.
//
// Protocol (as in the FGD paper's simulator): pods arrive one at a time in a
// seeded random order and are placed on the best-scoring node or fail; nothing
// departs. With `inflate`, arrivals continue over fresh shuffles of the pod list
// until the GPU capacity they ask for reaches `target` x the cluster's GPUs.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/fgd_policy.h"
#include "core/result.h"
#include "extender/simulate/trace.h"

namespace mpshare::extender {

struct SimulationOptions {
  std::string policy = "fgd";  // binpack, spread, fgd, equal-slices
  int slices = 0;              // N for equal-slices
  uint64_t seed = 42;
  bool inflate = false;
  double target = 1.3;  // arrivals / GPU capacity reached when inflating
  // Called with the fraction of the run done (0..1), about every percent.
  std::function<void(double)> progress;
};

// The cluster after some arrivals. Shares are of the cluster's GPU capacity.
struct SamplePoint {
  double arrived_share = 0.0;  // GPU capacity asked by arrived pods / capacity
  double arrived_gpus = 0.0;   // GPU capacity asked by arrived pods, in GPUs
  int64_t arrived_pods = 0;
  double allocated_gpus = 0.0;  // GPU capacity asked by placed pods, in GPUs
  double allocated_share = 0.0;
  int64_t failed_pods = 0;
  double failed_gpus = 0.0;  // GPU capacity asked by failed pods
  // failed_pods by what they asked: a share of one GPU, one whole GPU, several
  // whole GPUs, no GPU.
  int64_t failed_sharing_pods = 0;
  int64_t failed_whole_gpu_pods = 0;
  int64_t failed_multi_gpu_pods = 0;
  int64_t failed_host_only_pods = 0;
  // Expected fragmentation over the workload's pod shapes weighted by popularity
  // (the paper's measure, core::nodeFragmentation summed over nodes), in GPUs.
  double fragmented_gpus = 0.0;
  double unallocated_gpus = 0.0;  // capacity - allocated
};

struct SimulationResult {
  std::string policy;  // as given, e.g. "equal-slices 4"
  uint64_t seed = 0;
  int nodes = 0;
  int gpus = 0;
  std::vector<SamplePoint> series;  // every percent of arrivals, then the end
  SamplePoint at_capacity;          // first point with arrivals >= 100 % (or the end)
  SamplePoint final_point;
  double seconds = 0.0;  // wall time of the placement loop
};

// How the workload's pod shapes are weighted.
enum class TypeWeight {
  // By the GPU capacity the shape's pods ask for (count x GPUs x share), so
  // expected fragmentation is per GPU arriving rather than per pod arriving: one
  // 8-GPU pod weighs as much as sixteen half-GPU pods. FGD places with these; on
  // the trace they leave fewer GPUs unallocated than pod counts (docs/packing.md).
  kGpuCapacity,
  // By how many pods have the shape: the paper's "popularity". The reported
  // fragmentation uses these, so it is the paper's measure.
  kPodCount,
};

// The workload's GPU pod shapes (host-only pods never use GPU capacity), each
// with its weight. Shape = GPUs, share, host CPU and memory, allowed models; host
// resources are part of it because a node whose CPU or memory runs out strands
// its free GPUs for that shape.
// Example: 3 pods of 0.5 and 1 of 2 GPUs -> kGpuCapacity {0.5: 1.5/3.5},
// {2 GPUs: 2/3.5}; kPodCount {0.5: 3/4}, {2 GPUs: 1/4}.
std::vector<core::PodType> podTypesOf(const std::vector<SimPod>& pods, TypeWeight weight);

// What a trace pod asks of a GPU of `gpu_memory_mib` under mpshare: threads =
// gpu_milli / 10 %, memory = the same share of the GPU (rounded down, so shares
// that sum to one GPU always fit), whole GPUs for gpu_milli 1000.
// Example: gpu_milli 460 on a 16384 MiB GPU -> 46 % / 7536 MiB.
core::Demand demandOnGpu(const SimPod& pod, int64_t gpu_memory_mib);

// The same pod under the device plugin's equal slices of 1/N GPU: a pod asking
// at most 1/N takes one slice (100/N % threads, 1/N of memory); a pod asking more
// cannot live in a slice and takes a whole GPU; whole-GPU pods are unchanged.
core::Demand equalSliceDemand(const SimPod& pod, int64_t gpu_memory_mib, int slices);

// Runs one simulation. Errors: unknown policy (listing the known ones), no GPU
// nodes, or no pods.
core::Result<SimulationResult> simulate(const std::vector<SimNode>& nodes,
                                        const std::vector<SimPod>& pods,
                                        const SimulationOptions& options);

}  // namespace mpshare::extender
