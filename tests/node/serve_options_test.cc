#include "node/serve_options.h"

#include <gtest/gtest.h>

namespace mpshare::node {
namespace {

TEST(ServeOptionsTest, DefaultsAreTheKubeletsRealPaths) {
  auto options = parseServeOptions({"--node-name", "gpu-a"});
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_EQ(options->device_plugin_dir, "/var/lib/kubelet/device-plugins");
  EXPECT_EQ(options->pod_resources_socket, "/var/lib/kubelet/pod-resources/kubelet.sock");
  EXPECT_EQ(options->cdi_dir, "/var/run/cdi");
  EXPECT_EQ(options->nvidia_cdi_spec, "/var/run/cdi/nvidia.yaml");
  EXPECT_EQ(options->mps_root, "/run/mpshare/mps");
  EXPECT_EQ(options->resource_name, "nvidia.com/gpu.shared");
  EXPECT_EQ(options->clients_per_gpu, 48);
  EXPECT_EQ(options->metrics_listen, "0.0.0.0:9400");
}

TEST(ServeOptionsTest, BothFlagFormsSetEveryField) {
  auto options = parseServeOptions({"--node-name=gpu-a", "--kubeconfig", "/k",
                                    "--device-plugin-dir=/dp", "--pod-resources-socket", "/pr.sock",
                                    "--cdi-dir=/cdi", "--nvidia-cdi-spec", "/etc/cdi/nvidia.json",
                                    "--mps-root=/mps", "--inventory", "/inv.yaml",
                                    "--resource-name=example.com/gpu", "--clients-per-gpu", "10",
                                    "--metrics-listen=127.0.0.1:9500", "--reconcile-seconds=5"});
  ASSERT_TRUE(options.ok()) << options.error().describe();
  EXPECT_EQ(options->node_name, "gpu-a");
  EXPECT_EQ(options->kubeconfig, "/k");
  EXPECT_EQ(options->device_plugin_dir, "/dp");
  EXPECT_EQ(options->pod_resources_socket, "/pr.sock");
  EXPECT_EQ(options->cdi_dir, "/cdi");
  EXPECT_EQ(options->nvidia_cdi_spec, "/etc/cdi/nvidia.json");
  EXPECT_EQ(options->mps_root, "/mps");
  EXPECT_EQ(options->inventory_file, "/inv.yaml");
  EXPECT_EQ(options->resource_name, "example.com/gpu");
  EXPECT_EQ(options->clients_per_gpu, 10);
  EXPECT_EQ(options->metrics_listen, "127.0.0.1:9500");
  EXPECT_EQ(options->reconcile_seconds, 5);
}

TEST(ServeOptionsTest, BadFlagsAreNamedWithWhatIsAllowed) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases{
      {{},
       "--node-name: is required (the Node this agent runs on; in the DaemonSet, spec.nodeName "
       "through the "
       "downward API)"},
      {{"--node-name", "a", "--clients-per-gpu", "64"},
       "--clients-per-gpu: must be a whole number 1-48, got \"64\""},
      {{"--node-name", "a", "--clients-per-gpu=0"},
       "--clients-per-gpu: must be a whole number 1-48, got \"0\""},
      {{"--node-name", "a", "--clients-per-gpu", "4x"},
       "--clients-per-gpu: must be a whole number 1-48, got \"4x\""},
      {{"--node-name", "a", "--metrics-listen", "9400"},
       "--metrics-listen: expected ADDR:PORT such as 0.0.0.0:9400, got \"9400\""},
      {{"--node-name", "a", "--resource-name", "gpu"},
       "--resource-name: must be an extended resource name such as nvidia.com/gpu.shared, got "
       "\"gpu\""},
      {{"--node-name", "a", "--cdi-dir"}, "--cdi-dir: needs a value"},
      {{"--node-name", "a", "--cdi-dir="}, "--cdi-dir: must not be empty"},
      {{"--node-name", "a", "--gpus", "2"}, "--gpus: unknown flag (serve takes --cdi-dir, "},
  };
  for (const auto& c : cases) {
    auto options = parseServeOptions(c.args);
    ASSERT_FALSE(options.ok()) << c.error;
    EXPECT_EQ(options.error().describe().substr(0, c.error.size()), c.error);
  }
}

TEST(ServeOptionsTest, InventoryTakesAFileAndAFormat) {
  auto options = parseInventoryOptions({"--format=json", "--inventory", "gpus.yaml"});
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->format, "json");
  EXPECT_EQ(options->inventory_file, "gpus.yaml");
  auto bad = parseInventoryOptions({"--format", "yaml"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().describe(), "--format: must be text or json, got \"yaml\"");
}

TEST(ServeOptionsTest, UsageFlags) {
  auto serve = parseServeOptions({"--node-name", "a", "--usage-seconds", "0", "--proc-root",
                                  "/host/proc", "--processes-file", "p.yaml"});
  ASSERT_TRUE(serve.ok());
  EXPECT_EQ(serve->usage_seconds, 0);  // per-pod usage off
  EXPECT_EQ(serve->proc_root, "/host/proc");
  EXPECT_EQ(serve->processes_file, "p.yaml");
  EXPECT_EQ(parseServeOptions({"--node-name", "a"})->usage_seconds, 15);
  auto slow = parseServeOptions({"--node-name", "a", "--usage-seconds", "3601"});
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().describe(),
            "--usage-seconds: must be a whole number 0-3600, got \"3601\"");

  auto usage = parseUsageOptions({"--pods-file", "pods.json", "--format=json"});
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->pods_file, "pods.json");
  EXPECT_EQ(usage->proc_root, "/proc");
  const std::vector<std::vector<std::string>> neither_or_both = {
      {}, {"--pods-file", "p.json", "--node-name", "a"}};
  for (const auto& args : neither_or_both) {
    auto bad = parseUsageOptions(args);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().field, "--pods-file");
  }
}

}  // namespace
}  // namespace mpshare::node
