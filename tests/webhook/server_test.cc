// The webhook served for real: the platform HTTPS server with a real TLS client,
// certificate rotation, malformed bodies, and the metrics listener checked by promtool.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "platform/http_server.h"
#include "platform/metrics.h"
#include "platform/self_signed_cert.h"
#include "tests/platform/test_client.h"
#include "tests/support/child_process.h"
#include "tests/support/read_file.h"
#include "webhook/routes.h"

namespace mpshare::webhook {
namespace {

using testing_support::ChildProcess;
using testing_support::Logged;
using testing_support::readFile;
using testing_support::waitForServingPort;

namespace fs = std::filesystem;
using nlohmann::json;
using platform::testing::ClientOptions;
using platform::testing::fetch;
using platform::testing::TestConnection;

const fs::path kFixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/admission";

class WebhookServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = platform::testing::makeTempDir();
    bundle_ = platform::writeSelfSignedBundle(dir_);
    Config config;
    config.max_request_bytes = 64 * 1024;
    routes_ = std::make_unique<WebhookRoutes>(config, registry_);
    platform::ServerOptions options;
    options.tls = platform::TlsFiles{bundle_.cert_file, bundle_.key_file, ""};
    options.max_body_bytes = config.max_request_bytes + 1;
    options.tls_reload_interval = std::chrono::milliseconds(50);
    server_ = platform::startHttpServer(
        options, [this](const platform::HttpRequest& r) { return routes_->handle(r); });
    metrics_server_ = platform::startHttpServer(
        platform::ServerOptions{},
        [this](const platform::HttpRequest& r) { return routes_->handleMetrics(r); });
  }
  void TearDown() override {
    server_.reset();
    metrics_server_.reset();
    fs::remove_all(dir_);
  }
  ClientOptions tls() const {
    ClientOptions o;
    o.ca_file = bundle_.ca_file;
    return o;
  }

  std::string dir_;
  platform::TlsBundle bundle_;
  platform::MetricsRegistry registry_;
  std::unique_ptr<WebhookRoutes> routes_;
  std::unique_ptr<platform::HttpServer> server_;
  std::unique_ptr<platform::HttpServer> metrics_server_;
};

TEST_F(WebhookServerTest, MutatesOverTlsExactlyAsTheGoldenFixture) {
  TestConnection conn(server_->port(), tls());
  for (const char* name : {"create-annotated", "deny-thread-percentage", "update-ignored"}) {
    const auto response =
        conn.request("POST", "/mutate?timeout=10s", readFile(kFixtures / name / "request.json"),
                     {{"Content-Type", "application/json"}});
    ASSERT_EQ(response.status, 200) << name << ": " << response.body;
    EXPECT_EQ(json::parse(response.body), json::parse(readFile(kFixtures / name / "response.json")))
        << name;
  }
}

TEST_F(WebhookServerTest, MalformedBodiesGet400AndTheServerKeepsServing) {
  const std::string too_big(70 * 1024, ' ');
  const struct {
    std::string body;
    const char* error;
  } cases[] = {
      {"not json", "body: is not valid JSON"},
      {R"({"apiVersion":"v1","kind":"Pod"})", "apiVersion: must be \"admission.k8s.io/v1\""},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}})",
       "request.uid: is missing"},
      {too_big, "exceeds"},
  };
  for (const auto& c : cases) {
    const auto response = fetch(server_->port(), tls(), "POST", "/mutate", c.body);
    EXPECT_EQ(response.status, 400) << c.error;
    const std::string error = json::parse(response.body)["error"].get<std::string>();
    EXPECT_NE(error.find(c.error), std::string::npos) << error;
    EXPECT_EQ(fetch(server_->port(), tls(), "GET", "/healthz").status, 200);
  }
  EXPECT_EQ(fetch(server_->port(), tls(), "GET", "/mutate").status, 405);
  EXPECT_EQ(fetch(server_->port(), tls(), "POST", "/healthz").status, 405);
  EXPECT_EQ(fetch(server_->port(), tls(), "GET", "/nope").status, 404);
  EXPECT_EQ(fetch(server_->port(), tls(), "GET", "/readyz").status, 200);
  routes_->setReady(false);
  EXPECT_EQ(fetch(server_->port(), tls(), "GET", "/readyz").status, 503);
}

TEST_F(WebhookServerTest, PlainHttpIsRefusedAndOldTlsIsRefused) {
  ClientOptions plain;
  plain.tls = false;
  EXPECT_ANY_THROW(fetch(server_->port(), plain, "GET", "/healthz"));
  ClientOptions tls11 = tls();
  tls11.min_version = TLS1_1_VERSION;
  tls11.max_version = TLS1_1_VERSION;
  EXPECT_ANY_THROW(TestConnection(server_->port(), tls11));
}

TEST_F(WebhookServerTest, RotatedCertificateIsServedWithoutRestart) {
  const std::string before = server_->servingCertificate();
  EXPECT_EQ(TestConnection(server_->port(), tls()).peerCertificate(), before);
  const auto next = platform::issueCertificate(
      bundle_.ca, {.common_name = "rotated", .subject_alt_names = {"localhost", "127.0.0.1"}});
  // Key first would pair a new key with the old cert for a moment; the store keeps
  // the previous pair until both match, which is what this exercises.
  platform::writePemFile(bundle_.key_file, next.key_pem, true);
  platform::writePemFile(bundle_.cert_file, next.cert_pem, false);
  std::string seen;
  for (int i = 0; i < 100 && seen.find("CN=rotated") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = TestConnection(server_->port(), tls()).peerCertificate();
  }
  EXPECT_NE(seen.find("CN=rotated"), std::string::npos) << seen;
  const auto response = fetch(server_->port(), tls(), "POST", "/mutate",
                              readFile(kFixtures / "create-annotated" / "request.json"));
  EXPECT_EQ(response.status, 200);
}

TEST_F(WebhookServerTest, MetricsCountOutcomesAndPassPromtool) {
  for (const char* name :
       {"create-annotated", "create-no-gpu", "deny-two-gpus", "deny-thread-percentage"}) {
    ASSERT_EQ(fetch(server_->port(), tls(), "POST", "/mutate",
                    readFile(kFixtures / name / "request.json"))
                  .status,
              200);
  }
  ASSERT_EQ(fetch(server_->port(), tls(), "POST", "/mutate", "{").status, 400);
  ClientOptions plain;
  plain.tls = false;
  const auto metrics = fetch(metrics_server_->port(), plain, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string& text = metrics.body;
  for (const char* line : {"mpshare_webhook_requests_total{outcome=\"patched\"} 1",
                           "mpshare_webhook_requests_total{outcome=\"allowed\"} 1",
                           "mpshare_webhook_requests_total{outcome=\"denied\"} 2",
                           "mpshare_webhook_requests_total{outcome=\"bad_request\"} 1",
                           "mpshare_webhook_denials_total{reason=\"gpu_count\"} 1",
                           "mpshare_webhook_denials_total{reason=\"thread_percentage\"} 1",
                           "mpshare_webhook_request_duration_seconds_count 5"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  EXPECT_EQ(fetch(metrics_server_->port(), plain, "GET", "/other").status, 404);

  if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool missing";
  const std::string file = dir_ + "/metrics.txt";
  std::ofstream(file) << text;
  const std::string cmd = "promtool check metrics < " + file + " > " + dir_ + "/out.txt 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << readFile(dir_ + "/out.txt");
  EXPECT_EQ(readFile(dir_ + "/out.txt"), "");
}

// `mpshare-webhook serve` itself, SIGTERM while clients keep sending reviews on
// kept-alive connections: every review sent is answered (the last ones with
// Connection: close), new connections are then refused, and it exits 0.
TEST(WebhookProcessTest, SigtermUnderLoadAnswersEveryReviewSentAndExitsZero) {
  // The binary sits beside tests/ in the build tree.
  const fs::path binary =
      fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() /
      "webhook/mpshare-webhook";
  if (!fs::exists(binary)) GTEST_SKIP() << binary << " not built";
  signal(SIGPIPE, SIG_IGN);
  const std::string dir = platform::testing::makeTempDir();
  const auto bundle = platform::writeSelfSignedBundle(dir);
  const std::string err_file = dir + "/err";
  ChildProcess serve(
      {binary.string(), "serve", "--listen", "127.0.0.1:0", "--tls-cert", bundle.cert_file,
       "--tls-key", bundle.key_file, "--threads", "2", "--shutdown-timeout", "5"},
      err_file, Logged::kStderrOnly);
  const uint16_t port = waitForServingPort(err_file, std::chrono::seconds(10));
  ASSERT_NE(port, 0) << readFile(err_file);
  ClientOptions tls;
  tls.ca_file = bundle.ca_file;
  const std::string review = readFile(kFixtures / "create-annotated" / "request.json");
  const json want = json::parse(readFile(kFixtures / "create-annotated" / "response.json"));

  std::atomic<int> answered{0}, unanswered{0}, wrong{0}, refused{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      for (;;) {
        std::unique_ptr<TestConnection> connection;
        try {
          connection = std::make_unique<TestConnection>(port, tls);
        } catch (const std::runtime_error&) {
          ++refused;  // nothing sent
          return;
        }
        for (;;) {
          platform::testing::ClientResponse response;
          try {
            response = connection->request("POST", "/mutate?timeout=10s", review,
                                           {{"Content-Type", "application/json"}});
          } catch (const std::runtime_error&) {
            ++unanswered;
            break;
          }
          ++answered;
          if (response.status != 200 || json::parse(response.body) != want) ++wrong;
          if (response.headers["connection"] == "close") break;
        }
      }
    });
  }
  while (answered.load() < 300) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  serve.signal(SIGTERM);
  for (auto& t : clients) t.join();
  const auto status = serve.waitForExit(std::chrono::seconds(10));
  EXPECT_TRUE(status) << "serve did not stop within 10 s of SIGTERM";
  EXPECT_EQ(unanswered.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(refused.load(), 4);
  EXPECT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << readFile(err_file);
  EXPECT_NE(readFile(err_file).find("stopped drained=true"), std::string::npos)
      << readFile(err_file);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mpshare::webhook
