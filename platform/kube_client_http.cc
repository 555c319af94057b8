#include "platform/kube_client_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstring>
#include <limits>

namespace mpshare::platform {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using core::Error;
using core::ErrorCode;
using core::Result;

Error unavailable(const std::string& message) {
  return Error{ErrorCode::kUnavailable, "apiserver", message};
}

std::string sslError() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

int socketOf(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

bool retryable(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

int noSigpipeWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = send(socketOf(bio), data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && retryable(errno)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int noSigpipeRead(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = recv(socketOf(bio), data, static_cast<size_t>(size), 0);
  if (n < 0 && retryable(errno)) BIO_set_retry_read(bio);
  if (n == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  return static_cast<int>(n);
}

int noSigpipePuts(BIO* bio, const char* text) {
  return noSigpipeWrite(bio, text, static_cast<int>(std::strlen(text)));
}

long noSigpipeCtrl(BIO* bio, int command, long /*number*/, void* /*pointer*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // writes are not buffered here
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

int noSigpipeCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// The socket belongs to the caller (closed by Connection / the test server).
int noSigpipeDestroy(BIO* /*bio*/) { return 1; }

const BIO_METHOD* noSigpipeMethod() {
  // Built once and kept for the life of the process, like OpenSSL's own methods.
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "socket without SIGPIPE");
    BIO_meth_set_write(m, noSigpipeWrite);
    BIO_meth_set_read(m, noSigpipeRead);
    BIO_meth_set_puts(m, noSigpipePuts);
    BIO_meth_set_ctrl(m, noSigpipeCtrl);
    BIO_meth_set_create(m, noSigpipeCreate);
    BIO_meth_set_destroy(m, noSigpipeDestroy);
    return m;
  }();
  return method;
}

}  // namespace

BIO* newNoSigpipeSocketBio(int fd) {
  BIO* bio = BIO_new(noSigpipeMethod());
  if (bio != nullptr) BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  return bio;
}

Result<std::unique_ptr<HttpsConnector>> HttpsConnector::create(const KubeConfig& config) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return unavailable("cannot create TLS context: " + sslError());
  auto fail = [&](const std::string& field, const std::string& what) -> Error {
    SSL_CTX_free(ctx);
    return core::invalidArgument(field, what);
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  const bool verify = !config.insecure_skip_tls_verify;
  if (verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (config.ca_pem.empty()) {
      SSL_CTX_set_default_verify_paths(ctx);
    } else {
      BIO* bio = BIO_new_mem_buf(config.ca_pem.data(), static_cast<int>(config.ca_pem.size()));
      int added = 0;
      while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        // OpenSSL fills a certificate's extension cache lazily, on first use;
        // with the CA shared by concurrent handshakes (node and pod watches,
        // binds) that first fill races with readers. Fill it here, once.
        X509_check_purpose(cert, -1, 0);
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert);
        X509_free(cert);
        ++added;
      }
      BIO_free(bio);
      ERR_clear_error();
      if (added == 0) return fail("certificate-authority", "contains no PEM certificate");
    }
  }
  if (!config.client_cert_pem.empty()) {
    BIO* bio = BIO_new_mem_buf(config.client_cert_pem.data(),
                               static_cast<int>(config.client_cert_pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (cert == nullptr || SSL_CTX_use_certificate(ctx, cert) != 1) {
      if (cert != nullptr) X509_free(cert);
      return fail("client-certificate", "is not a usable PEM certificate: " + sslError());
    }
    X509_free(cert);
    bio = BIO_new_mem_buf(config.client_key_pem.data(),
                          static_cast<int>(config.client_key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      if (key != nullptr) EVP_PKEY_free(key);
      return fail("client-key",
                  "is not a PEM private key matching client-certificate: " + sslError());
    }
    EVP_PKEY_free(key);
  }
  // Asio's context takes the SSL_CTX over and frees it.
  return std::unique_ptr<HttpsConnector>(
      new HttpsConnector(std::make_unique<asio::ssl::context>(ctx), config.server, verify));
}

HttpsConnector::HttpsConnector(std::unique_ptr<asio::ssl::context> ctx, ServerAddress server,
                               bool verify)
    : ctx_(std::move(ctx)), server_(std::move(server)), verify_(verify) {}

HttpsConnector::~HttpsConnector() = default;

namespace {

// One exchange on its own io_context, run in 100 ms slices so that
// `limits.cancel`, set by another thread, is seen promptly.
class Exchange {
 public:
  Exchange(asio::ssl::context& ctx, const ExchangeLimits& limits)
      : stream_(io_, ctx), limits_(limits) {}

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  // Starts one operation with `start(handler)` and runs it to its end: its
  // own error, beast::error::timeout when idle_timeout passed first (the
  // expiry is re-armed for every operation, so it bounds each read, not a
  // whole watch), or operation_aborted once cancelled.
  template <typename Start>
  beast::error_code run(Start&& start) {
    beast::error_code result;
    bool finished = false;
    tcp().expires_after(limits_.idle_timeout);
    start([&](beast::error_code ec, auto&&...) {
      result = ec;
      finished = true;
    });
    while (!finished) {
      io_.run_for(std::chrono::milliseconds(100));
      if (!finished && !cancelled_ && limits_.cancel != nullptr && limits_.cancel->load()) {
        cancelled_ = true;
        tcp().cancel();
      }
    }
    io_.restart();
    return result;
  }

  // Why an operation failed, in the words callers and logs rely on.
  [[nodiscard]] std::string reason(const beast::error_code& ec, const std::string& stalled) const {
    if (cancelled_) return "cancelled";
    if (ec == beast::error::timeout) return stalled;
    return ec.message();
  }

 private:
  asio::io_context io_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  const ExchangeLimits& limits_;
  bool cancelled_ = false;
};

// The peer closed the connection (with or without a TLS close_notify).
bool closedByPeer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
         ec == asio::error::connection_reset;
}

}  // namespace

Result<int> HttpsConnector::exchange(const ApiRequest& request, const std::string& bearer_token,
                                     const BodySink& sink, const ExchangeLimits& limits) const {
  const std::string port = std::to_string(server_.port);
  const std::string ms = std::to_string(limits.idle_timeout.count()) + " ms";
  Exchange ex(*ctx_, limits);

  // Resolves synchronously, as getaddrinfo would: the server is an IP or a
  // name the cluster's resolver answers at once.
  beast::error_code ec;
  asio::ip::tcp::resolver resolver(ex.stream().get_executor());
  const auto endpoints = resolver.resolve(server_.host, port, ec);
  if (ec) return unavailable("cannot resolve " + server_.host + ": " + ec.message());
  // Bounded by idle_timeout: an unreachable server (packets dropped, not
  // refused) would otherwise hold the thread for minutes, and a shutdown with it.
  ec = ex.run([&](auto handler) { ex.tcp().async_connect(endpoints, std::move(handler)); });
  if (ec) {
    return unavailable("cannot connect to " + server_.host + ":" + port + ": " +
                       ex.reason(ec, "timed out after " + ms));
  }
  ex.tcp().socket().set_option(asio::ip::tcp::no_delay(true), ec);

  SSL* ssl = ex.stream().native_handle();
  if (verify_) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (isIpLiteral(server_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, server_.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, server_.host.c_str(), 0);
    }
  }
  if (!isIpLiteral(server_.host)) SSL_set_tlsext_host_name(ssl, server_.host.c_str());
  ec = ex.run([&](auto handler) {
    ex.stream().async_handshake(asio::ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    std::string why = ex.reason(ec, "timed out after " + ms);
    if (verify_ && SSL_get_verify_result(ssl) != X509_V_OK) {
      why = X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    }
    ERR_clear_error();
    return unavailable("TLS handshake with " + server_.host + " failed: " + why);
  }

  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(request.target);
  req.version(11);
  req.set(http::field::host,
          (server_.host.find(':') != std::string::npos ? "[" + server_.host + "]" : server_.host) +
              ":" + port);
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "mpshare-extender");
  req.set(http::field::connection, "close");
  if (!bearer_token.empty()) req.set(http::field::authorization, "Bearer " + bearer_token);
  if (!request.body.empty() || request.method == "POST") {
    req.set(http::field::content_type, request.content_type);
    req.body() = request.body;
    req.content_length(request.body.size());
  }
  ec = ex.run([&](auto handler) { http::async_write(ex.stream(), req, std::move(handler)); });
  if (ec) {
    return unavailable("sending " + request.method + " " + request.target +
                       " failed: " + ex.reason(ec, "timed out after " + ms));
  }

  const std::string stalled = "no data for " + ms + " (stalled)";
  const auto failed = [&](const beast::error_code& error) {
    return unavailable(request.target + ": " +
                       (closedByPeer(error) ? "connection closed before the response ended"
                                            : ex.reason(error, stalled)));
  };
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(64 * 1024);
  // A watch is one response that lasts minutes and has no size of its own;
  // each event and list page is bounded where it is parsed (json_limits).
  // Not boost::none: Boost 1.74 compares a Content-Length against an empty
  // limit as if the limit were 0.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  ec = ex.run([&](auto handler) {
    http::async_read_header(ex.stream(), buffer, parser, std::move(handler));
  });
  if (ec == http::error::header_limit) return unavailable("response headers too large");
  if (ec) return failed(ec);
  const int status = static_cast<int>(parser.get().result_int());
  // Every read hands what it decoded to `sink` at once: watch events are
  // delivered as they arrive, not when a buffer fills.
  char piece[16384];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof(piece);
    ec = ex.run([&](auto handler) {
      http::async_read_some(ex.stream(), buffer, parser, std::move(handler));
    });
    if (ec == http::error::need_buffer) ec = {};
    // A body framed only by the end of the connection may end without close_notify.
    if (ec == asio::ssl::error::stream_truncated && parser.need_eof()) parser.put_eof(ec);
    const size_t got = sizeof(piece) - parser.get().body().size;
    if (got > 0 && !sink(status, std::string_view(piece, got))) return status;
    if (ec) return failed(ec);
  }
  return status;
}

}  // namespace mpshare::platform
