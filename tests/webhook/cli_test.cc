// Runs the mpshare-webhook binary: `review` on fixtures and on bare Pod
// manifests, --help and --version, exit codes and messages for bad input and bad
// flags, and `serve` stopping cleanly on SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/self_signed_cert.h"
#include "tests/platform/test_client.h"
#include "tests/support/child_process.h"
#include "tests/support/read_file.h"

namespace mpshare::webhook {
namespace {

using testing_support::ChildProcess;
using testing_support::Logged;
using testing_support::readFile;
using testing_support::waitForServingPort;

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/admission";
const fs::path kExamplePods = fs::path(MPSHARE_SOURCE_DIR) / "manifests/examples/pods";

using CliRun = testing_support::ShellRun;

// Runs the binary with `args`, stdin from `input_file` (or /dev/null).
CliRun run(const std::string& args, const std::string& input_file = "/dev/null") {
  return testing_support::runShell(std::string(MPSHARE_WEBHOOK_BINARY) + " " + args + " < " +
                                   input_file);
}

TEST(CliTest, ReviewAnswersLikeTheServer) {
  for (const char* name : {"create-annotated", "deny-thread-percentage", "create-no-gpu"}) {
    const CliRun r = run("review", (kFixtures / name / "request.json").string());
    EXPECT_EQ(r.exit_code, 0) << name << r.err;  // a denial is still an answer
    EXPECT_EQ(json::parse(r.out), json::parse(readFile(kFixtures / name / "response.json")))
        << name;
  }
}

TEST(CliTest, ReviewRejectsMalformedInputWithExit2) {
  const std::string dir = platform::testing::makeTempDir();
  std::ofstream(dir + "/bad.json")
      << R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})";
  const CliRun r = run("review", dir + "/bad.json");
  fs::remove_all(dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("request.uid: is missing"), std::string::npos) << r.err;
}

TEST(CliTest, ReviewUsesTheConfigFile) {
  const std::string dir = platform::testing::makeTempDir();
  std::ofstream(dir + "/c.yaml") << "webhook:\n  minMemoryLimit: 8Gi\n";
  std::ofstream(dir + "/bad.yaml") << "webhook:\n  minMemoryLimit: lots\n";
  const CliRun denied = run("review --config " + dir + "/c.yaml",
                            (kFixtures / "create-annotated" / "request.json").string());
  const CliRun bad = run("review --config=" + dir + "/bad.yaml");
  fs::remove_all(dir);
  EXPECT_EQ(denied.exit_code, 0);
  EXPECT_FALSE(json::parse(denied.out)["response"]["allowed"].get<bool>());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("webhook.minMemoryLimit: must be a quantity >= 1Mi, got \"lots\""),
            std::string::npos)
      << bad.err;
}

TEST(CliTest, BadFlagsExit2NamingTheFlag) {
  const struct {
    const char* args;
    const char* error;
  } cases[] = {
      {"", "a subcommand is required"},
      {"frobnicate", "unknown subcommand \"frobnicate\""},
      {"review --verbose", "unknown flag --verbose (review takes --config, --pod)"},
      {"review --config", "--config needs a value"},
      {"review --config /nonexistent.yaml", "--config: cannot read /nonexistent.yaml"},
      {"serve --tls-cert a --tls-key b", "--listen is required"},
      {"serve --listen 8443 --tls-cert a --tls-key b", "--listen: expected ADDR:PORT"},
      // The address is the problem, not the flags still missing.
      {"serve --listen 8443", "mpshare-webhook: --listen: expected ADDR:PORT like 0.0.0.0:8443"},
      {"serve --listen=8443", "--listen: expected ADDR:PORT like 0.0.0.0:8443, got \"8443\""},
      {"serve --listen=:8443 --tls-cert=a", "--tls-key is required"},
      {"serve --listen :8443 --tls-cert a --tls-key b --metrics-listen=9090",
       "--metrics-listen: expected ADDR:PORT"},
      {"serve --listen 127.0.0.1:99999 --tls-cert a --tls-key b", "--listen: port must be 0-65535"},
      {"serve --listen :8443 --tls-cert a --tls-key b --threads 0",
       "--threads: expected a whole number 1-256, got \"0\""},
      {"serve --listen :8443 --tls-cert a --tls-key b --threads many",
       "--threads: expected a whole number 1-256, got \"many\""},
  };
  for (const auto& c : cases) {
    const CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << c.args << ": " << r.err;
  }
  // A subcommand's mistake points at that subcommand's usage.
  EXPECT_NE(run("serve --listen 8443").err.find("Run \"mpshare-webhook serve --help\""),
            std::string::npos);
}

TEST(CliTest, HelpOnEveryCommandExitsZero) {
  const struct {
    const char* args;
    const char* usage;
  } cases[] = {
      {"--help", "mpshare-webhook serve --listen ADDR:PORT"},
      {"-h", "mpshare-webhook review [--config FILE] [--pod FILE]"},
      {"help", "mpshare-webhook --help | --version"},
      {"serve --help", "mpshare-webhook serve --listen ADDR:PORT"},
      {"serve --listen 8443 -h", "--threads"},
      {"review --help", "--pod FILE: review a Pod manifest"},
  };
  for (const auto& c : cases) {
    const CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 0) << c.args << ": " << r.err;
    EXPECT_NE(r.out.find(c.usage), std::string::npos) << c.args << ": " << r.out;
    EXPECT_EQ(r.err, "") << c.args;
  }
  EXPECT_EQ(run("serve --help").out.find("mpshare-webhook review"), std::string::npos);
}

TEST(CliTest, VersionIsTheProjectVersion) {
  const CliRun r = run("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("mpshare-webhook ") + MPSHARE_VERSION + "\n");
}

// A bad config file is one line naming the file, the key and what it accepts:
// no usage after it, since the command line was right.
TEST(CliTest, ConfigErrorIsOneLine) {
  const std::string dir = platform::testing::makeTempDir();
  std::ofstream(dir + "/c.yaml") << "webhook:\n  minMemoryLimit: abc\n";
  const CliRun r = run("serve --listen :0 --tls-cert a --tls-key b --config=" + dir + "/c.yaml");
  fs::remove_all(dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "mpshare-webhook: --config " + dir +
                       "/c.yaml: webhook.minMemoryLimit: must be a quantity >= 1Mi, got \"abc\"\n");
}

// `review --pod FILE` answers for a Pod manifest as the server would for the
// API server's CREATE review of it.
TEST(CliTest, ReviewPodWrapsABarePodManifest) {
  const CliRun yaml = run("review --pod " + (kExamplePods / "infer-small.yaml").string());
  ASSERT_EQ(yaml.exit_code, 0) << yaml.err;
  const json answer = json::parse(yaml.out);
  EXPECT_EQ(answer["kind"], "AdmissionReview");
  EXPECT_TRUE(answer["response"]["allowed"].get<bool>());
  EXPECT_TRUE(answer["response"].contains("patch"));
  EXPECT_NE(yaml.err.find("ml/infer-small: allowed, with 4 changes"), std::string::npos)
      << yaml.err;
  EXPECT_NE(yaml.err.find("\"name\":\"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\",\"value\":\"10\""),
            std::string::npos)
      << yaml.err;
  EXPECT_NE(yaml.err.find("add /spec/hostIPC true"), std::string::npos) << yaml.err;

  const CliRun denied =
      run("review --pod=-", (kExamplePods / "bad-threads.yaml").string());  // stdin
  EXPECT_EQ(denied.exit_code, 0) << denied.err;
  EXPECT_FALSE(json::parse(denied.out)["response"]["allowed"].get<bool>());
  EXPECT_NE(denied.err.find("ml/bad-threads: denied: mpshare.io/thread-percentage: must be an "
                            "integer 1-100, got \"130\""),
            std::string::npos)
      << denied.err;

  // JSON, no namespace (default), resource amounts written as numbers.
  const std::string dir = platform::testing::makeTempDir();
  std::ofstream(dir + "/pod.json") << R"({"apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "annotations": {"mpshare.io/memory-limit": "512Mi"}},
    "spec": {"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu.shared": 1}}}]}})";
  const CliRun from_json = run("review --pod " + dir + "/pod.json");
  EXPECT_EQ(from_json.exit_code, 0) << from_json.err;
  EXPECT_NE(from_json.err.find("default/p: allowed"), std::string::npos) << from_json.err;
  EXPECT_NE(from_json.err.find("warning: mpshare.io/memory-limit 512 MiB is below 1 GiB"),
            std::string::npos)
      << from_json.err;
  fs::remove_all(dir);
}

TEST(CliTest, ReviewPodRefusesWhatIsNotAPod) {
  const std::string dir = platform::testing::makeTempDir();
  std::ofstream(dir + "/deploy.yaml") << "apiVersion: apps/v1\nkind: Deployment\n";
  std::ofstream(dir + "/number.yaml")
      << "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
         "    mpshare.io/thread-percentage: 30\n";
  std::ofstream(dir + "/broken.yaml") << "kind: Pod\nmetadata: [\n";
  const struct {
    std::string args;
    std::string error;
  } cases[] = {
      {"review --pod " + dir + "/deploy.yaml",
       "mpshare-webhook: --pod " + dir + "/deploy.yaml: kind: must be Pod, got \"Deployment\""},
      {"review --pod " + dir + "/number.yaml",
       "metadata.annotations.mpshare.io/thread-percentage: must be a string; quote it "
       "(mpshare.io/thread-percentage: \"30\")"},
      {"review --pod " + dir + "/broken.yaml", "is not valid YAML or JSON"},
      {"review --pod /nonexistent.yaml", "--pod: cannot read /nonexistent.yaml"},
      {"review --pod", "--pod needs a value"},
  };
  for (const auto& c : cases) {
    const CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_EQ(r.out, "") << c.args;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << c.args << ": " << r.err;
  }
  fs::remove_all(dir);
}

// The AdmissionReview the README points at is one the webhook answers.
TEST(CliTest, ExampleReviewIsAnswered) {
  const CliRun r =
      run("review", (fs::path(MPSHARE_SOURCE_DIR) / "manifests/examples/review.json").string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out)["response"]["allowed"].get<bool>()) << r.out;
}

TEST(CliTest, ServeAnswersOverTlsAndStopsOnSigterm) {
  const std::string dir = platform::testing::makeTempDir();
  const auto bundle = platform::writeSelfSignedBundle(dir);
  const std::string err_file = dir + "/err";
  const std::string config_file = dir + "/webhook.yaml";
  std::ofstream(config_file) << "webhook:\n  maxRequestBytes: 4Ki\n";
  ChildProcess serve({MPSHARE_WEBHOOK_BINARY, "serve", "--listen", "127.0.0.1:0", "--tls-cert",
                      bundle.cert_file, "--tls-key", bundle.key_file, "--config", config_file},
                     err_file, Logged::kStderrOnly);
  // The "serving" log line names the port the kernel chose.
  const uint16_t port = waitForServingPort(err_file, std::chrono::seconds(5));
  ASSERT_NE(port, 0) << readFile(err_file);
  platform::testing::ClientOptions tls;
  tls.ca_file = bundle.ca_file;
  EXPECT_EQ(platform::testing::fetch(port, tls, "GET", "/readyz").status, 200);
  const auto response =
      platform::testing::fetch(port, tls, "POST", "/mutate?timeout=5s",
                               readFile(kFixtures / "create-annotated" / "request.json"));
  EXPECT_EQ(json::parse(response.body),
            json::parse(readFile(kFixtures / "create-annotated" / "response.json")));
  // The 400 for an oversized body names the configured limit, not another number.
  const auto too_big =
      platform::testing::fetch(port, tls, "POST", "/mutate", std::string(5000, ' '));
  EXPECT_EQ(too_big.status, 400);
  EXPECT_EQ(json::parse(too_big.body)["error"], "request body exceeds 4096 bytes") << too_big.body;

  serve.signal(SIGTERM);
  const auto status = serve.waitForExit(std::chrono::seconds(5));
  ASSERT_TRUE(status) << "serve did not stop within 5 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << readFile(err_file);
  EXPECT_NE(readFile(err_file).find("stopping"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mpshare::webhook
