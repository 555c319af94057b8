#include "core/equal_slices.h"

namespace mpshare::core {

EqualSlice equalSliceOf(int64_t gpu_memory_mib, int slices) {
  return {kThreadPercentPerGpu / slices, gpu_memory_mib / slices};
}

bool fitsEqualSlice(const Demand& demand, const EqualSlice& slice) {
  const bool whole_gpu_slice = slice.thread_percentage == kThreadPercentPerGpu;
  const bool threads_fit = demand.thread_percentage
                               ? *demand.thread_percentage <= slice.thread_percentage
                               : whole_gpu_slice;
  const bool memory_fits =
      demand.memory_mib ? *demand.memory_mib <= slice.memory_mib : whole_gpu_slice;
  return threads_fit && memory_fits;
}

Demand equalSliceDemand(const Demand& asked, int64_t gpu_memory_mib, int slices) {
  if (asked.gpus != 1 || asked.wholeGpu()) return asked;
  Demand placed = asked;
  const EqualSlice slice = equalSliceOf(gpu_memory_mib, slices);
  if (fitsEqualSlice(asked, slice)) {
    placed.thread_percentage = slice.thread_percentage;
    placed.memory_mib = slice.memory_mib;
  } else {
    placed.thread_percentage.reset();
    placed.memory_mib.reset();
  }
  return placed;
}

}  // namespace mpshare::core
