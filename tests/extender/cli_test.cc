// Runs the mpshare-extender binary: --help and --version, --flag=value, the
// messages for a bad command line, cluster mode without credentials, and
// `serve --standalone` answering and stopping on SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/platform/test_client.h"
#include "tests/support/child_process.h"
#include "tests/support/read_file.h"

namespace mpshare::extender {
namespace {

namespace fs = std::filesystem;
using testing_support::ChildProcess;
using testing_support::Logged;
using testing_support::readFile;
using testing_support::waitForServingPort;

const std::string kNodes = std::string(MPSHARE_SOURCE_DIR) + "/manifests/examples/nodes.yaml";

using CliRun = testing_support::ShellRun;

// Runs the binary with `args` (shell words) and stdin from /dev/null, without
// any cluster credentials in its environment unless `env` sets some.
CliRun run(const std::string& args, const std::string& env = "") {
  return testing_support::runShell(
      "env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT " + env + " " +
      MPSHARE_EXTENDER_BINARY + " " + args + " < /dev/null");
}

TEST(ExtenderCliTest, HelpOnEveryCommandExitsZero) {
  const struct {
    const char* args;
    const char* usage;
  } cases[] = {
      {"--help", "mpshare-extender serve --listen ADDR:PORT"},
      {"-h", "mpshare-extender simulate --nodes FILE"},
      {"help", "mpshare-extender --help | --version"},
      {"serve --help", "mpshare-extender serve --listen ADDR:PORT"},
      {"serve --listen 8443 --help", "--standalone: no API server"},
      {"simulate --help", "usage: mpshare-extender simulate --nodes FILE --pods FILE"},
      {"simulate --bogus -h",
       "NAME: fgd (default), fgd-plus, fgd-plus-batch, binpack, spread, equal-slices N"},
  };
  for (const auto& c : cases) {
    const CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 0) << c.args << ": " << r.err;
    EXPECT_NE(r.out.find(c.usage), std::string::npos) << c.args << ": " << r.out;
    EXPECT_EQ(r.err, "") << c.args;
  }
}

TEST(ExtenderCliTest, VersionIsTheProjectVersion) {
  const CliRun r = run("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("mpshare-extender ") + MPSHARE_VERSION + "\n");
}

TEST(ExtenderCliTest, BadCommandLinesExit2NamingTheProblem) {
  const struct {
    const char* args;
    const char* error;
  } cases[] = {
      {"", "mpshare-extender: a subcommand is required"},
      {"frobnicate", "unknown subcommand \"frobnicate\""},
      // The address is the problem, whatever else is missing.
      {"serve --listen 8443", "--listen: expected ADDR:PORT such as 127.0.0.1:8888"},
      {"serve --listen=8443 --standalone", "--listen: expected ADDR:PORT"},
      {"serve --standalone", "--listen: is required"},
      {"serve --listen=:0 --standalone=yes", "--standalone: takes no value, got \"yes\""},
      {"serve --listen :0 --verbose", "--verbose: unknown flag"},
      {"serve --listen :0 --nodes=x.yaml", "--nodes: is for --standalone mode"},
      {"serve --listen :0 --standalone --config", "--config: needs a value"},
      {"simulate --nodes=x", "--nodes and --pods are required"},
      {"simulate --nodes x --pods y --seed=-1", "--seed: \"-1\" is not a whole number"},
      {"simulate --inflate=yes --nodes x --pods y", "--inflate: takes no value"},
  };
  for (const auto& c : cases) {
    const CliRun r = run(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args;
    EXPECT_NE(r.err.find(c.error), std::string::npos) << c.args << ": " << r.err;
  }
  const CliRun serve = run("serve --listen 8443");
  EXPECT_NE(serve.err.find("Run \"mpshare-extender serve --help\""), std::string::npos);
}

TEST(ExtenderCliTest, ConfigErrorIsOneLine) {
  const std::string dir = platform::testing::makeTempDir();
  std::ofstream(dir + "/extender.yaml") << "extender:\n  policy: firstfit\n";
  const CliRun r =
      run("serve --listen 127.0.0.1:0 --standalone --config=" + dir + "/extender.yaml");
  fs::remove_all(dir);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "mpshare-extender serve: --config " + dir +
                "/extender.yaml: extender.policy: must be one of fgd-plus-batch, fgd-plus, fgd, "
                "binpack, spread, got \"firstfit\"\n");
}

TEST(ExtenderCliTest, ClusterModeWithoutCredentialsSuggestsStandalone) {
  const CliRun r = run("serve --listen 127.0.0.1:0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no API server to watch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--standalone"), std::string::npos) << r.err;
  // With credentials named, their own problem is reported, not the suggestion.
  const CliRun named = run("serve --listen 127.0.0.1:0 --kubeconfig=/nonexistent/kubeconfig");
  EXPECT_EQ(named.exit_code, 2);
  EXPECT_NE(named.err.find("/nonexistent/kubeconfig"), std::string::npos) << named.err;
  EXPECT_EQ(named.err.find("no API server to watch"), std::string::npos) << named.err;
}

TEST(ExtenderCliTest, SimulateTakesFlagEqualsValue) {
  const std::string dir = platform::testing::makeTempDir();
  std::ofstream(dir + "/pods.yaml") << R"(apiVersion: v1
kind: PodList
items:
- metadata:
    name: a
    annotations: {mpshare.io/thread-percentage: "30", mpshare.io/memory-limit: 4Gi}
  spec:
    containers:
    - name: c
      resources: {limits: {nvidia.com/gpu: "1"}}
)";
  const CliRun r = run("simulate --nodes=" + kNodes + " --pods=" + dir +
                       "/pods.yaml --policy=binpack --seed=3 --format=json");
  fs::remove_all(dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["policy"], "binpack") << r.out;
  EXPECT_EQ(report["seed"], 3) << r.out;
}

TEST(ExtenderCliTest, StandaloneServeAnswersAndStopsOnSigterm) {
  const std::string dir = platform::testing::makeTempDir();
  const std::string err_file = dir + "/err";
  ChildProcess serve({MPSHARE_EXTENDER_BINARY, "serve", "--listen=127.0.0.1:0", "--standalone",
                      "--nodes=" + kNodes},
                     err_file, Logged::kStderrOnly);
  const uint16_t port = waitForServingPort(err_file, std::chrono::seconds(5));
  ASSERT_NE(port, 0) << readFile(err_file);
  platform::testing::ClientOptions plain;
  plain.tls = false;
  const auto state = platform::testing::fetch(port, plain, "GET", "/state");
  EXPECT_EQ(state.status, 200);
  EXPECT_NE(state.body.find("gpu-h100"), std::string::npos) << state.body;

  serve.signal(SIGTERM);
  const auto status = serve.waitForExit(std::chrono::seconds(5));
  ASSERT_TRUE(status) << "serve did not stop within 5 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << readFile(err_file);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mpshare::extender
