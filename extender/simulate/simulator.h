#pragma once

// Replays pod arrivals against a cluster through the same ledger and placement
// policies as the live extender (core/ledger.h, core/placement.h,
// core/fgd_policy.h) and records how the cluster fills up.
//
// Protocol (as in the FGD paper's simulator): pods arrive one at a time in a
// seeded random order and are placed on the best-scoring node or fail; nothing
// departs. Nodes are visited in a seeded random order and equal scores go to the
// first node visited, as the paper's simulator did (it prefixes node names with
// a seeded random permutation index and takes the first of equal scores).
// fgd-plus-batch holds arrivals until options.batch.size have come (or a
// sample is due) and places them jointly (core/batch_placement.h); the others
// place each pod as it arrives.
// With `inflate`, arrivals continue over fresh shuffles of the pod list until
// the GPU capacity they ask for reaches `target` x the cluster's GPUs.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/batch_placement.h"
#include "core/fgd_plus_policy.h"
#include "core/fgd_policy.h"
#include "core/result.h"
#include "extender/simulate/trace.h"

namespace mpshare::extender {

struct SimulationOptions {
  // binpack, spread, fgd, fgd-plus, fgd-plus-batch, equal-slices
  std::string policy = "fgd";
  int slices = 0;                 // N for equal-slices
  core::FgdPlusOptions fgd_plus;  // fgd-plus and fgd-plus-batch: the defaults are the tuned ones
  core::BatchOptions batch;       // fgd-plus-batch: the defaults are the tuned ones
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

// Which of the workload's pod shapes count, and how much.
enum class TypeWeight {
  // The paper's "typical pods", which FGD places with: shapes keyed by GPUs,
  // share, host CPU and allowed models (host memory is not part of the paper's
  // shapes), host-only pods included, each weighted by how many pods have it;
  // only the most popular shapes are kept, until they cover kTypicalPodShare of
  // the pods (the paper's popularity threshold 95, step 1), then renormalised.
  kTypical,
  // Every GPU shape (GPUs, share, host CPU and memory, allowed models) by how
  // many pods have it: the paper's "popularity". The reported fragmentation uses
  // these.
  kPodCount,
};
inline constexpr double kTypicalPodShare = 0.95;

// The workload's pod shapes with their weights, normalised to sum 1.
// Example: 3 pods of 0.5 GPU and 1 of 2 GPUs -> kPodCount {0.5: 3/4}, {2 GPUs: 1/4}.
std::vector<core::PodType> podTypesOf(const std::vector<SimPod>& pods, TypeWeight weight);

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
