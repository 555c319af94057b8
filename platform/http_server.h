#pragma once

// The HTTP(S) serving adapter. Routes are plain functions from HttpRequest to
// HttpResponse, so webhook/ and extender/ never see the HTTP library and their
// handlers are tested without sockets. The implementation (cpprestsdk's
// http_listener over OpenSSL) stays behind this header and can be swapped.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace mpshare::platform {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, as sent (percent-encoded)
  std::string query;   // after '?', unparsed; routes may ignore it
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct TlsFiles {
  std::string cert_file;  // PEM chain
  std::string key_file;   // PEM private key
  std::string client_ca_file;  // optional: when set, clients must present a cert it signed
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                // 0 = pick a free port; see HttpServer::port()
  std::optional<TlsFiles> tls;      // nullopt = plain HTTP
  // Larger bodies get 400 {"error": "request body exceeds N bytes"} and the
  // handler never runs. 400 rather than 413 because the Kubernetes API server
  // reports a webhook's 4xx body to the user, and the message names the limit.
  size_t max_body_bytes = 3 << 20;
  // How often the TLS files are checked for rotation.
  std::chrono::milliseconds tls_reload_interval = std::chrono::seconds(1);
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // The bound port (useful with port 0).
  [[nodiscard]] virtual uint16_t port() const = 0;
  // Stops accepting and waits for in-flight requests. Idempotent; the
  // destructor calls it.
  virtual void stop() = 0;
  // describeCertificate() of the certificate new TLS handshakes get
  // ("CN=localhost serial=1A2B"), or "" for plain HTTP.
  [[nodiscard]] virtual std::string servingCertificate() const { return ""; }
};

// The HTTP library runs socket I/O and routes on one process-wide thread
// pool. Its own default of 40 threads halves throughput on a 2-CPU machine
// (docs/benchmarks.md), so the first startHttpServer() sizes it to
// kDefaultHttpThreads unless setHttpThreadPoolSize() ran first. A route that
// blocks (an API-server call) holds one thread for its whole duration: size
// the pool for the blocking calls you expect to run at once.
inline constexpr size_t kDefaultHttpThreads = 8;

// Sizes the pool; call before the first server starts. Returns false and
// changes nothing if the pool already exists. Throws std::invalid_argument
// for 0. Example: setHttpThreadPoolSize(4);  // CPU-bound routes only
bool setHttpThreadPoolSize(size_t threads);

// Starts serving `handler` in background threads. The handler is called
// concurrently; anything it throws becomes a 500 {"error": "<what()>"}; every
// request gets exactly one reply. With TLS the certificate and key files are
// re-read when they change (cert-manager and Secret volumes rotate them)
// without closing the listener; a half-written or mismatched pair is logged
// and the previous pair kept. Throws std::runtime_error naming the address or
// file when it cannot start.
//
// Port 0: the HTTP library needs a concrete port, so a free one is found by
// binding and releasing it first; another process could take it in between,
// in which case the start is retried with a new port a few times.
//
// Example:
//   ServerOptions options;
//   options.host = "0.0.0.0";
//   options.port = 8443;
//   options.tls = TlsFiles{"/tls/tls.crt", "/tls/tls.key", ""};
//   auto server = startHttpServer(options, [](const HttpRequest&) {
//     return HttpResponse{200, "application/json", "{}"};
//   });
std::unique_ptr<HttpServer> startHttpServer(const ServerOptions& options, HttpHandler handler);

}  // namespace mpshare::platform
