// Runs the mpshare-webhook binary: `review` on fixtures, exit codes and messages
// for bad input and bad flags, and `serve` stopping cleanly on SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "platform/self_signed_cert.h"
#include "tests/platform/test_client.h"
#include "tests/support/read_file.h"

namespace mpshare::webhook {
namespace {

using testing_support::readFile;

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/admission";

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the binary with `args`, stdin from `input_file` (or /dev/null).
CliRun run(const std::string& args, const std::string& input_file = "/dev/null") {
  const std::string dir = platform::testing::makeTempDir();
  const std::string cmd = std::string(MPSHARE_WEBHOOK_BINARY) + " " + args + " < " + input_file +
                          " > " + dir + "/out 2> " + dir + "/err";
  const int status = std::system(cmd.c_str());
  CliRun r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, readFile(dir + "/out"),
           readFile(dir + "/err")};
  fs::remove_all(dir);
  return r;
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
      {"review --verbose", "unknown flag --verbose"},
      {"review --config", "--config needs a value"},
      {"review --config /nonexistent.yaml", "--config: cannot read /nonexistent.yaml"},
      {"serve --tls-cert a --tls-key b", "--listen is required"},
      {"serve --listen 8443 --tls-cert a --tls-key b", "--listen: expected ADDR:PORT"},
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
  const CliRun help = run("--help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("mpshare-webhook serve --listen"), std::string::npos);
}

TEST(CliTest, ServeAnswersOverTlsAndStopsOnSigterm) {
  const std::string dir = platform::testing::makeTempDir();
  const auto bundle = platform::writeSelfSignedBundle(dir);
  const std::string err_file = dir + "/err";
  const std::string config_file = dir + "/webhook.yaml";
  std::ofstream(config_file) << "webhook:\n  maxRequestBytes: 4Ki\n";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (freopen(err_file.c_str(), "w", stderr) == nullptr) _exit(126);
    execl(MPSHARE_WEBHOOK_BINARY, "mpshare-webhook", "serve", "--listen", "127.0.0.1:0",
          "--tls-cert", bundle.cert_file.c_str(), "--tls-key", bundle.key_file.c_str(), "--config",
          config_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The "serving" log line names the port the kernel chose.
  uint16_t port = 0;
  const std::regex serving(R"(serving listen=127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    std::smatch m;
    const std::string log = readFile(err_file);
    if (std::regex_search(log, m, serving)) port = static_cast<uint16_t>(std::stoi(m[1]));
  }
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

  kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  if (waitpid(pid, &status, WNOHANG) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ADD_FAILURE() << "serve did not stop within 5 s of SIGTERM";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << readFile(err_file);
  EXPECT_NE(readFile(err_file).find("stopping"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mpshare::webhook
