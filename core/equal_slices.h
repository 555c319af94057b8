#pragma once

// The device plugin's MPS sharing, the baseline mpshare is compared against
// (docs/kubernetes-interfaces.md section 5): every GPU is cut into N equal
// slices of 100/N % threads and 1/N of its memory, and a client can only lower
// those limits. The demo counts the pods that get what they asked under it;
// `mpshare-extender simulate --policy equal-slices N` packs a trace with it.

#include <cstdint>

#include "core/demand.h"

namespace mpshare::core {

struct EqualSlice {
  int thread_percentage = kThreadPercentPerGpu;
  int64_t memory_mib = 0;
};

// One of `slices` (1..kMpsMaxClientsPerGpu) slices of a GPU with `gpu_memory_mib`:
// 100/slices % and gpu_memory_mib/slices MiB, both rounded down.
// Example: 3 slices of 81559 MiB -> {33, 27186}.
EqualSlice equalSliceOf(int64_t gpu_memory_mib, int slices);

// Whether a one-GPU pod gets what it asked inside `slice`: its thread and memory
// limits both at most the slice's. A dimension the pod leaves open (the whole
// GPU) is only in a slice that is the whole GPU.
bool fitsEqualSlice(const Demand& demand, const EqualSlice& slice);

// What a pod takes under equal slices: one slice when it fits in one, else a
// whole GPU (it cannot run in a slice smaller than it asked); whole-GPU and
// multi-GPU pods are unchanged.
// Example: {1, 30, 20000} on 81559 MiB with 3 slices -> {1, 33, 27186};
//          {1, 40, 20000} -> {1, whole GPU}.
Demand equalSliceDemand(const Demand& asked, int64_t gpu_memory_mib, int slices);

}  // namespace mpshare::core
