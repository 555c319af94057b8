// Walks tests/fixtures/cdi/slots/<case>/: input.json names NVIDIA specs under
// tests/fixtures/cdi/nvidia/ and the slot to bind; every spec listed must give
// exactly slot-spec.json, or an error whose describe() is error.txt (with the
// fixture directory left out of paths). Regenerate with MPSHARE_UPDATE_GOLDEN=1
// and review the diff.

#include "node/cdi_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/slots.h"
#include "tests/support/read_file.h"

namespace mpshare::node {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::readFile;

const fs::path kFixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/cdi";

bool updating() { return std::getenv("MPSHARE_UPDATE_GOLDEN") != nullptr; }

std::string withoutFixtureDir(std::string text) {
  const std::string prefix = (kFixtures / "nvidia").string() + "/";
  for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix)) {
    text.erase(at, prefix.size());
  }
  return text;
}

core::GpuDevice gpuFrom(const json& gpu) {
  return core::GpuDevice{gpu.at("index").get<int>(), gpu.at("uuid").get<std::string>(),
                         gpu.at("product").get<std::string>(), gpu.at("memoryMiB").get<int64_t>(),
                         gpu.value("migEnabled", false)};
}

core::Result<std::string> slotSpecFor(const fs::path& nvidia_spec, const SlotSpecInputs& inputs) {
  auto spec = loadNvidiaCdiSpec(nvidia_spec.string());
  if (!spec) {
    return spec.error();
  }
  return slotSpecJson(*spec, inputs);
}

TEST(CdiSpecGoldenTest, EveryFixtureMatches) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures / "slots")) {
    ++cases;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const json input = json::parse(readFile(entry.path() / "input.json"));
    SlotSpecInputs inputs;
    inputs.slot = input.at("slot").get<int>();
    inputs.gpu = gpuFrom(input.at("gpu"));
    inputs.host_pipe_dir = input.at("hostPipeDir").get<std::string>();
    inputs.container_pipe_dir = input.value("containerPipeDir", inputs.container_pipe_dir);
    const bool want_error = name.starts_with("error-");
    const fs::path expected_path = entry.path() / (want_error ? "error.txt" : "slot-spec.json");

    for (const auto& nvidia_spec : input.at("nvidiaSpecs")) {
      SCOPED_TRACE(nvidia_spec.get<std::string>());
      auto result = slotSpecFor(kFixtures / "nvidia" / nvidia_spec.get<std::string>(), inputs);
      ASSERT_EQ(result.ok(), !want_error) << (result.ok() ? *result : result.error().describe());
      const std::string got =
          want_error ? withoutFixtureDir(result.error().describe()) + "\n" : *result;
      if (updating()) {
        std::ofstream(expected_path) << got;
        continue;
      }
      EXPECT_EQ(got, readFile(expected_path));
      if (!want_error) {
        // What a CDI runtime needs to find the device.
        const json spec = json::parse(got);
        EXPECT_EQ(spec["kind"], "mpshare.io/gpu");
        ASSERT_EQ(spec["devices"].size(), 1U);
        EXPECT_EQ(spec["devices"][0]["name"], core::slotId(inputs.slot));
        EXPECT_FALSE(spec.contains("containerEdits"));
      }
    }
  }
  EXPECT_GE(cases, 9);
}

TEST(CdiSpecTest, YamlAndJsonFormsReadTheSame) {
  auto yaml = loadNvidiaCdiSpec((kFixtures / "nvidia/2gpu.yaml").string());
  auto json_form = loadNvidiaCdiSpec((kFixtures / "nvidia/2gpu.json").string());
  ASSERT_TRUE(yaml.ok()) << yaml.error().describe();
  ASSERT_TRUE(json_form.ok()) << json_form.error().describe();
  EXPECT_EQ(yaml->cdi_version, "0.5.0");
  EXPECT_EQ(yaml->devices.size(), 5U);
  EXPECT_EQ(yaml->devices, json_form->devices);
  EXPECT_EQ(yaml->container_edits, json_form->container_edits);
  // The quoted "755" of a chmod hook stays a string.
  EXPECT_EQ(yaml->devices[0].container_edits["hooks"][1]["args"][3], "755");
}

TEST(CdiSpecTest, RejectsMalformedSpecsNamingThePath) {
  struct Case {
    std::string text;
    std::string error;  // the whole describe()
  };
  const Case cases[] = {
      {"[]",
       "nvidia.yaml: expected a CDI spec (an object with cdiVersion, kind and devices), got a "
       "list"},
      {"a: [", "nvidia.yaml: is not valid YAML or JSON"},
      {"{\"cdiVersion\": ", "nvidia.yaml: is not valid JSON"},
      {"kind: nvidia.com/gpu\ndevices: []", "nvidia.yaml: cdiVersion: is required"},
      {"cdiVersion: 5\nkind: nvidia.com/gpu",
       "nvidia.yaml: cdiVersion: expected a string, got a number"},
      {"cdiVersion: 0.5\nkind: nvidia.com/gpu",
       "nvidia.yaml: cdiVersion: \"0.5\" is not a version like \"0.5.0\""},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu", "nvidia.yaml: devices: is required"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: []",
       "nvidia.yaml: devices: lists no device; a CDI spec needs at least one"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/mig\ndevices: []",
       "nvidia.yaml: kind: \"nvidia.com/mig\" is not NVIDIA's GPU spec; allowed: "
       "\"nvidia.com/gpu\""},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [{name: \"0\", containerEdits: {}}, 3]",
       "nvidia.yaml: devices[1]: expected an object, got a number"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [{containerEdits: {}}]",
       "nvidia.yaml: devices[0].name: is required"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [{name: \"\", containerEdits: {}}]",
       "nvidia.yaml: devices[0].name: must not be empty"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [{name: \"0\"}]",
       "nvidia.yaml: devices[0].containerEdits: is required"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [{name: a, containerEdits: {}}, {name: "
       "a, containerEdits: {}}]",
       "nvidia.yaml: devices[1].name: \"a\" names two devices"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [{name: \"0\", containerEdits: {env: "
       "[A=1, [x]]}}]",
       "nvidia.yaml: devices[0].containerEdits.env[1]: expected a string (\"NAME=value\"), got a "
       "list"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices: [{name: \"0\", containerEdits: "
       "{deviceNodes: {path: /dev/x}}}]",
       "nvidia.yaml: devices[0].containerEdits.deviceNodes: expected a list, got an object"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ncontainerEdits: {hooks: [{path: "
       "/usr/bin/nvidia-cdi-hook}]}\n"
       "devices: [{name: \"0\", containerEdits: {}}]",
       "nvidia.yaml: containerEdits.hooks[0].hookName: is required"},
      {"cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ncontainerEdits: {deviceNodes: [{path: 7}]}\n"
       "devices: [{name: \"0\", containerEdits: {}}]",
       "nvidia.yaml: containerEdits.deviceNodes[0].path: expected a string, got a number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto spec = parseNvidiaCdiSpec(c.text, "nvidia.yaml");
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.error().describe().substr(0, c.error.size()), c.error)
        << spec.error().describe();
  }
}

TEST(CdiSpecTest, AcceptsUnquotedIndexNamesAndUnknownFields) {
  auto spec = parseNvidiaCdiSpec(
      "cdiVersion: 0.7.0\nkind: nvidia.com/gpu\ndevices:\n- name: 0\n  containerEdits:\n"
      "    additionalGids: [44]\n    deviceNodes: [{path: /dev/nvidia0}]\n",
      "spec.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  ASSERT_EQ(spec->devices.size(), 1U);
  EXPECT_EQ(spec->devices[0].name, "0");
  auto text = slotSpecJson(*spec, {5, {0, "GPU-a", "x", 1, false}, "/h"});
  ASSERT_TRUE(text.ok()) << text.error().describe();
  const json out = json::parse(*text);
  EXPECT_EQ(out["cdiVersion"], "0.7.0");
  EXPECT_EQ(out["devices"][0]["containerEdits"]["additionalGids"], json::array({44}));
}

TEST(CdiSpecTest, FindsTheGpuByUuidBeforeIndex) {
  auto spec = parseNvidiaCdiSpec(
      R"({"cdiVersion": "0.5.0", "kind": "nvidia.com/gpu", "devices": [
           {"name": "1", "containerEdits": {"deviceNodes": [{"path": "/dev/nvidia1"}]}},
           {"name": "GPU-b", "containerEdits": {"deviceNodes": [{"path": "/dev/nvidia0"}]}}]})",
      "spec.json");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  // Index 1 and UUID GPU-b disagree (GPUs renumbered since the spec was
  // written): the UUID names the physical device.
  auto edits = deviceEditsFor(*spec, {1, "GPU-b", "x", 1, false});
  ASSERT_TRUE(edits.ok());
  EXPECT_EQ((*edits)["deviceNodes"][0]["path"], "/dev/nvidia0");
  edits = deviceEditsFor(*spec, {1, "GPU-c", "x", 1, false});
  ASSERT_TRUE(edits.ok());
  EXPECT_EQ((*edits)["deviceNodes"][0]["path"], "/dev/nvidia1");
  edits = deviceEditsFor(*spec, {0, "GPU-c", "x", 1, false});
  ASSERT_FALSE(edits.ok());
  EXPECT_EQ(edits.error().describe(),
            "spec.json: no device for GPU 0 (GPU-c): looked for \"GPU-c\" and \"0\"; the spec has "
            "1, GPU-b "
            "(regenerate it when GPUs changed)");
}

TEST(CdiSpecTest, ChecksSlotInputs) {
  auto spec = loadNvidiaCdiSpec((kFixtures / "nvidia/2gpu.yaml").string());
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  const core::GpuDevice gpu{0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "x", 1, false};
  struct Case {
    SlotSpecInputs inputs;
    std::string error;
  };
  const Case cases[] = {
      {{-1, gpu, "/h"}, "slot: -1 is negative; slots count from 0"},
      {{0, {0, "MIG-1", "x", 1, false}, "/h"},
       "gpu.uuid: \"MIG-1\" is not a GPU UUID (\"GPU-...\")"},
      {{0, gpu, "pipe"}, "hostPipeDir: \"pipe\" is not an absolute path"},
      {{0, gpu, "/h", ""}, "containerPipeDir: \"\" is not an absolute path"},
  };
  for (const Case& c : cases) {
    auto text = slotSpecJson(*spec, c.inputs);
    ASSERT_FALSE(text.ok());
    EXPECT_EQ(text.error().describe(), c.error);
  }
}

TEST(CdiSpecTest, MpshareEnvReplacesNvidiaCopies) {
  auto spec = parseNvidiaCdiSpec(
      "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ncontainerEdits:\n  env: "
      "[NVIDIA_VISIBLE_DEVICES=void, "
      "CUDA_VISIBLE_DEVICES=0, KEEP=1]\ndevices:\n- name: \"0\"\n  containerEdits:\n"
      "    env: [CUDA_MPS_PIPE_DIRECTORY=/tmp/x, DEVICE=1]\n",
      "spec.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  auto text = slotSpecJson(*spec, {2, {0, "GPU-a", "x", 1, false}, "/host/pipe"});
  ASSERT_TRUE(text.ok()) << text.error().describe();
  const json edits = json::parse(*text)["devices"][0]["containerEdits"];
  EXPECT_EQ(edits["env"],
            json::array({"KEEP=1", "DEVICE=1", "CUDA_MPS_PIPE_DIRECTORY=/run/mpshare/mps/pipe",
                         "CUDA_VISIBLE_DEVICES=GPU-a", "NVIDIA_VISIBLE_DEVICES=void"}));
  EXPECT_EQ(edits["mounts"], json::parse(R"([{"containerPath": "/run/mpshare/mps/pipe",
      "hostPath": "/host/pipe", "options": ["rbind", "rw"]}])"));
}

}  // namespace
}  // namespace mpshare::node
