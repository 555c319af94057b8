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
  EXPECT_EQ(config->policy, "fgd-plus-batch");
  EXPECT_EQ(config->plan.scheduler_name, "mpshare-scheduler");
  EXPECT_EQ(config->plan.batch_size, 16u);
  EXPECT_EQ(config->plan.orders, 4);
  EXPECT_EQ(config->plan.settle.count(), 10);
  EXPECT_EQ(config->plan.ttl.count(), 60);
  EXPECT_EQ(config->pod_window.max_pods, 2000u);
  EXPECT_EQ(config->pod_window.min_pods, 200u);
  EXPECT_EQ(config->pod_window.max_age.count(), 0);
  EXPECT_TRUE(config->pod_seed.empty());  // the built-in distribution
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

TEST(ConfigTest, ReadsThePodDistribution) {
  auto config = parse(R"(
extender:
  policy: fgd
  podDistribution:
    windowPods: 500
    windowSeconds: 3600
    minPods: 50
    maxShapes: 8
    seed:
      - {gpus: 1, gpuMilli: 300, gpuMemory: 8Gi, pods: 5}
      - {gpus: 2, pods: 1}
)");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->pod_window.max_pods, 500u);
  EXPECT_EQ(config->pod_window.max_age.count(), 3600);
  EXPECT_EQ(config->pod_window.min_pods, 50u);
  EXPECT_EQ(config->pod_window.max_shapes, 8u);
  EXPECT_EQ(config->pod_seed,
            (std::vector<core::ShapeCount>{{{1, 300, 8192}, 5}, {{2, 1000, 0}, 1}}));
}

TEST(ConfigTest, ReadsThePlan) {
  auto config = parse(R"(
extender:
  policy: fgd-plus-batch
  plan:
    schedulerName: gpu.example.com
    batchSize: 32
    orders: 8
    settleMilliseconds: 0
    ttlSeconds: 3600
)");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->plan.scheduler_name, "gpu.example.com");
  EXPECT_EQ(config->plan.batch_size, 32u);
  EXPECT_EQ(config->plan.orders, 8);
  EXPECT_EQ(config->plan.settle.count(), 0);
  EXPECT_EQ(config->plan.ttl.count(), 3600);
}

TEST(ConfigTest, PlanKeysAcceptTheirBounds) {
  struct Case {
    std::string yaml;
    PlanConfig want;
  };
  const auto with = [](auto change) {
    PlanConfig plan;
    change(plan);
    return plan;
  };
  const std::vector<Case> cases = {
      {"{}", PlanConfig{}},
      {"{schedulerName: a}", with([](PlanConfig& p) { p.scheduler_name = "a"; })},
      {"{schedulerName: " + std::string(253, 'x') + "}",
       with([](PlanConfig& p) { p.scheduler_name = std::string(253, 'x'); })},
      {"{batchSize: 1}", with([](PlanConfig& p) { p.batch_size = 1; })},
      {"{batchSize: 64}", with([](PlanConfig& p) { p.batch_size = 64; })},
      {"{orders: 1}", with([](PlanConfig& p) { p.orders = 1; })},
      {"{orders: 16}", with([](PlanConfig& p) { p.orders = 16; })},
      {"{settleMilliseconds: 1000}",
       with([](PlanConfig& p) { p.settle = std::chrono::milliseconds(1000); })},
      {"{ttlSeconds: 1}", with([](PlanConfig& p) { p.ttl = std::chrono::seconds(1); })},
  };
  for (const auto& [plan, want] : cases) {
    // Read under every policy: the chart writes the block whatever the policy.
    for (const char* policy : {"fgd-plus-batch", "binpack"}) {
      auto config = parse("extender: {policy: " + std::string(policy) + ", plan: " + plan + "}");
      ASSERT_TRUE(config.ok()) << plan << " -> " << config.error().describe();
      EXPECT_EQ(config->plan.scheduler_name, want.scheduler_name) << plan;
      EXPECT_EQ(config->plan.batch_size, want.batch_size) << plan;
      EXPECT_EQ(config->plan.orders, want.orders) << plan;
      EXPECT_EQ(config->plan.settle, want.settle) << plan;
      EXPECT_EQ(config->plan.ttl, want.ttl) << plan;
    }
  }
}

TEST(ConfigTest, EveryLivePolicyIsAccepted) {
  for (const char* name : {"fgd-plus-batch", "fgd-plus", "fgd", "binpack", "spread"}) {
    auto config = parse(std::string("extender: {policy: ") + name + "}");
    ASSERT_TRUE(config.ok()) << name;
    EXPECT_EQ(config->policy, name);
  }
}

TEST(ConfigTest, ErrorsNameThePath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"extender: {threadOversubscription: 0.5}",
       "extender.threadOversubscription: must be a number from 1.0 to 48.0, got \"0.5\""},
      {"extender: {policy: firstfit}",
       "extender.policy: must be one of fgd-plus-batch, fgd-plus, fgd, binpack, spread, got "
       "\"firstfit\""},
      {"extender: {policy: [fgd]}",
       "extender.policy: must be one of fgd-plus-batch, fgd-plus, fgd, binpack, spread, got a "
       "non-scalar value"},
      {"extender: {plan: 16}", "extender.plan: must be a mapping"},
      {"extender: {plan: {batch: 16}}",
       "extender.plan.batch: unknown key (allowed: batchSize, orders, schedulerName, "
       "settleMilliseconds, ttlSeconds)"},
      {"extender: {plan: {schedulerName: ''}}",
       "extender.plan.schedulerName: must be a scheduler name (a DNS-1123 subdomain: a-z, 0-9, "
       "'-', '.', at most 253, e.g. mpshare-scheduler), got \"\""},
      {"extender: {plan: {schedulerName: My-Scheduler}}",
       "extender.plan.schedulerName: must be a scheduler name (a DNS-1123 subdomain"},
      {"extender: {plan: {schedulerName: -mpshare}}",
       "extender.plan.schedulerName: must be a scheduler name"},
      {"extender: {plan: {schedulerName: mpshare.}}",
       "extender.plan.schedulerName: must be a scheduler name"},
      {"extender: {plan: {schedulerName: a..b}}",
       "extender.plan.schedulerName: must be a scheduler name"},
      {"extender: {plan: {schedulerName: a-.b}}",
       "extender.plan.schedulerName: must be a scheduler name"},
      {"extender: {plan: {schedulerName: 'mpshare scheduler'}}",
       "extender.plan.schedulerName: must be a scheduler name"},
      {"extender: {plan: {schedulerName: " + std::string(254, 'x') + "}}",
       "extender.plan.schedulerName: must be a scheduler name"},
      {"extender: {plan: {schedulerName: [a]}}",
       "extender.plan.schedulerName: must be a scheduler name (a DNS-1123 subdomain: a-z, 0-9, "
       "'-', '.', at most 253, e.g. mpshare-scheduler), got a non-scalar value"},
      {"extender: {plan: {batchSize: 0}}",
       "extender.plan.batchSize: must be a whole number from 1 to 64, got \"0\""},
      {"extender: {plan: {batchSize: 65}}",
       "extender.plan.batchSize: must be a whole number from 1 to 64, got \"65\""},
      {"extender: {plan: {batchSize: 1.5}}",
       "extender.plan.batchSize: must be a whole number from 1 to 64, got \"1.5\""},
      {"extender: {plan: {orders: 0}}",
       "extender.plan.orders: must be a whole number from 1 to 16, got \"0\""},
      {"extender: {plan: {orders: 17}}",
       "extender.plan.orders: must be a whole number from 1 to 16, got \"17\""},
      {"extender: {plan: {settleMilliseconds: -1}}",
       "extender.plan.settleMilliseconds: must be a whole number from 0 to 1000, got \"-1\""},
      {"extender: {plan: {settleMilliseconds: 1001}}",
       "extender.plan.settleMilliseconds: must be a whole number from 0 to 1000, got \"1001\""},
      {"extender: {plan: {ttlSeconds: 0}}",
       "extender.plan.ttlSeconds: must be a whole number from 1 to 3600, got \"0\""},
      {"extender: {plan: {ttlSeconds: 3601}}",
       "extender.plan.ttlSeconds: must be a whole number from 1 to 3600, got \"3601\""},
      {"extender: {plan: {ttlSeconds: [60]}}",
       "extender.plan.ttlSeconds: must be a whole number from 1 to 3600, got a non-scalar value"},
      {"extender: {podDistribution: {window: 10}}",
       "extender.podDistribution.window: unknown key (allowed: maxShapes, minPods, seed, "
       "windowPods, windowSeconds)"},
      {"extender: {podDistribution: {windowPods: 0}}",
       "extender.podDistribution.windowPods: must be a whole number from 1 to 100000, got \"0\""},
      {"extender: {podDistribution: {windowSeconds: -5}}",
       "extender.podDistribution.windowSeconds: must be a whole number from 0 to 2592000"},
      {"extender: {podDistribution: {maxShapes: 1000}}",
       "extender.podDistribution.maxShapes: must be a whole number from 1 to 256"},
      {"extender: {podDistribution: {windowPods: 100, minPods: 500}}",
       "extender.podDistribution.minPods: must be at most windowPods (100), got 500"},
      {"extender: {podDistribution: {seed: []}}",
       "extender.podDistribution.seed: must be a non-empty list"},
      {"extender: {podDistribution: {seed: [{gpus: 1, gpuMilli: 300}]}}",
       "extender.podDistribution.seed[0].pods: is required"},
      {"extender: {podDistribution: {seed: [{pods: 1}, {gpus: 2, gpuMilli: 500, pods: 1}]}}",
       "extender.podDistribution.seed[1].gpuMilli: must be 1000 (whole GPUs) for a pod of 2 GPUs"},
      {"extender: {podDistribution: {seed: [{gpuMilli: 1000, gpuMemory: 4Gi, pods: 1}]}}",
       "extender.podDistribution.seed[0].gpuMemory: applies only to a share of one GPU"},
      {"extender: {podDistribution: {seed: [{gpuMilli: 1200, pods: 1}]}}",
       "extender.podDistribution.seed[0].gpuMilli: must be a whole number from 1 to 1000"},
      {"extender: {maxClientsPerGpu: 64}",
       "extender.maxClientsPerGpu: must be a whole number from 1 to 48"},
      {"extender: {urlPrefix: scheduler}",
       "extender.urlPrefix: must be a URL path starting with '/'"},
      {"extender: {nodeSelecter: {a: b}}", "extender.nodeSelecter: unknown key"},
      {"webhook: {}", "config.webhook: unknown key (allowed: extender)"},
      // The keys the webhook shares, read by the same code (platform/config_keys.h).
      {"extender: {defaultMemoryLimit: 4GB}",
       "extender.defaultMemoryLimit: must be a quantity >= 256Mi (extender.minMemoryLimit), got "
       "\"4GB\""},
      {"extender: {minMemoryLimit: 1Gi, defaultMemoryLimit: 100Mi}",
       "extender.defaultMemoryLimit: must be a quantity >= 1024Mi (extender.minMemoryLimit)"},
      {"extender: {defaultThreadPercentage: '+30'}",
       "extender.defaultThreadPercentage: must be an integer 1-100, got \"+30\""},
      {"extender: {gpuResourceNames: []}", "extender.gpuResourceNames: must be a non-empty list"},
      {"extender: {gpuResourceNames: [a/b/c]}",
       "extender.gpuResourceNames[0]: must be a resource name like nvidia.com/gpu, got \"a/b/c\""},
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
