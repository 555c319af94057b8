#include "platform/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "platform/self_signed_cert.h"
#include "tests/platform/test_client.h"

namespace mpshare::platform {
namespace {

using testing::ClientOptions;
using testing::fetch;
using testing::TestConnection;

// Echoes what the server parsed, so tests see the HttpRequest the route got.
HttpResponse echo(const HttpRequest& request) {
  if (request.path == "/throw") throw std::runtime_error("route exploded");
  if (request.path == "/throw-int") throw 42;
  nlohmann::json out = {{"method", request.method},
                        {"path", request.path},
                        {"query", request.query},
                        {"body", request.body},
                        {"x-test", request.headers.count("x-test") ? request.headers.at("x-test")
                                                                   : std::string("<none>")}};
  return {200, "application/json", out.dump()};
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::makeTempDir();
    bundle_ = writeSelfSignedBundle(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<HttpServer> startTls(HttpHandler handler, size_t max_body = 3 << 20) {
    ServerOptions options;
    options.tls = TlsFiles{bundle_.cert_file, bundle_.key_file, ""};
    options.max_body_bytes = max_body;
    return startHttpServer(options, std::move(handler));
  }
  ClientOptions tlsClient() const {
    ClientOptions options;
    options.ca_file = bundle_.ca_file;
    return options;
  }

  std::string dir_;
  TlsBundle bundle_;
};

TEST_F(HttpServerTest, RoutesMethodPathQueryHeadersAndBodyOverTls) {
  auto server = startTls(echo);
  ASSERT_NE(server->port(), 0);
  struct Case {
    std::string method, target, body;
    std::string want_path, want_query;
  };
  const std::vector<Case> cases = {
      {"GET", "/healthz", "", "/healthz", ""},
      {"GET", "/metrics?name=x&y=1", "", "/metrics", "name=x&y=1"},
      {"POST", "/mutate?timeout=10s", R"({"kind":"AdmissionReview"})", "/mutate", "timeout=10s"},
      {"POST", "/filter", "", "/filter", ""},
  };
  TestConnection connection(server->port(), tlsClient());  // keep-alive across cases
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target);
    auto response = connection.request(c.method, c.target, c.body, {{"X-Test", "Mixed-Case"}});
    ASSERT_EQ(response.status, 200);
    EXPECT_EQ(response.headers["content-type"], "application/json");
    auto got = nlohmann::json::parse(response.body);
    EXPECT_EQ(got["method"], c.method);
    EXPECT_EQ(got["path"], c.want_path);
    EXPECT_EQ(got["query"], c.want_query);
    EXPECT_EQ(got["body"], c.body);
    EXPECT_EQ(got["x-test"], "Mixed-Case");  // name lower-cased, value untouched
  }
}

TEST_F(HttpServerTest, ServesPlainHttpWithoutTls) {
  auto server = startHttpServer({}, echo);
  ClientOptions plain;
  plain.tls = false;
  auto response = fetch(server->port(), plain, "POST", "/x", "hello");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(nlohmann::json::parse(response.body)["body"], "hello");
}

TEST_F(HttpServerTest, NegotiatesOnlyTls12OrNewerAndServesTheConfiguredCertificate) {
  auto server = startTls(echo);
  struct Case {
    int min_version, max_version;
    bool want_handshake;
    std::string want_protocol;
  };
  const std::vector<Case> cases = {
      {TLS1_VERSION, TLS1_VERSION, false, ""},
      {TLS1_1_VERSION, TLS1_1_VERSION, false, ""},
      {TLS1_2_VERSION, TLS1_2_VERSION, true, "TLSv1.2"},
      {TLS1_3_VERSION, TLS1_3_VERSION, true, "TLSv1.3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.min_version);
    ClientOptions options = tlsClient();
    options.min_version = c.min_version;
    options.max_version = c.max_version;
    if (!c.want_handshake) {
      EXPECT_THROW(TestConnection(server->port(), options), std::runtime_error);
      continue;
    }
    TestConnection connection(server->port(), options);
    EXPECT_EQ(connection.protocol(), c.want_protocol);
    EXPECT_EQ(connection.peerCertificate(), server->servingCertificate());
    EXPECT_EQ(connection.request("GET", "/healthz").status, 200);
  }
}

TEST_F(HttpServerTest, HandlerExceptionBecomes500AndServerKeepsServing) {
  auto server = startTls(echo);
  TestConnection connection(server->port(), tlsClient());
  auto failed = connection.request("GET", "/throw");
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(nlohmann::json::parse(failed.body), nlohmann::json({{"error", "route exploded"}}));
  EXPECT_EQ(connection.request("GET", "/throw-int").status, 500);
  EXPECT_EQ(connection.request("GET", "/healthz").status, 200);  // same connection still fine
}

TEST_F(HttpServerTest, OversizedBodyGets400NamingTheLimitAndServerKeepsServing) {
  std::atomic<int> calls{0};
  auto server = startTls(
      [&](const HttpRequest& r) {
        ++calls;
        return echo(r);
      },
      1024);
  struct Case {
    size_t size;
    int want_status;
  };
  for (const auto& c : std::vector<Case>{{1024, 200}, {1025, 400}, {200000, 400}}) {
    SCOPED_TRACE(c.size);
    auto response = fetch(server->port(), tlsClient(), "POST", "/mutate", std::string(c.size, 'x'));
    EXPECT_EQ(response.status, c.want_status);
    if (c.want_status == 400) {
      EXPECT_EQ(nlohmann::json::parse(response.body)["error"], "request body exceeds 1024 bytes");
    }
  }
  EXPECT_EQ(calls.load(), 1);  // oversized bodies never reach the route
  EXPECT_EQ(fetch(server->port(), tlsClient(), "GET", "/healthz").status, 200);
}

TEST_F(HttpServerTest, MalformedRequestsGet400AndTheConnectionIsClosed) {
  std::atomic<int> calls{0};
  auto server = startTls([&](const HttpRequest& r) {
    ++calls;
    return echo(r);
  });
  const struct {
    const char* name;
    std::string bytes;
  } cases[] = {
      {"not HTTP", "HELLO\r\n\r\n"},
      {"bad version", "GET / HTTP/9\r\n\r\n"},
      {"bad content length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
      {"header too large",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    TestConnection connection(server->port(), tlsClient());
    const auto response = connection.exchange(c.bytes);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(response.headers.at("connection"), "close");
    EXPECT_NE(nlohmann::json::parse(response.body)["error"].get<std::string>().find(
                  "malformed HTTP request: "),
              std::string::npos)
        << response.body;
    EXPECT_TRUE(connection.closedByPeer());
  }
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(fetch(server->port(), tlsClient(), "GET", "/healthz").status, 200);
}

// Seeded garbage and damaged requests: each gets a 400 (or a 200 where the
// damage left a valid request) or a closed connection, and the server keeps
// serving.
TEST_F(HttpServerTest, RandomBytesGet400OrACloseAndTheServerKeepsServing) {
  std::atomic<int> calls{0};
  ServerOptions options;
  auto server = startHttpServer(options, [&](const HttpRequest& r) {
    ++calls;
    return echo(r);
  });
  ClientOptions plain;
  plain.tls = false;
  const std::string valid = "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  std::mt19937 rng(20261125);
  int answered = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bytes = valid;
    if (i % 2 == 0) {
      bytes.assign(1 + rng() % 200, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      bytes += "\r\n\r\n";
    } else {
      // Damage the request line or a header; the body length stays right.
      const size_t at = rng() % (valid.size() - 7);
      bytes[at] = "\0\x7f:\r\n \t"[rng() % 7];
    }
    TestConnection connection(server->port(), plain);
    try {
      const auto response = connection.exchange(bytes);
      if (response.status == 400) ++answered;
      EXPECT_TRUE(response.status == 400 || response.status == 200) << response.status;
    } catch (const std::runtime_error&) {
      // closed without an answer: the request never completed
    }
  }
  EXPECT_GT(answered, 100);
  EXPECT_LT(calls.load(), 150);  // garbage never does; some damaged requests are still valid
  EXPECT_EQ(fetch(server->port(), plain, "GET", "/healthz").status, 200);
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeTheBody) {
  auto server = startTls(echo);
  TestConnection connection(server->port(), tlsClient());
  const auto interim = connection.exchange(
      "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(interim.status, 100);
  const auto response = connection.exchange("hello");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(nlohmann::json::parse(response.body)["body"], "hello");
}

TEST_F(HttpServerTest, HonoursConnectionCloseAndHttp10) {
  auto server = startTls(echo);
  {
    TestConnection connection(server->port(), tlsClient());
    const auto response =
        connection.exchange("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.headers.at("connection"), "close");
    EXPECT_TRUE(connection.closedByPeer());
  }
  {
    TestConnection connection(server->port(), tlsClient());
    const auto response = connection.exchange("GET /b HTTP/1.0\r\n\r\n");
    EXPECT_EQ(response.status, 200);
    EXPECT_TRUE(connection.closedByPeer());
  }
  {
    TestConnection connection(server->port(), tlsClient());
    const auto first = connection.exchange("GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.headers.at("connection"), "keep-alive");
    EXPECT_EQ(connection.exchange("GET /d HTTP/1.0\r\n\r\n").status, 200);  // same connection
  }
}

std::string chunked(const std::string& body, size_t chunk) {
  std::string out;
  for (size_t i = 0; i < body.size(); i += chunk) {
    const std::string piece = body.substr(i, chunk);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", piece.size());
    out += std::string(size) + "\r\n" + piece + "\r\n";
  }
  return out + "0\r\n\r\n";
}

TEST_F(HttpServerTest, ChunkedBodiesAreAssembledAndLimited) {
  auto server = startTls(echo, 1000);
  struct Case {
    size_t size, chunk;
    int want_status;
  };
  const std::vector<Case> cases = {
      {0, 1, 200}, {999, 100, 200}, {1000, 7, 200}, {1001, 500, 400}, {50000, 4096, 400}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.size);
    TestConnection connection(server->port(), tlsClient());
    const std::string body(c.size, 'y');
    auto response = connection.request("POST", "/chunked", chunked(body, c.chunk),
                                       {{"Transfer-Encoding", "chunked"}});
    ASSERT_EQ(response.status, c.want_status) << response.body;
    if (c.want_status == 200) {
      EXPECT_EQ(nlohmann::json::parse(response.body)["body"], body);
    }
  }
}

TEST_F(HttpServerTest, StopLetsInFlightRequestsFinish) {
  std::atomic<bool> entered{false};
  auto server = startTls([&](const HttpRequest& r) {
    entered = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return echo(r);
  });
  int status = 0;
  std::thread client([&] {
    try {
      status = fetch(server->port(), tlsClient(), "POST", "/slow", "x").status;
    } catch (const std::runtime_error&) {
      status = -1;  // the reply was cut off
    }
  });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server->stop();  // returns only after the slow reply went out
  client.join();
  EXPECT_EQ(status, 200);
}

// A route that takes 50 ms and records how many of its calls ran at once.
struct ConcurrencyProbe {
  std::atomic<int> active{0};
  std::atomic<int> peak{0};

  HttpHandler handler() {
    return [this](const HttpRequest& r) {
      const int now = ++active;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      --active;
      return echo(r);
    };
  }
};

TEST_F(HttpServerTest, CallsTheHandlerConcurrently) {
  ConcurrencyProbe probe;
  auto server = startTls(probe.handler());
  constexpr int kClients = 6, kRequests = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      TestConnection connection(server->port(), tlsClient());
      for (int j = 0; j < kRequests; ++j) {
        auto response = connection.request("POST", "/c", std::to_string(i * 100 + j));
        if (response.status == 200 &&
            nlohmann::json::parse(response.body)["body"] == std::to_string(i * 100 + j)) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  EXPECT_GT(probe.peak.load(), 1);
}

TEST_F(HttpServerTest, StopClosesTheListenerAndIsIdempotent) {
  auto server = startTls(echo);
  const uint16_t port = server->port();
  server->stop();
  server->stop();
  EXPECT_THROW(fetch(port, tlsClient(), "GET", "/healthz"), std::runtime_error);
}

// 6 clients, requests that take 50 ms each: as many run at once as there are threads.
TEST_F(HttpServerTest, RunsHandlersOnTheConfiguredNumberOfThreads) {
  for (const size_t threads : {size_t{1}, size_t{3}}) {
    SCOPED_TRACE(threads);
    ConcurrencyProbe probe;
    ServerOptions options;
    options.threads = threads;
    auto server = startHttpServer(options, probe.handler());
    ClientOptions plain;
    plain.tls = false;
    std::vector<std::thread> clients;
    for (int i = 0; i < 6; ++i) {
      clients.emplace_back([&] {
        for (int j = 0; j < 2; ++j)
          EXPECT_EQ(fetch(server->port(), plain, "GET", "/t").status, 200);
      });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(probe.peak.load(), static_cast<int>(threads));
  }
  ServerOptions none;
  none.threads = 0;
  EXPECT_THROW(startHttpServer(none, echo), std::invalid_argument);
}

TEST_F(HttpServerTest, StartupErrorsNameTheProblem) {
  ServerOptions missing;
  missing.tls = TlsFiles{dir_ + "/nope.crt", bundle_.key_file, ""};
  try {
    startHttpServer(missing, echo);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.crt"), std::string::npos) << e.what();
  }

  auto first = startHttpServer({}, echo);
  ServerOptions taken;
  taken.port = first->port();
  try {
    startHttpServer(taken, echo);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first->port())),
              std::string::npos)
        << e.what();
  }
  ClientOptions plain;
  plain.tls = false;
  EXPECT_EQ(fetch(first->port(), plain, "GET", "/healthz").status, 200);  // unharmed
}

}  // namespace
}  // namespace mpshare::platform
