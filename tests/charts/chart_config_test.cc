// The configuration files the chart ships (rendered into manifests/install/, which a
// drift test keeps equal to the chart) must load in the real binaries' parsers:
// a ConfigMap that renders as valid YAML but holds an unknown key would crash-loop
// every pod of the release.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/policy_registry.h"
#include "extender/config.h"
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

// extender.config.policy's enum in values.schema.json is the registry's list
// (core/policy_registry.cc), in its order, so a policy added there is offered
// by the chart, and the chart's default is the extender's.
TEST(ChartConfigTest, SchemaOffersExactlyTheLivePolicies) {
  std::ifstream in(std::string(MPSHARE_SOURCE_DIR) + "/charts/mpshare/values.schema.json");
  const auto schema = nlohmann::json::parse(in);
  const auto& policy = schema.at("properties")
                           .at("extender")
                           .at("properties")
                           .at("config")
                           .at("properties")
                           .at("policy");
  std::vector<std::string> live;
  for (const core::PolicyEntry& entry : core::livePolicies()) live.emplace_back(entry.name);
  EXPECT_EQ(policy.at("enum").get<std::vector<std::string>>(), live);
  const YAML::Node values =
      YAML::LoadFile(std::string(MPSHARE_SOURCE_DIR) + "/charts/mpshare/values.yaml");
  EXPECT_EQ(values["extender"]["config"]["policy"].as<std::string>(), core::defaultPolicyName());
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
  EXPECT_FALSE(config->rules.daemon.pipe);
  EXPECT_EQ(config->max_request_bytes, size_t{3} << 20);
}

// The chart's extender config is fgd-plus-batch planning the pods of the
// chart's own scheduler (scheduler.name, which the scheduler's profile names).
TEST(ChartConfigTest, ExtenderConfigLoadsWithTheChartDefaults) {
  std::istringstream in(
      configMapData("manifests/install/extender-configmap.yaml", "extender.yaml"));
  const auto config = extender::parseConfig(in);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->policy, core::defaultPolicyName());
  EXPECT_EQ(config->plan.scheduler_name, "mpshare-scheduler");
  const extender::PlanConfig built_in;
  EXPECT_EQ(config->plan.batch_size, built_in.batch_size);
  EXPECT_EQ(config->plan.orders, built_in.orders);
  EXPECT_EQ(config->plan.settle, built_in.settle);
  EXPECT_EQ(config->plan.ttl, built_in.ttl);
  EXPECT_EQ(config->url_prefix, "/scheduler");
}

// With the node agent (the chart's default) the webhook injects hostIPC and the
// limits but not the pipe, which the agent's per-slot CDI edits carry; the
// agent's resource must be one the webhook counts as a GPU, or its pods would
// pass unmutated.
TEST(ChartConfigTest, WebhookLeavesThePipeToTheNodeAgent) {
  std::istringstream in(configMapData("manifests/install/webhook-configmap.yaml", "webhook.yaml"));
  const auto config = webhook::parseConfig(in);
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_TRUE(config->rules.daemon.inject);
  EXPECT_FALSE(config->rules.daemon.pipe);

  const YAML::Node ds = YAML::LoadFile(std::string(MPSHARE_SOURCE_DIR) +
                                       "/manifests/install/node-agent-daemonset.yaml");
  const YAML::Node spec = ds["spec"]["template"]["spec"];
  EXPECT_TRUE(spec["hostIPC"].as<bool>());
  std::string resource;
  const YAML::Node args = spec["containers"][0]["args"];
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i].as<std::string>() == "--resource-name") resource = args[i + 1].as<std::string>();
  }
  ASSERT_FALSE(resource.empty()) << "no --resource-name in the agent's args";
  const auto& names = config->rules.resources.names;
  EXPECT_NE(std::find(names.begin(), names.end(), resource), names.end())
      << resource << " is not in webhook.gpuResourceNames";
}

}  // namespace
}  // namespace mpshare
