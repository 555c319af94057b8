// readNvmlInventory against tests/node/fake_nvml.cc, a real shared library
// loaded by path (MPSHARE_FAKE_NVML_LIBRARY), so dlopen, dlsym and the NVML
// call sequence run as they do on a node.

#include "node/nvml_inventory.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "tests/node/temp_dir.h"

namespace mpshare::node {
namespace {

class NvmlInventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The test's own handle keeps the fake loaded between calls, so its
    // session count survives readNvmlInventory's dlclose.
    fake_ = ::dlopen(MPSHARE_FAKE_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(fake_, nullptr) << ::dlerror();
    sessions_ = reinterpret_cast<int (*)()>(::dlsym(fake_, "fake_nvml_sessions"));
    ASSERT_NE(sessions_, nullptr);
    ::setenv("MPSHARE_FAKE_NVML", config_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("MPSHARE_FAKE_NVML");
    ::dlclose(fake_);
  }

  void configure(const std::string& text) const { std::ofstream(config_) << text; }

  testing_support::TempDir temp_;
  const std::string config_ = temp_.file("fake-nvml.conf");
  void* fake_ = nullptr;
  int (*sessions_)() = nullptr;
};

TEST_F(NvmlInventoryTest, ListsEveryGpuInIndexOrder) {
  configure(
      "gpu GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f 85520809984 off NVIDIA H100 80GB HBM3\n"
      "gpu GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f 42949672960 on NVIDIA A100-SXM4-40GB\n"
      "gpu GPU-5d0e6f1a-2b3c-4d5e-9f8a-7b6c5d4e3f2a 17179869184 unsupported Tesla "
      "V100-SXM2-16GB\n");
  auto gpus = readNvmlInventory(MPSHARE_FAKE_NVML_LIBRARY);
  ASSERT_TRUE(gpus.ok()) << gpus.error().describe();
  const std::vector<core::GpuDevice> want = {
      {0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "NVIDIA-H100-80GB-HBM3", 81559, false},
      {1, "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f", "NVIDIA-A100-SXM4-40GB", 40960, true},
      {2, "GPU-5d0e6f1a-2b3c-4d5e-9f8a-7b6c5d4e3f2a", "Tesla-V100-SXM2-16GB", 16384, false},
  };
  EXPECT_EQ(*gpus, want);
  EXPECT_EQ(sessions_(), 0) << "every nvmlInit_v2 needs its nvmlShutdown";
}

TEST_F(NvmlInventoryTest, NoGpusIsAnEmptyList) {
  configure("");
  auto gpus = readNvmlInventory(MPSHARE_FAKE_NVML_LIBRARY);
  ASSERT_TRUE(gpus.ok()) << gpus.error().describe();
  EXPECT_TRUE(gpus->empty());
}

TEST_F(NvmlInventoryTest, InitFailureNamesNvmlsReason) {
  configure("init 9\ngpu GPU-a 1 off X\n");
  auto gpus = readNvmlInventory(MPSHARE_FAKE_NVML_LIBRARY);
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.error().describe(),
            std::string(MPSHARE_FAKE_NVML_LIBRARY) + ": nvmlInit_v2 failed: Driver Not Loaded");
  EXPECT_EQ(sessions_(), 0);
}

TEST_F(NvmlInventoryTest, DeviceFailureNamesTheCallAndDeviceAndStillShutsDown) {
  struct Case {
    std::string fail;
    std::string error;
  };
  const Case cases[] = {
      {"fail uuid 1 15", "nvmlDeviceGetUUID(1) failed: GPU is lost"},
      {"fail name 0 999", "nvmlDeviceGetName(0) failed: Unknown Error"},
      {"fail memory 1 15", "nvmlDeviceGetMemoryInfo(1) failed: GPU is lost"},
      {"fail mig 0 15", "nvmlDeviceGetMigMode(0) failed: GPU is lost"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fail);
    configure("gpu GPU-a 1048576 off A\ngpu GPU-b 1048576 off B\n" + c.fail + "\n");
    auto gpus = readNvmlInventory(MPSHARE_FAKE_NVML_LIBRARY);
    ASSERT_FALSE(gpus.ok());
    EXPECT_EQ(gpus.error().describe(), std::string(MPSHARE_FAKE_NVML_LIBRARY) + ": " + c.error);
    EXPECT_EQ(sessions_(), 0);
  }
}

TEST_F(NvmlInventoryTest, MissingLibrarySaysWhatToInstall) {
  auto gpus = readNvmlInventory(temp_.file("libnvidia-ml.so.1"));
  ASSERT_FALSE(gpus.ok());
  const std::string error = gpus.error().describe();
  EXPECT_EQ(error.rfind(temp_.file("libnvidia-ml.so.1") + ": cannot load NVML (", 0), 0U) << error;
  EXPECT_NE(
      error.find("install the NVIDIA driver on the node, or run mpshare-node under the NVIDIA "
                 "container runtime"),
      std::string::npos)
      << error;
}

TEST_F(NvmlInventoryTest, ALibraryWithoutNvmlIsRefusedNamingTheSymbol) {
  auto gpus = readNvmlInventory("libm.so.6");
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.error().describe().rfind("libm.so.6: has no nvmlInit_v2: not NVML", 0), 0U)
      << gpus.error().describe();
}

TEST(NvmlProductNameTest, SpacesBecomeDashes) {
  EXPECT_EQ(productName("NVIDIA H100 80GB HBM3"), "NVIDIA-H100-80GB-HBM3");
  EXPECT_EQ(productName("NVIDIA A100-SXM4-40GB"), "NVIDIA-A100-SXM4-40GB");
  EXPECT_EQ(productName(""), "");
}

}  // namespace
}  // namespace mpshare::node
