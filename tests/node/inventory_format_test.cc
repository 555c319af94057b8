#include "node/inventory_format.h"

#include <gtest/gtest.h>

namespace mpshare::node {
namespace {

const std::vector<core::GpuDevice> kGpus = {
    {0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "NVIDIA-H100-80GB-HBM3", 81559, false},
    {1, "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f", "NVIDIA-A100-SXM4-40GB", 40960, true},
};

TEST(InventoryFormatTest, FormatsTextAndJson) {
  struct Case {
    std::vector<core::GpuDevice> gpus;
    std::string format;
    std::string want;
  };
  const Case cases[] = {
      {kGpus, "text",
       "INDEX  UUID                                      PRODUCT                MEMORY     MIG\n"
       "0      GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f  NVIDIA-H100-80GB-HBM3  81559 MiB  no\n"
       "1      GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f  NVIDIA-A100-SXM4-40GB  40960 MiB  yes\n"},
      {{}, "text", "INDEX  UUID  PRODUCT  MEMORY  MIG\n"},
      {kGpus, "json",
       R"({"gpus":[{"index":0,"uuid":"GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f",)"
       R"("product":"NVIDIA-H100-80GB-HBM3","memoryMiB":81559,"migEnabled":false},)"
       R"({"index":1,"uuid":"GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f",)"
       R"("product":"NVIDIA-A100-SXM4-40GB","memoryMiB":40960,"migEnabled":true}]})"
       "\n"},
      {{}, "json", "{\"gpus\":[]}\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.format);
    auto text = formatInventory(c.gpus, c.format);
    ASSERT_TRUE(text.ok()) << text.error().describe();
    EXPECT_EQ(*text, c.want);
  }
}

TEST(InventoryFormatTest, RejectsOtherFormats) {
  for (const char* format : {"yaml", "", "JSON"}) {
    auto text = formatInventory(kGpus, format);
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().describe(),
              "--format: \"" + std::string(format) + "\" is not a format; allowed: text, json");
  }
}

}  // namespace
}  // namespace mpshare::node
