// Hostile clients against both servers, each built as its binary builds it
// (the webhook's routes on 4 threads, the extender's on 8 with a client CA):
// slow senders, idle floods past the connection limit, oversized headers and
// bodies, plain HTTP on the TLS port, old TLS versions and weak ciphers,
// missing or foreign client certificates, and a client that stops reading.
// In each case the server's answer is checked, and that normal clients still
// get theirs. Timeouts are shortened from the binaries' defaults (read 10 s,
// handshake 10 s) so that the suite stays fast; the code paths are the same.
// docs/reliability.md states the behaviour with the defaults.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "extender/config.h"
#include "extender/serve_command.h"
#include "extender/standalone_extender.h"
#include "platform/http_server.h"
#include "platform/metrics.h"
#include "platform/self_signed_cert.h"
#include "tests/platform/test_client.h"
#include "webhook/config.h"
#include "webhook/routes.h"

namespace mpshare::platform {
namespace {

using Clock = std::chrono::steady_clock;
using testing::ClientOptions;
using testing::TestConnection;

// ---- raw clients: what TestConnection will not do ----

int connectTcp(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits up to `timeout` for the peer to close; true when it did (EOF or reset).
bool closedWithin(int fd, std::chrono::milliseconds timeout, std::string* received = nullptr) {
  const auto deadline = Clock::now() + timeout;
  char buffer[4096];
  do {
    pollfd p{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <= 0) continue;
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return true;
    if (received != nullptr) received->append(buffer, static_cast<size_t>(n));
  } while (Clock::now() < deadline);
  return false;
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

// A blocking TLS connection; `ok` false when the handshake failed.
struct RawTls {
  int fd = -1;
  SSL* ssl = nullptr;
  bool ok = false;

  RawTls(SSL_CTX* ctx, uint16_t port) {
    fd = connectTcp(port);
    if (fd < 0) return;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    ok = SSL_connect(ssl) == 1;
  }
  ~RawTls() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) close(fd);
  }
  RawTls(const RawTls&) = delete;
  RawTls& operator=(const RawTls&) = delete;
  bool write(std::string_view bytes) {
    return SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) ==
           static_cast<int>(bytes.size());
  }
  // Everything until the server closes (or 10 s pass).
  std::string readAll() {
    std::string out;
    char buffer[4096];
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (SSL_pending(ssl) == 0 && poll(&p, 1, 100) <= 0) continue;
      const int n = SSL_read(ssl, buffer, sizeof buffer);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
};

std::unique_ptr<SSL_CTX, SslCtxDeleter> clientContext(int min_version, int max_version,
                                                      const char* ciphers = nullptr) {
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  // Level 0 lets this client offer what the server must refuse.
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_min_proto_version(ctx.get(), min_version);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  if (ciphers != nullptr) SSL_CTX_set_cipher_list(ctx.get(), ciphers);
  return ctx;
}

// ---- the two servers ----

struct Served {
  std::string name;
  bool client_ca = false;  // the extender's scheduler connection is mutual TLS
};

class HostileClientsTest : public ::testing::TestWithParam<Served> {
 protected:
  void SetUp() override {
    // Writes to connections the server has closed must fail, not kill the test.
    signal(SIGPIPE, SIG_IGN);
    dir_ = testing::makeTempDir();
    bundle_ = writeSelfSignedBundle(dir_);
    const PemPair scheduler = issueCertificate(
        bundle_.ca, {.common_name = "kube-scheduler", .subject_alt_names = {}, .client = true});
    writePemFile(dir_ + "/client.crt", scheduler.cert_pem, false);
    writePemFile(dir_ + "/client.key", scheduler.key_pem, true);
    client_.ca_file = bundle_.ca_file;
    if (GetParam().client_ca) {
      client_.cert_file = dir_ + "/client.crt";
      client_.key_file = dir_ + "/client.key";
    }
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Starts the server as its binary does, with `tune` applied to the options.
  void start(const std::function<void(ServerOptions&)>& tune = nullptr) {
    ServerOptions options;
    options.tls = TlsFiles{bundle_.cert_file, bundle_.key_file, ""};
    HttpHandler handler;
    if (GetParam().name == "webhook") {
      const webhook::Config config;
      options.max_body_bytes = config.max_request_bytes;  // as webhook/main.cc
      webhook_ = std::make_unique<webhook::WebhookRoutes>(config, registry_);
      handler = [this](const HttpRequest& r) { return webhook_->handle(r); };
    } else {
      options = extender::ServeOptions{}.server;
      options.tls = TlsFiles{bundle_.cert_file, bundle_.key_file, bundle_.ca_file};
      auto created = extender::StandaloneExtender::create(extender::ExtenderConfig{}, nullptr);
      ASSERT_TRUE(created.ok());
      extender_ = std::move(*created);
      handler = [this](const HttpRequest& r) { return extender_->routes().handle(r); };
    }
    if (tune) tune(options);
    options_ = options;
    server_ = startHttpServer(options, handler);
  }

  // One GET /healthz on a fresh connection, as a normal client; its latency,
  // or nullopt when it was not answered with 200.
  std::optional<std::chrono::milliseconds> probe() {
    const auto begin = Clock::now();
    try {
      TestConnection connection(server_->port(), client_);
      if (connection.request("GET", "/healthz").status != 200) return std::nullopt;
    } catch (const std::runtime_error&) {
      return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
  }

  std::string dir_;
  TlsBundle bundle_;
  ClientOptions client_;
  MetricsRegistry registry_;
  std::unique_ptr<webhook::WebhookRoutes> webhook_;
  std::unique_ptr<extender::StandaloneExtender> extender_;
  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
};

INSTANTIATE_TEST_SUITE_P(BothServers, HostileClientsTest,
                         ::testing::Values(Served{"webhook", false}, Served{"extender", true}),
                         [](const auto& info) { return info.param.name; });

// Hundreds of connections each sending its request a byte at a time: normal
// clients are answered meanwhile, and each slow one gets 408 once read_timeout
// has passed since its first byte.
TEST_P(HostileClientsTest, SlowSendersGet408AndNormalClientsStillGetAnswers) {
  constexpr int kSlow = 200;
  start([](ServerOptions& o) { o.read_timeout = std::chrono::seconds(2); });
  auto ctx = clientContext(TLS1_2_VERSION, 0);
  if (GetParam().client_ca) {
    SSL_CTX_use_certificate_file(ctx.get(), (dir_ + "/client.crt").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx.get(), (dir_ + "/client.key").c_str(), SSL_FILETYPE_PEM);
  }
  std::vector<std::unique_ptr<RawTls>> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(std::make_unique<RawTls>(ctx.get(), server_->port()));
    ASSERT_TRUE(slow.back()->ok) << "slow connection " << i;
  }
  const std::string request =
      "POST /scheduler/filter HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
  std::atomic<bool> done{false};
  std::thread dribble([&] {
    for (size_t byte = 0; byte < request.size() && !done; ++byte) {
      for (auto& c : slow) c->write(request.substr(byte, 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::vector<int64_t> latencies;
  int unanswered = 0;
  const auto until = Clock::now() + std::chrono::milliseconds(1500);
  while (Clock::now() < until) {
    const auto latency = probe();
    if (latency) {
      latencies.push_back(latency->count());
    } else {
      ++unanswered;
    }
  }
  done = true;
  dribble.join();
  EXPECT_EQ(unanswered, 0);
  ASSERT_FALSE(latencies.empty());
  std::sort(latencies.begin(), latencies.end());
  // Far below the 10 s the API server waits for a webhook by default.
  EXPECT_LT(latencies.back(), 5000);
  int timed_out = 0;
  for (auto& c : slow) timed_out += c->readAll().rfind("HTTP/1.1 408 ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(timed_out, kSlow);
  std::cout << GetParam().name << ": " << kSlow << " slow senders; normal requests "
            << latencies.size() << ", median " << latencies[latencies.size() / 2] << " ms, max "
            << latencies.back() << " ms; 408s " << timed_out << "\n";
}

// Thousands of connections that never start a handshake: past max_connections
// each is closed at once; those admitted are closed after handshake_timeout
// (5 s here, 10 s by default), and from then on normal clients are served again.
TEST_P(HostileClientsTest, AnIdleFloodPastTheLimitIsRefusedAndTheServerRecovers) {
  constexpr int kIdle = 2000;
  start([](ServerOptions& o) { o.handshake_timeout = std::chrono::seconds(5); });
  ASSERT_EQ(options_.max_connections, 1024U);  // both binaries' default
  const auto begin = Clock::now();
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    const int fd = connectTcp(server_->port());
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  // A connection closed before the handshake timeout can have run out (it
  // counts from admission, after `begin`) was refused at the limit.
  const auto refusals_until = begin + std::chrono::milliseconds(4000);
  int refused = 0;
  for (const int fd : idle) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(refusals_until - Clock::now());
    refused += closedWithin(fd, std::max(left, std::chrono::milliseconds(0))) ? 1 : 0;
  }
  // Every connection past the limit, and no more.
  EXPECT_EQ(refused, kIdle - 1024);
  // While the limit is taken, a normal client is refused too (the limit
  // protects memory, not service): its handshake fails.
  const bool served_during = probe().has_value();
  std::optional<std::chrono::milliseconds> recovered_after;
  while (Clock::now() - begin < std::chrono::seconds(20)) {
    if (probe()) {
      recovered_after = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  int closed = 0;
  for (const int fd : idle) {
    closed += closedWithin(fd, std::chrono::seconds(5)) ? 1 : 0;
    close(fd);
  }
  ASSERT_TRUE(recovered_after.has_value());
  EXPECT_EQ(closed, kIdle);  // none left open past the handshake timeout
  std::cout << GetParam().name << ": " << kIdle << " idle connections, limit "
            << options_.max_connections << ": refused at once " << refused
            << ", normal client served during the flood " << (served_during ? "yes" : "no")
            << ", served again after " << recovered_after->count()
            << " ms (handshake timeout 5000 ms)\n";
}

TEST_P(HostileClientsTest, OversizedHeadersAndBodiesGet400AndAClose) {
  start();
  {
    TestConnection connection(server_->port(), client_);
    const auto response =
        connection.request("GET", "/healthz", "", {{"x-padding", std::string(100 * 1024, 'a')}});
    EXPECT_EQ(response.status, 400);
    EXPECT_NE(response.body.find("malformed HTTP request"), std::string::npos) << response.body;
    EXPECT_TRUE(connection.closedByPeer());
  }
  {
    TestConnection connection(server_->port(), client_);
    const std::string path = GetParam().name == "webhook" ? "/mutate" : "/scheduler/filter";
    const auto response =
        connection.request("POST", path, std::string(options_.max_body_bytes + 1, ' '));
    EXPECT_EQ(response.status, 400);
    EXPECT_NE(response.body.find("request body exceeds " + std::to_string(options_.max_body_bytes) +
                                 " bytes"),
              std::string::npos)
        << response.body;
    EXPECT_TRUE(connection.closedByPeer());
  }
  EXPECT_TRUE(probe().has_value());
}

// No HTTP answer in clear text: the bytes are taken for a TLS ClientHello,
// the handshake fails and the connection is closed.
TEST_P(HostileClientsTest, PlainHttpOnTheTlsPortIsClosedUnanswered) {
  start();
  const int fd = connectTcp(server_->port());
  ASSERT_GE(fd, 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string received;
  EXPECT_TRUE(closedWithin(fd, std::chrono::seconds(5), &received));
  close(fd);
  EXPECT_EQ(received.find("HTTP/"), std::string::npos) << received;
  EXPECT_TRUE(probe().has_value());
}

TEST_P(HostileClientsTest, OldTlsVersionsAndWeakCiphersAreRefused) {
  start();
  struct Case {
    std::string name;
    int min_version, max_version;
    const char* ciphers;
  };
  const std::vector<Case> refused = {
      {"TLS 1.0", TLS1_VERSION, TLS1_VERSION, nullptr},
      {"TLS 1.1", TLS1_1_VERSION, TLS1_1_VERSION, nullptr},
      // CBC with SHA-1, static RSA key exchange, 3DES, RC4, no authentication.
      {"TLS 1.2, weak ciphers", TLS1_2_VERSION, TLS1_2_VERSION,
       "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:AES128-SHA:AES256-GCM-SHA384:DES-CBC3-SHA:"
       "RC4-SHA:"
       "ADH-AES128-SHA:NULL-SHA"},
  };
  for (const auto& c : refused) {
    SCOPED_TRACE(c.name);
    auto ctx = clientContext(c.min_version, c.max_version, c.ciphers);
    const RawTls connection(ctx.get(), server_->port());
    EXPECT_FALSE(connection.ok);
  }
  auto modern = clientContext(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256");
  if (GetParam().client_ca) {
    SSL_CTX_use_certificate_file(modern.get(), (dir_ + "/client.crt").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(modern.get(), (dir_ + "/client.key").c_str(), SSL_FILETYPE_PEM);
  }
  RawTls connection(modern.get(), server_->port());
  ASSERT_TRUE(connection.ok);
  ASSERT_TRUE(connection.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(connection.readAll().rfind("HTTP/1.1 200 ", 0), 0U);
}

// The extender requires a certificate from its client CA (kube-scheduler's);
// the webhook requires none (the API server does not present one by default).
TEST_P(HostileClientsTest, ClientCertificatesAreRequiredWhereConfigured) {
  start();
  const PemPair foreign =
      issueCertificate(generateCa("someone else"),
                       {.common_name = "intruder", .subject_alt_names = {}, .client = true});
  writePemFile(dir_ + "/foreign.crt", foreign.cert_pem, false);
  writePemFile(dir_ + "/foreign.key", foreign.key_pem, true);
  struct Case {
    std::string name, cert;
    bool want_served;
  };
  const bool required = GetParam().client_ca;
  const std::vector<Case> cases = {
      {"no certificate", "", !required},
      {"certificate from another CA", "foreign", !required},
      {"certificate from the client CA", "client", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ClientOptions client;
    client.ca_file = bundle_.ca_file;
    if (!c.cert.empty()) {
      client.cert_file = dir_ + "/" + c.cert + ".crt";
      client.key_file = dir_ + "/" + c.cert + ".key";
    }
    int status = 0;
    try {
      TestConnection connection(server_->port(), client);
      status = connection.request("GET", "/healthz").status;
    } catch (const std::runtime_error&) {
      status = -1;  // handshake refused, or (TLS 1.3) the first read
    }
    EXPECT_EQ(status == 200, c.want_served) << "status " << status;
  }
}

// A client that pipelines requests and never reads the answers fills its
// socket buffers; its connection waits (up to the 30 s write timeout), and
// the other clients on the same threads are served meanwhile.
TEST_P(HostileClientsTest, AClientThatStopsReadingDoesNotHoldUpOthers) {
  start([](ServerOptions& o) { o.threads = 1; });  // the stuck connection shares the one thread
  auto ctx = clientContext(TLS1_2_VERSION, 0);
  if (GetParam().client_ca) {
    SSL_CTX_use_certificate_file(ctx.get(), (dir_ + "/client.crt").c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx.get(), (dir_ + "/client.key").c_str(), SSL_FILETYPE_PEM);
  }
  RawTls stuck(ctx.get(), server_->port());
  ASSERT_TRUE(stuck.ok);
  const int small = 4096;
  setsockopt(stuck.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  // Requests until the server stops reading them (its replies are stuck).
  fcntl(stuck.fd, F_SETFL, fcntl(stuck.fd, F_GETFL) | O_NONBLOCK);
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  size_t sent = 0;
  // Until the buffers have stayed full for half a second (at most 10 s).
  const auto until = Clock::now() + std::chrono::seconds(10);
  auto progress = Clock::now();
  while (Clock::now() < until && Clock::now() - progress < std::chrono::milliseconds(500)) {
    const int n = SSL_write(stuck.ssl, batch.data(), static_cast<int>(batch.size()));
    if (n > 0) {
      sent += static_cast<size_t>(n);
      progress = Clock::now();
      continue;
    }
    if (SSL_get_error(stuck.ssl, n) != SSL_ERROR_WANT_WRITE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // More was sent than the socket buffers on both sides hold, so the server
  // has answered until its writes blocked.
  EXPECT_GT(sent, size_t{64} << 10);
  int served = 0;
  for (int i = 0; i < 20; ++i) served += probe().has_value() ? 1 : 0;
  EXPECT_EQ(served, 20);
  std::cout << GetParam().name << ": a client that stopped reading after sending " << (sent >> 10)
            << " KiB of requests; 20 of 20 normal requests served meanwhile\n";
}

}  // namespace
}  // namespace mpshare::platform
