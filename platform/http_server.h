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
  // Open connections past this are accepted and closed at once, unanswered
  // (a TLS client sees the handshake fail); each costs ~50-75 KiB with TLS.
  // The process's soft open-file limit is raised to its hard limit at start.
  size_t max_connections = 1024;
  // A TLS handshake must complete within this, or the connection is closed.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(10);
  // A kept-alive connection may wait this long for its next request, then it
  // is closed without a reply. Below the 90 s the Go clients of the API
  // server and kube-scheduler keep idle connections, so they see it closed.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // Once a request's first byte has arrived, its headers, and then its body,
  // must each arrive within this; else 408 {"error": "request not received
  // within N ms"} and the connection is closed.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
  // How long stop() goes on accepting and serving before it closes the
  // listener, with readiness_path failing and every reply closing its
  // connection: the time a Service's endpoint removal takes to reach every
  // node's proxy, during which new connections still arrive here. 0 = close
  // the listener at once.
  std::chrono::milliseconds shutdown_delay{0};
  // How long stop() lets requests in flight finish, after the delay, before
  // it cuts them off.
  std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(20);
  // From stop() on, requests for this path get 503 {"error": "shutting down"}
  // without reaching the handler, so readiness fails before the listener
  // closes. Empty = none.
  std::string readiness_path = "/readyz";
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // The bound port (useful with port 0).
  [[nodiscard]] virtual uint16_t port() const = 0;
  // Drains and stops, within ServerOptions::shutdown_delay + shutdown_timeout:
  // readiness_path answers 503 and every reply closes its connection; after
  // shutdown_delay the listener closes; requests in flight, and those that
  // arrive on open connections meanwhile, are answered with
  // `Connection: close`; a connection left idle closes after at most 1 s
  // more; then the threads end. Connections still open at the deadline are
  // cut. Returns false when it had to cut some. Idempotent; the destructor
  // calls it.
  virtual bool stop() = 0;
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
