#pragma once

// The HTTP(S) serving adapter. Routes are plain functions from HttpRequest to
// HttpResponse, so webhook/ and extender/ never see the HTTP library and their
// handlers are tested without sockets. The implementation (cpprestsdk's
// http_listener over OpenSSL) stays behind this header and can be swapped.

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
  std::string path;    // without the query string
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
  size_t max_body_bytes = 3 << 20;  // larger bodies get 413 before the handler runs
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // The bound port (useful with port 0).
  [[nodiscard]] virtual uint16_t port() const = 0;
  // Stops accepting and waits for in-flight requests.
  virtual void stop() = 0;
};

// Starts serving `handler` in background threads. The handler is called
// concurrently; anything it throws becomes a 500 with the message. With TLS the
// certificate and key files are re-read when they change (cert-manager and Secret
// volumes rotate them) without closing the listener. Throws std::runtime_error
// naming the address or file when it cannot start.
std::unique_ptr<HttpServer> startHttpServer(const ServerOptions& options, HttpHandler handler);

}  // namespace mpshare::platform
