#pragma once

// The HTTP/1.1-over-TLS client for the API server: Boost.Beast's HTTP
// serializer and response parser over Asio's OpenSSL stream.
//
// Why not cpprestsdk's http_client here: a watch is a response that never ends
// on its own, and the client must (a) hand the body to the JSON splitter as it
// arrives, (b) notice a stalled stream after an idle timeout while the stream as
// a whole may legitimately last minutes, and (c) be cancelled from another
// thread at shutdown. http_client's timeout covers the whole exchange and its
// body reads cannot be abandoned mid-stream. Beast reads a response piece by
// piece (http::async_read_some into a buffer_body), beast::tcp_stream's expiry
// is re-armed before every read, and the exchange runs its own io_context in
// short slices that look at the cancel flag, so list, watch and bind share
// this one client and one TLS setup (CA bundle, client certificate, name checks).

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "platform/kube_config.h"

namespace boost::asio::ssl {
class context;
}

namespace mpshare::platform {

// A BIO over the connected socket `fd` (not owned) that writes with
// MSG_NOSIGNAL: writing to a peer that has gone away fails that one write with
// EPIPE instead of raising SIGPIPE, whose default action ends the process. The
// test API server's connections use it (Asio sends with MSG_NOSIGNAL itself).
// Example: SSL_set_bio(ssl, bio, bio) with bio = newNoSigpipeSocketBio(fd).
BIO* newNoSigpipeSocketBio(int fd);

struct ApiRequest {
  std::string method = "GET";
  std::string target;  // path and query, e.g. "/api/v1/pods?limit=500"
  std::string body;
  std::string content_type = "application/json";
};

// Receives the response body as it arrives (de-chunked by Beast), with the
// response's HTTP status. Return false to stop reading (the connection closes).
using BodySink = std::function<bool(int status, std::string_view body)>;

struct ExchangeLimits {
  // No byte for this long = the peer stalled; the exchange fails.
  std::chrono::milliseconds idle_timeout{30000};
  // Checked every 100 ms; set it to abandon the exchange from another thread.
  const std::atomic<bool>* cancel = nullptr;
};

class HttpsConnector {
 public:
  // Builds the TLS context from `config`: CA bundle (or the system store),
  // client certificate, verification on unless insecure_skip_tls_verify.
  static core::Result<std::unique_ptr<HttpsConnector>> create(const KubeConfig& config);
  ~HttpsConnector();
  HttpsConnector(const HttpsConnector&) = delete;
  HttpsConnector& operator=(const HttpsConnector&) = delete;

  // One request on a fresh connection (Connection: close). Returns the HTTP
  // status; the body goes to `sink`. Errors (kUnavailable) say what failed:
  // connect, TLS handshake, idle timeout, cancelled, or the stream ended early.
  // An empty `bearer_token` sends no Authorization header.
  core::Result<int> exchange(const ApiRequest& request, const std::string& bearer_token,
                             const BodySink& sink, const ExchangeLimits& limits) const;

 private:
  HttpsConnector(std::unique_ptr<boost::asio::ssl::context> ctx, ServerAddress server, bool verify);
  std::unique_ptr<boost::asio::ssl::context> ctx_;
  ServerAddress server_;
  bool verify_;
};

}  // namespace mpshare::platform
