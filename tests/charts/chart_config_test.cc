// The configuration files the chart ships (rendered into manifests/install/, which a
// drift test keeps equal to the chart) must load in the real binaries' parsers:
// a ConfigMap that renders as valid YAML but holds an unknown key would crash-loop
// every pod of the release.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <string>

#include "webhook/config.h"

namespace mpshare {
namespace {

// data[key] of the ConfigMap in `manifest` (a path relative to the repository).
std::string configMapData(const std::string& manifest, const std::string& key) {
  const YAML::Node doc = YAML::LoadFile(std::string(MPSHARE_SOURCE_DIR) + "/" + manifest);
  EXPECT_EQ(doc["kind"].as<std::string>(), "ConfigMap") << manifest;
  const YAML::Node value = doc["data"][key];
  if (!value || !value.IsScalar()) {
    ADD_FAILURE() << manifest << " has no data key " << key;
    return "";
  }
  return value.Scalar();
}

TEST(ChartConfigTest, WebhookConfigLoadsWithTheChartDefaults) {
  std::istringstream in(configMapData("manifests/install/webhook-configmap.yaml", "webhook.yaml"));
  const auto config = webhook::parseConfig(in);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->rules.resources.names,
            (std::vector<std::string>{"nvidia.com/gpu", "nvidia.com/gpu.shared"}));
  EXPECT_EQ(config->rules.min_memory_limit_mib, 256);
  EXPECT_FALSE(config->rules.default_thread_percentage.has_value());
  EXPECT_FALSE(config->rules.default_memory_limit_mib.has_value());
  EXPECT_TRUE(config->rules.daemon.inject);
  EXPECT_EQ(config->max_request_bytes, size_t{3} << 20);
}

// The webhook mounts the pipe directory the MPS daemon listens on; if they differ,
// every client silently runs without MPS.
TEST(ChartConfigTest, WebhookPipeDirectoryIsTheDaemons) {
  std::istringstream in(configMapData("manifests/install/webhook-configmap.yaml", "webhook.yaml"));
  const auto config = webhook::parseConfig(in);
  ASSERT_TRUE(config.ok()) << config.error().describe();

  const YAML::Node ds = YAML::LoadFile(std::string(MPSHARE_SOURCE_DIR) +
                                       "/manifests/install/mps-daemon-daemonset.yaml");
  const YAML::Node spec = ds["spec"]["template"]["spec"];
  std::string daemon_pipe;
  for (const auto& env : spec["containers"][0]["env"]) {
    if (env["name"].as<std::string>() == "CUDA_MPS_PIPE_DIRECTORY") {
      daemon_pipe = env["value"].as<std::string>();
    }
  }
  EXPECT_EQ(daemon_pipe, config->rules.daemon.pipe_directory);
  EXPECT_EQ(spec["volumes"][0]["hostPath"]["path"].as<std::string>(),
            config->rules.daemon.pipe_directory);
  EXPECT_TRUE(spec["hostIPC"].as<bool>());
}

}  // namespace
}  // namespace mpshare
