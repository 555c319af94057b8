#include "webhook/config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/base64.h"
#include "tests/support/read_file.h"
#include "webhook/review.h"

namespace mpshare::webhook {
namespace {

core::Result<Config> parse(const std::string& yaml) {
  std::istringstream in(yaml);
  return parseConfig(in);
}

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  for (const char* yaml : {"", "webhook:\n", "webhook: {}\n"}) {
    auto config = parse(yaml);
    ASSERT_TRUE(config.ok()) << yaml << config.error().describe();
    const auto& rules = config->rules;
    EXPECT_EQ(rules.resources.names,
              (std::vector<std::string>{"nvidia.com/gpu", "nvidia.com/gpu.shared"}));
    EXPECT_EQ(rules.min_memory_limit_mib, 256);
    EXPECT_FALSE(rules.default_thread_percentage.has_value());
    EXPECT_FALSE(rules.default_memory_limit_mib.has_value());
    EXPECT_TRUE(rules.daemon.inject);
    EXPECT_TRUE(rules.daemon.pipe);
    EXPECT_EQ(rules.daemon.pipe_directory, "/run/mpshare/mps/pipe");
    EXPECT_EQ(rules.daemon.volume_name, "mpshare-mps-pipe");
    EXPECT_EQ(config->max_request_bytes, size_t{3} << 20);
  }
}

TEST(ConfigTest, ReadsEveryField) {
  auto config = parse(R"(
webhook:
  gpuResourceNames: [example.com/gpu]
  minMemoryLimit: 512Mi
  defaultThreadPercentage: 25
  defaultMemoryLimit: 1.5Gi
  maxRequestBytes: 1Mi
  daemonAccess:
    inject: false
    pipeDirectory: /var/run/mps
    volumeName: mps
)");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  const auto& rules = config->rules;
  EXPECT_EQ(rules.resources.names, std::vector<std::string>{"example.com/gpu"});
  EXPECT_EQ(rules.min_memory_limit_mib, 512);
  EXPECT_EQ(rules.default_thread_percentage, 25);
  EXPECT_EQ(rules.default_memory_limit_mib, 1536);
  EXPECT_EQ(config->max_request_bytes, size_t{1} << 20);
  EXPECT_FALSE(rules.daemon.inject);
  EXPECT_EQ(rules.daemon.pipe_directory, "/var/run/mps");
  EXPECT_EQ(rules.daemon.volume_name, "mps");
}

// mpshare-node's CDI edits bring the pipe; the webhook keeps hostIPC and the limits.
TEST(ConfigTest, PipeCanBeTurnedOffWhileHostIpcStays) {
  const struct {
    const char* yaml;
    bool inject, pipe;
  } cases[] = {
      {"webhook:\n  daemonAccess:\n    pipe: false\n", true, false},
      {"webhook:\n  daemonAccess:\n    inject: true\n    pipe: false\n", true, false},
      {"webhook:\n  daemonAccess:\n    pipe: true\n", true, true},
      {"webhook:\n  daemonAccess:\n    inject: false\n    pipe: false\n", false, false},
      {"webhook:\n  daemonAccess:\n    inject: false\n", false, true},
  };
  for (const auto& c : cases) {
    auto config = parse(c.yaml);
    ASSERT_TRUE(config.ok()) << c.yaml << config.error().describe();
    EXPECT_EQ(config->rules.daemon.inject, c.inject) << c.yaml;
    EXPECT_EQ(config->rules.daemon.pipe, c.pipe) << c.yaml;
  }
}

// End to end through the review: with pipe off the patch adds hostIPC and the
// limits only, and the patched pod needs nothing more on reinvocation.
TEST(ConfigTest, WithoutThePipeTheReviewPatchesHostIpcAndLimitsOnly) {
  using nlohmann::json;
  auto config = parse("webhook:\n  daemonAccess:\n    pipe: false\n");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  const std::filesystem::path fixture = std::filesystem::path(MPSHARE_SOURCE_DIR) /
                                        "tests/fixtures/admission/create-annotated/request.json";
  const json request = json::parse(testing_support::readFile(fixture));
  const ReviewResult result = reviewAdmission(request.dump(), *config);
  ASSERT_EQ(result.outcome, ReviewOutcome::kPatched) << result.body;
  const json response = json::parse(result.body);
  const auto patch_text = platform::base64Decode(response["response"]["patch"].get<std::string>());
  ASSERT_TRUE(patch_text.ok()) << patch_text.error().describe();
  const json patch = json::parse(*patch_text);
  const json pod = request["request"]["object"].patch(patch);

  EXPECT_EQ(pod["spec"]["hostIPC"], true);
  EXPECT_FALSE(pod["spec"].contains("volumes")) << pod["spec"].dump();
  const json& container = pod["spec"]["containers"][0];
  EXPECT_FALSE(container.contains("volumeMounts")) << container.dump();
  std::vector<std::string> env;
  for (const auto& e : container["env"]) env.push_back(e["name"].get<std::string>());
  EXPECT_EQ(env, (std::vector<std::string>{"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE",
                                           "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"}));

  json again = request;
  again["request"]["object"] = pod;
  EXPECT_EQ(reviewAdmission(again.dump(), *config).outcome, ReviewOutcome::kAllowed);
}

TEST(ConfigTest, ErrorsNameTheFieldAndWhatIsAllowed) {
  const struct {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"webhook:\n  minMemoryLimit: abc\n",
       "webhook.minMemoryLimit: must be a quantity >= 1Mi, got \"abc\""},
      {"webhook:\n  minMemoryLimit: 1Ki\n",
       "webhook.minMemoryLimit: must be a quantity >= 1Mi, got \"1Ki\""},
      {"webhook:\n  minMemoryLimt: 1Gi\n",
       "webhook.minMemoryLimt: unknown key (allowed: daemonAccess, "},
      {"server: {}\n", "config.server: unknown key (allowed: webhook)"},
      {"webhook:\n  daemonAccess:\n    inject: yes please\n",
       "webhook.daemonAccess.inject: must be true or false, got \"yes please\""},
      {"webhook:\n  daemonAccess:\n    pipe: off\n",
       "webhook.daemonAccess.pipe: must be true or false, got \"off\""},
      {"webhook:\n  daemonAccess:\n    inject: false\n    pipe: true\n",
       "webhook.daemonAccess.pipe: must be false or absent when webhook.daemonAccess.inject is "
       "false (nothing is injected), got true"},
      {"webhook:\n  daemonAccess:\n    pipes: false\n",
       "webhook.daemonAccess.pipes: unknown key (allowed: inject, pipe, pipeDirectory, "
       "volumeName)"},
      {"webhook:\n  daemonAccess:\n    pipeDirectory: run/mps\n",
       "webhook.daemonAccess.pipeDirectory: must be an absolute host path, got \"run/mps\""},
      {"webhook:\n  daemonAccess:\n    volumeName: MPS_Pipe\n",
       "webhook.daemonAccess.volumeName: must be a DNS-1123 label"},
      {"webhook:\n  daemonAccess:\n    hostIPC: true\n",
       "webhook.daemonAccess.hostIPC: unknown key"},
      {"webhook:\n  defaultThreadPercentage: 0\n",
       "webhook.defaultThreadPercentage: must be an integer 1-100, got \"0\""},
      {"webhook:\n  defaultThreadPercentage: 101\n",
       "webhook.defaultThreadPercentage: must be an integer 1-100"},
      {"webhook:\n  defaultMemoryLimit: 128Mi\n",
       "webhook.defaultMemoryLimit: must be a quantity >= 256Mi (webhook.minMemoryLimit), got "
       "\"128Mi\""},
      {"webhook:\n  gpuResourceNames: []\n", "webhook.gpuResourceNames: must be a non-empty list"},
      {"webhook:\n  gpuResourceNames: [gpu]\n",
       "webhook.gpuResourceNames[0]: must be a resource name like nvidia.com/gpu, got \"gpu\""},
      {"webhook:\n  maxRequestBytes: 100\n",
       "webhook.maxRequestBytes: must be a quantity >= 4Ki, got \"100\""},
      {"webhook:\n  maxRequestBytes: 1Gi\n", "webhook.maxRequestBytes: must be at most 64Mi"},
      {"webhook: [1, 2]\n", "webhook: must be a mapping"},
      {"webhook: {minMemoryLimit: [\n", "config: is not valid YAML"},
  };
  for (const auto& c : cases) {
    auto config = parse(c.yaml);
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_NE(config.error().describe().find(c.error), std::string::npos)
        << c.yaml << "\n got: " << config.error().describe() << "\n want: " << c.error;
  }
}

// The config the install manifests ship (rendered from the Helm chart) must load.
TEST(ConfigTest, ShippedManifestConfigLoads) {
  const std::filesystem::path path =
      std::filesystem::path(MPSHARE_SOURCE_DIR) / "manifests/install/webhook-configmap.yaml";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  const YAML::Node configmap = YAML::LoadFile(path.string());
  auto config = parse(configmap["data"]["webhook.yaml"].as<std::string>());
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_TRUE(config->rules.daemon.inject);
  // The chart runs mpshare-node by default, whose CDI edits carry the pipe.
  EXPECT_FALSE(config->rules.daemon.pipe);
}

}  // namespace
}  // namespace mpshare::webhook
