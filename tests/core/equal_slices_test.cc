// core/equal_slices: the device plugin's equal slices, the one model the demo
// and `simulate --policy equal-slices` share.

#include "core/equal_slices.h"

#include <gtest/gtest.h>

namespace mpshare::core {
namespace {

Demand oneGpu(std::optional<int> threads, std::optional<int64_t> memory) {
  Demand d;
  d.thread_percentage = threads;
  d.memory_mib = memory;
  return d;
}

TEST(EqualSlicesTest, SliceIsAnEqualShareRoundedDown) {
  const EqualSlice third = equalSliceOf(81559, 3);
  EXPECT_EQ(third.thread_percentage, 33);
  EXPECT_EQ(third.memory_mib, 27186);
  const EqualSlice whole = equalSliceOf(16384, 1);
  EXPECT_EQ(whole.thread_percentage, 100);
  EXPECT_EQ(whole.memory_mib, 16384);
}

TEST(EqualSlicesTest, FitsOnlyWhenBothLimitsAreWithinTheSlice) {
  const EqualSlice quarter = equalSliceOf(16384, 4);  // 25 %, 4096 MiB
  const struct {
    Demand demand;
    bool fits;
  } cases[] = {
      {oneGpu(25, 4096), true},           // exactly one slice
      {oneGpu(10, 1024), true},           // a client lowers both limits
      {oneGpu(26, 4096), false},          // threads over the slice
      {oneGpu(25, 4097), false},          // memory over the slice
      {oneGpu(10, std::nullopt), false},  // all of the memory: not in a quarter
      {oneGpu(std::nullopt, 1024), false},
      {oneGpu(std::nullopt, std::nullopt), false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(fitsEqualSlice(c.demand, quarter), c.fits) << c.demand.describe();
  }
  const EqualSlice whole = equalSliceOf(16384, 1);
  EXPECT_TRUE(fitsEqualSlice(oneGpu(std::nullopt, std::nullopt), whole));
  EXPECT_TRUE(fitsEqualSlice(oneGpu(100, std::nullopt), whole));
  EXPECT_FALSE(fitsEqualSlice(oneGpu(100, 16385), whole));
}

TEST(EqualSlicesTest, PlacedDemandIsASliceOrAWholeGpu) {
  EXPECT_EQ(equalSliceDemand(oneGpu(30, 20000), 81559, 3), oneGpu(33, 27186));
  EXPECT_EQ(equalSliceDemand(oneGpu(40, 20000), 81559, 3), oneGpu(std::nullopt, std::nullopt));
  EXPECT_EQ(equalSliceDemand(oneGpu(30, 30000), 81559, 3), oneGpu(std::nullopt, std::nullopt));
  // Whole-GPU and multi-GPU pods are left as they are.
  EXPECT_EQ(equalSliceDemand(oneGpu(std::nullopt, std::nullopt), 81559, 3),
            oneGpu(std::nullopt, std::nullopt));
  Demand two;
  two.gpus = 2;
  EXPECT_EQ(equalSliceDemand(two, 81559, 3), two);
  // Host resources travel with the pod.
  Demand host = oneGpu(10, 1000);
  host.cpu_milli = 500;
  host.host_memory_mib = 2048;
  const Demand placed = equalSliceDemand(host, 16384, 4);
  EXPECT_EQ(placed.cpu_milli, 500);
  EXPECT_EQ(placed.host_memory_mib, 2048);
  EXPECT_EQ(placed.thread_percentage, 25);
}

}  // namespace
}  // namespace mpshare::core
