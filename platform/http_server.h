#pragma once

// The HTTP(S) serving adapter. Routes are plain functions from HttpRequest to
// HttpResponse, so webhook/ and extender/ never see the HTTP library and their
// handlers are tested without sockets. The implementation (Boost.Beast's
// HTTP/1.1 parser on Boost.Asio over OpenSSL) stays behind this header and
// can be swapped.

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
  std::string cert_file;       // PEM chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // optional: when set, clients must present a cert it signed
};

// Each server runs socket I/O and its routes on its own threads, each with
// its own event loop; connections are dealt to them in turn. A route runs on
// the thread that read its request and holds it until it returns, so a route
// that blocks (an API-server call) holds that thread, and the other
// connections dealt to it, for its whole duration: size the threads for the
// blocking calls you expect at once. For CPU-bound routes about the CPU
// count is best; on 2 CPUs, 8 threads lengthen the tail (docs/benchmarks.md).
inline constexpr size_t kDefaultHttpThreads = 4;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;            // 0 = pick a free port; see HttpServer::port()
  std::optional<TlsFiles> tls;  // nullopt = plain HTTP
  // Larger bodies get 400 {"error": "request body exceeds N bytes"} and the
  // handler never runs. 400 rather than 413 because the Kubernetes API server
  // reports a webhook's 4xx body to the user, and the message names the limit.
  size_t max_body_bytes = 3 << 20;
  // How often the TLS files are checked for rotation.
  std::chrono::milliseconds tls_reload_interval = std::chrono::seconds(1);
  // Threads serving connections and running the handler (see kDefaultHttpThreads).
  size_t threads = kDefaultHttpThreads;
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

// Starts serving `handler` in background threads. The handler is called
// concurrently; anything it throws becomes a 500 {"error": "<what()>"}; every
// request gets exactly one reply. With TLS the certificate and key files are
// re-read when they change (cert-manager and Secret volumes rotate them)
// without closing the listener; a half-written or mismatched pair is logged
// and the previous pair kept. Throws std::runtime_error naming the address or
// file when it cannot start.
//
// Port 0 lets the kernel pick a free port; port() tells which.
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
