// NvmlProcessSource against tests/node/fake_nvml.cc loaded by path: the process
// lists, the MPS client list, per-process utilization and their failures go
// through dlopen and the C ABI as on a node.

#include "node/nvml_processes.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "tests/node/temp_dir.h"

namespace mpshare::node {
namespace {

constexpr uint64_t kMiB = 1024ULL * 1024ULL;
const std::vector<core::GpuDevice> kGpus{
    {0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "NVIDIA-H200", 143771, false},
    {1, "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f", "NVIDIA-H200", 143771, false},
};
constexpr const char* kTwoGpus =
    "gpu GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f 150754820096 off NVIDIA H200\n"
    "gpu GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f 150754820096 off NVIDIA H200\n";

class NvmlProcessesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = ::dlopen(MPSHARE_FAKE_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fake_, nullptr) << ::dlerror();
    sessions_ = reinterpret_cast<int (*)()>(::dlsym(fake_, "fake_nvml_sessions"));
    ::setenv("MPSHARE_FAKE_NVML", config_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("MPSHARE_FAKE_NVML");
    ::dlclose(fake_);
  }
  void configure(const std::string& text) const { std::ofstream(config_) << kTwoGpus << text; }

  testing_support::TempDir temp_;
  const std::string config_ = temp_.file("fake-nvml.conf");
  void* fake_ = nullptr;
  int (*sessions_)() = nullptr;
};

TEST_F(NvmlProcessesTest, MergesBothListsAndUtilizationPerGpu) {
  configure(
      "proc 0 300 33554432 compute -\n"  // the MPS server: compute list only
      "proc 0 101 1610612736 mps 20\n"
      "proc 0 102 1610612736 mps 5\n"
      "proc 1 201 - mps -\n");
  {
    auto source = NvmlProcessSource::open(MPSHARE_FAKE_NVML_LIBRARY);
    ASSERT_TRUE(source) << source.error().describe();
    auto samples = (*source)->sample(kGpus);
    ASSERT_TRUE(samples) << samples.error().describe();
    ASSERT_EQ(samples->size(), 2u);
    const auto& gpu0 = (*samples)[0];
    EXPECT_EQ(gpu0.memory_total_bytes, 150754820096ULL);
    EXPECT_EQ(gpu0.memory_used_bytes, 33554432ULL + 2 * 1610612736ULL);
    ASSERT_EQ(gpu0.processes.size(), 3u);
    EXPECT_EQ(gpu0.processes[0], (GpuProcess{101, 1536 * kMiB, 20.0, true}));
    EXPECT_EQ(gpu0.processes[1], (GpuProcess{102, 1536 * kMiB, 5.0, true}));
    EXPECT_EQ(gpu0.processes[2], (GpuProcess{300, 32 * kMiB, 0.0, false}));
    // Memory the driver does not report is absent, not zero.
    ASSERT_EQ((*samples)[1].processes.size(), 1u);
    EXPECT_EQ((*samples)[1].processes[0].memory_bytes, std::nullopt);
    EXPECT_TRUE((*samples)[1].processes[0].mps_client);

    // No sample newer than the last one seen: the processes were idle.
    auto again = (*source)->sample(kGpus);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)[0].processes[0].sm_percent, 0.0);
    EXPECT_EQ(sessions_(), 1) << "NVML stays initialised while the source lives";
  }
  EXPECT_EQ(sessions_(), 0);
}

TEST_F(NvmlProcessesTest, UtilizationOnlyForTheMpsServerLeavesClientsAbsent) {
  // What an H200 (driver 580) reports under MPS: the clients' kernels counted
  // against nvidia-cuda-mps-server, no sample for any client.
  configure(
      "proc 0 300 33554432 compute 88\n"
      "proc 0 101 1610612736 mps -\n");
  auto source = NvmlProcessSource::open(MPSHARE_FAKE_NVML_LIBRARY);
  ASSERT_TRUE(source);
  auto samples = (*source)->sample(kGpus);
  ASSERT_TRUE(samples) << samples.error().describe();
  ASSERT_EQ((*samples)[0].processes.size(), 2u);
  EXPECT_EQ((*samples)[0].processes[0].pid, 101u);
  EXPECT_EQ((*samples)[0].processes[0].sm_percent, std::nullopt) << "not reported, not idle";
  EXPECT_EQ((*samples)[0].processes[1].sm_percent, 88.0);
}

TEST_F(NvmlProcessesTest, UtilizationNotSupportedLeavesItAbsent) {
  configure("proc 0 101 1048576 mps 20\nfail util 0 3\nfail mpslist 0 3\n");
  auto source = NvmlProcessSource::open(MPSHARE_FAKE_NVML_LIBRARY);
  ASSERT_TRUE(source);
  auto samples = (*source)->sample(kGpus);
  ASSERT_TRUE(samples) << samples.error().describe();
  ASSERT_EQ((*samples)[0].processes.size(), 1u);
  EXPECT_EQ((*samples)[0].processes[0].sm_percent, std::nullopt);
  EXPECT_FALSE((*samples)[0].processes[0].mps_client);  // no MPS list: not known as a client
}

TEST_F(NvmlProcessesTest, AFailedCallNamesItAndTheGpu) {
  configure("fail compute 1 15\n");
  auto source = NvmlProcessSource::open(MPSHARE_FAKE_NVML_LIBRARY);
  ASSERT_TRUE(source);
  auto samples = (*source)->sample(kGpus);
  ASSERT_FALSE(samples);
  EXPECT_EQ(samples.error().describe(),
            std::string(MPSHARE_FAKE_NVML_LIBRARY) +
                ": nvmlDeviceGetComputeRunningProcesses_v3(GPU-1b6e7f90-3c2d-4a5b-8e9f-"
                "0a1b2c3d4e5f) failed: GPU is lost");
}

TEST_F(NvmlProcessesTest, AGpuNvmlDoesNotKnowIsAnError) {
  configure("");
  auto source = NvmlProcessSource::open(MPSHARE_FAKE_NVML_LIBRARY);
  ASSERT_TRUE(source);
  std::vector<core::GpuDevice> gone = kGpus;
  gone[1].uuid = "GPU-00000000-0000-0000-0000-000000000000";
  auto samples = (*source)->sample(gone);
  ASSERT_FALSE(samples);
  EXPECT_NE(samples.error().message.find("nvmlDeviceGetHandleByUUID"), std::string::npos);
}

}  // namespace
}  // namespace mpshare::node
