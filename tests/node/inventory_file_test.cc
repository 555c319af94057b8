#include "node/inventory_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/node/temp_dir.h"

namespace mpshare::node {
namespace {

const char* const kUuid0 = "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f";
const char* const kUuid1 = "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f";

TEST(InventoryFileTest, ReadsGpusSortedByIndex) {
  const std::string text = std::string("gpus:\n") + "- {index: 1, uuid: " + kUuid1 +
                           ", product: NVIDIA-H100-80GB-HBM3, memoryMiB: 81559, migEnabled: true}\n"
                           "- index: 0\n"
                           "  uuid: " +
                           kUuid0 +
                           "\n"
                           "  product: NVIDIA-H100-80GB-HBM3\n"
                           "  memoryMiB: 81559\n";
  auto gpus = parseInventory(text, "gpus.yaml");
  ASSERT_TRUE(gpus.ok()) << gpus.error().describe();
  ASSERT_EQ(gpus->size(), 2U);
  EXPECT_EQ((*gpus)[0], (core::GpuDevice{0, kUuid0, "NVIDIA-H100-80GB-HBM3", 81559, false}));
  EXPECT_EQ((*gpus)[1], (core::GpuDevice{1, kUuid1, "NVIDIA-H100-80GB-HBM3", 81559, true}));

  // The same as JSON.
  auto json_gpus =
      parseInventory(std::string(R"({"gpus": [{"index": 0, "uuid": ")") + kUuid0 +
                         R"(", "product": "NVIDIA-H100-80GB-HBM3", "memoryMiB": 81559}]})",
                     "gpus.json");
  ASSERT_TRUE(json_gpus.ok()) << json_gpus.error().describe();
  EXPECT_EQ(json_gpus->front(), gpus->front());
}

TEST(InventoryFileTest, RejectsWhatIsNotAGpuList) {
  const std::string gpu0 = std::string("{index: 0, uuid: ") + kUuid0 + ", product: P, memoryMiB: 1";
  struct Case {
    std::string text;
    std::string error;  // the whole describe()
  };
  const Case cases[] = {
      {"- a", "gpus.yaml: expected an object with a gpus list, got [\"a\"]"},
      {"gpus: [", "gpus.yaml: is not valid YAML or JSON"},
      {"{}", "gpus.yaml: gpus: is required"},
      {"gpus: []", "gpus.yaml: gpus: must list at least one GPU, got []"},
      {"gpus: 2", "gpus.yaml: gpus: must list at least one GPU, got 2"},
      {"gpu: []", "gpus.yaml: gpu: unknown key; allowed: gpus"},
      {"gpus: [3]",
       "gpus.yaml: gpus[0]: expected an object {index, uuid, product, memoryMiB}, got 3"},
      {"gpus: [" + gpu0 + ", memory: 5}]",
       "gpus.yaml: gpus[0].memory: unknown key; allowed: index, uuid, product, memoryMiB, "
       "migEnabled"},
      {std::string("gpus: [{uuid: ") + kUuid0 + ", product: P, memoryMiB: 1}]",
       "gpus.yaml: gpus[0].index: is required"},
      {"gpus: [{index: 0, uuid: GPU-a, product: P}]", "gpus.yaml: gpus[0].memoryMiB: is required"},
      {"gpus: [{index: -1, uuid: GPU-a, product: P, memoryMiB: 1}]",
       "gpus.yaml: gpus[0].index: must be a whole number from 0 to 1023 (the NVML index), got -1"},
      {"gpus: [{index: \"0\", uuid: GPU-a, product: P, memoryMiB: 1}]",
       "gpus.yaml: gpus[0].index: must be a whole number from 0 to 1023 (the NVML index), got "
       "\"0\""},
      {"gpus: [{index: 0, uuid: GPU-a, product: P, memoryMiB: 0}]",
       "gpus.yaml: gpus[0].memoryMiB: must be a whole number > 0 (MiB, e.g. 81559), got 0"},
      {"gpus: [{index: 0, uuid: GPU-a, product: P, memoryMiB: 80GiB}]",
       "gpus.yaml: gpus[0].memoryMiB: must be a whole number > 0 (MiB, e.g. 81559), got \"80GiB\""},
      {"gpus: [{index: 0, uuid: 8f1d, product: P, memoryMiB: 1}]",
       "gpus.yaml: gpus[0].uuid: must be a GPU UUID (\"GPU-...\", as nvidia-smi -L shows it), got "
       "\"8f1d\""},
      {"gpus: [{index: 0, uuid: MIG-8f1d, product: P, memoryMiB: 1}]",
       "gpus.yaml: gpus[0].uuid: must be a GPU UUID (\"GPU-...\", as nvidia-smi -L shows it), got "
       "\"MIG-8f1d\"; MIG devices are not shared with MPS"},
      {"gpus: [{index: 0, uuid: GPU-a, product: \"\", memoryMiB: 1}]",
       "gpus.yaml: gpus[0].product: must be a product name (e.g. \"NVIDIA-H100-80GB-HBM3\"), got "
       "\"\""},
      {"gpus: [{index: 0, uuid: GPU-a, product: P, memoryMiB: 1, migEnabled: no}]",
       "gpus.yaml: gpus[0].migEnabled: must be true or false, got \"no\""},
      {"gpus: [" + gpu0 + "}, {index: 0, uuid: GPU-b, product: P, memoryMiB: 1}]",
       "gpus.yaml: gpus[1].index: 0 is listed twice"},
      {"gpus: [" + gpu0 + "}, {index: 1, uuid: " + kUuid0 + ", product: P, memoryMiB: 1}]",
       std::string("gpus.yaml: gpus[1].uuid: ") + kUuid0 + " is listed twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto gpus = parseInventory(c.text, "gpus.yaml");
    ASSERT_FALSE(gpus.ok());
    EXPECT_EQ(gpus.error().describe().substr(0, c.error.size()), c.error)
        << gpus.error().describe();
  }
}

TEST(InventoryFileTest, InvalidUtf8IsAnErrorNotAThrow) {
  // Found by the inventory fuzzer: the error message's dump() threw.
  const std::string text = "%{\n\377\377\377\001";
  auto gpus = parseInventory(text, "gpus.yaml");
  ASSERT_FALSE(gpus.ok());
  EXPECT_NE(gpus.error().describe().find("gpus.yaml"), std::string::npos)
      << gpus.error().describe();
}

TEST(InventoryFileTest, ReadsAFileAndNamesAMissingOne) {
  testing_support::TempDir temp;
  const std::string path = temp.file("gpus.yaml");
  std::ofstream(path) << "gpus:\n- {index: 0, uuid: " << kUuid0
                      << ", product: NVIDIA-A100-SXM4-40GB, memoryMiB: 40960}\n";
  auto gpus = readInventoryFile(path);
  ASSERT_TRUE(gpus.ok()) << gpus.error().describe();
  EXPECT_EQ(gpus->front().memory_mib, 40960);

  auto missing = readInventoryFile(temp.file("absent.yaml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(
      missing.error().describe(),
      temp.file("absent.yaml") + ": cannot read the GPU inventory file: No such file or directory");

  std::ofstream(path) << "gpus: [{index: 0}]\n";
  auto bad = readInventoryFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().describe(), path + ": gpus[0].uuid: is required");
}

}  // namespace
}  // namespace mpshare::node
