#include "extender/config.h"

#include <gtest/gtest.h>

#include <sstream>

#include "extender/serve_command.h"

namespace mpshare::extender {
namespace {

core::Result<ExtenderConfig> parse(const std::string& yaml) {
  std::istringstream in(yaml);
  return parseConfig(in);
}

TEST(ConfigTest, DefaultsWhenEmpty) {
  auto config = parse("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->url_prefix, "/scheduler");
  EXPECT_EQ(config->policy, "binpack");
  EXPECT_EQ(config->inventory.thread_oversubscription, 1.0);
  EXPECT_EQ(config->inventory.node_selector.at("mpshare.io/mps"), "enabled");
  EXPECT_EQ(config->max_learned_nodes, 5000u);
}

TEST(ConfigTest, ReadsEveryField) {
  auto config = parse(R"(
extender:
  urlPrefix: /mps/
  nodeSelector: {pool: gpu}
  gpuResourceNames: [example.com/gpu]
  policy: spread
  threadOversubscription: 1.5
  maxClientsPerGpu: 16
  defaultThreadPercentage: 25
  minMemoryLimit: 512Mi
  defaultMemoryLimit: 8Gi
  maxLearnedNodes: 0
)");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->url_prefix, "/mps");
  EXPECT_EQ(config->inventory.node_selector, (std::map<std::string, std::string>{{"pool", "gpu"}}));
  EXPECT_EQ(config->demand.resources.names, std::vector<std::string>{"example.com/gpu"});
  EXPECT_EQ(config->policy, "spread");
  EXPECT_EQ(config->inventory.thread_oversubscription, 1.5);
  EXPECT_EQ(config->inventory.max_clients_per_gpu, 16);
  EXPECT_EQ(config->demand.defaults.thread_percentage, 25);
  EXPECT_EQ(config->demand.defaults.memory_mib, 8192);
  EXPECT_EQ(config->demand.annotations.min_memory_limit_mib, 512);
  EXPECT_EQ(config->max_learned_nodes, 0u);
}

TEST(ConfigTest, ErrorsNameThePath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"extender: {threadOversubscription: 0.5}",
       "extender.threadOversubscription: must be a number from 1.0 to 48.0, got \"0.5\""},
      {"extender: {policy: firstfit}",
       "extender.policy: must be binpack or spread, got \"firstfit\""},
      {"extender: {maxClientsPerGpu: 64}",
       "extender.maxClientsPerGpu: must be a whole number from 1 to 48"},
      {"extender: {urlPrefix: scheduler}",
       "extender.urlPrefix: must be a URL path starting with '/'"},
      {"extender: {nodeSelecter: {a: b}}", "extender.nodeSelecter: unknown key"},
      {"webhook: {}", "config.webhook: unknown key (allowed: extender)"},
      {"extender: {defaultMemoryLimit: 4GB}",
       "extender.defaultMemoryLimit: must be a memory quantity"},
      {"extender: {defaultMemoryLimit: 100Mi}", "must be at least minMemoryLimit (256 MiB)"},
      {"extender: {gpuResourceNames: []}", "extender.gpuResourceNames: must be a non-empty list"},
      {"extender: {maxLearnedNodes: -1}",
       "extender.maxLearnedNodes: must be a whole number from 0 to 50000, got \"-1\""},
      {"extender: {maxLearnedNodes: 50001}",
       "extender.maxLearnedNodes: must be a whole number from 0 to 50000, got \"50001\""},
      {"extender: {maxLearnedNodes: lots}", "extender.maxLearnedNodes: must be a whole number"},
      {"extender: [", "config: is not valid YAML"},
  };
  for (const auto& [yaml, want] : cases) {
    auto config = parse(yaml);
    ASSERT_FALSE(config.ok()) << yaml;
    EXPECT_NE(config.error().describe().find(want), std::string::npos)
        << yaml << " -> " << config.error().describe();
  }
}

TEST(ServeOptionsTest, ParsesFlags) {
  auto options =
      parseServeOptions({"--listen", "127.0.0.1:8888", "--standalone", "--nodes", "n.yaml",
                         "--tls-cert", "c", "--tls-key", "k", "--client-ca", "ca"});
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_EQ(options->server.host, "127.0.0.1");
  EXPECT_EQ(options->server.port, 8888);
  EXPECT_TRUE(options->standalone);
  EXPECT_EQ(options->nodes_file, "n.yaml");
  ASSERT_TRUE(options->server.tls.has_value());
  EXPECT_EQ(options->server.tls->client_ca_file, "ca");
}

TEST(ServeOptionsTest, RejectsBadFlags) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--standalone"}, "--listen: is required"},
      {{"--listen", "8888"}, "--listen: expected ADDR:PORT"},
      {{"--listen", "h:99999"}, "--listen: expected ADDR:PORT"},
      {{"--listen", "h:1", "--tls-cert", "c"}, "--tls-key: --tls-cert and --tls-key go together"},
      {{"--listen", "h:1", "--nodes", "f"}, "--nodes: is for --standalone"},
      {{"--listen", "h:1", "--verbose"}, "--verbose: unknown flag"},
      {{"--listen"}, "--listen: needs a value"},
  };
  for (const auto& [args, want] : cases) {
    auto options = parseServeOptions(args);
    ASSERT_FALSE(options.ok()) << want;
    EXPECT_NE(options.error().describe().find(want), std::string::npos)
        << options.error().describe();
  }
}

}  // namespace
}  // namespace mpshare::extender
