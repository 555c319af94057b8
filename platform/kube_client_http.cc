#include "platform/kube_client_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "platform/kube_watch_stream.h"

namespace mpshare::platform {
namespace {

using core::Error;
using core::ErrorCode;
using core::Result;

Error unavailable(const std::string& message) { return Error{ErrorCode::kUnavailable, "apiserver", message}; }

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

// Connects without blocking past `limits`: an unreachable server (packets
// dropped, not refused) would otherwise hold the thread for minutes, and with
// it a shutdown that has set `limits.cancel`.
bool connectWithin(int fd, const sockaddr* address, socklen_t length, const ExchangeLimits& limits,
                   std::string& reason) {
  const int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (connect(fd, address, length) != 0) {
    if (errno != EINPROGRESS) {
      reason = std::strerror(errno);
      return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + limits.idle_timeout;
    while (true) {
      if (limits.cancel != nullptr && limits.cancel->load()) {
        reason = "cancelled";
        return false;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        reason = "timed out after " + std::to_string(limits.idle_timeout.count()) + " ms";
        return false;
      }
      pollfd p{fd, POLLOUT, 0};
      const int rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
      if (rc < 0 && errno != EINTR) {
        reason = std::strerror(errno);
        return false;
      }
      if (rc > 0) break;
    }
    int error = 0;
    socklen_t size = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    if (error != 0) {
      reason = std::strerror(error);
      return false;
    }
  }
  fcntl(fd, F_SETFL, flags);
  return true;
}

Result<int> connectTcp(const ServerAddress& server, const ExchangeLimits& limits) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(server.port);
  if (const int rc = getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return unavailable("cannot resolve " + server.host + ": " + gai_strerror(rc));
  }
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connectWithin(fd, a->ai_addr, a->ai_addrlen, limits, last)) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) return unavailable("cannot connect to " + server.host + ":" + port + ": " + last);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Owns one TLS connection; closes it on every path out of exchange().
class Connection {
 public:
  Connection(SSL* ssl, int fd) : ssl_(ssl), fd_(fd) {}
  ~Connection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  SSL* ssl() const { return ssl_; }
  int fd() const { return fd_; }

 private:
  SSL* ssl_;
  int fd_;
};

// Waits until TLS data can be read; false on idle timeout or cancel (reason set).
bool waitReadable(const Connection& conn, const ExchangeLimits& limits, std::string& reason) {
  if (SSL_pending(conn.ssl()) > 0) return true;
  const auto deadline = std::chrono::steady_clock::now() + limits.idle_timeout;
  while (true) {
    if (limits.cancel != nullptr && limits.cancel->load()) {
      reason = "cancelled";
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                            std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      reason = "no data for " + std::to_string(limits.idle_timeout.count()) + " ms (stalled)";
      return false;
    }
    pollfd p{conn.fd(), POLLIN, 0};
    const int rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) {
      reason = std::strerror(errno);
      return false;
    }
  }
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

int noSigpipePuts(BIO* bio, const char* text) { return noSigpipeWrite(bio, text, static_cast<int>(std::strlen(text))); }

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
    BIO* bio = BIO_new_mem_buf(config.client_cert_pem.data(), static_cast<int>(config.client_cert_pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (cert == nullptr || SSL_CTX_use_certificate(ctx, cert) != 1) {
      if (cert != nullptr) X509_free(cert);
      return fail("client-certificate", "is not a usable PEM certificate: " + sslError());
    }
    X509_free(cert);
    bio = BIO_new_mem_buf(config.client_key_pem.data(), static_cast<int>(config.client_key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (key == nullptr || SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
      if (key != nullptr) EVP_PKEY_free(key);
      return fail("client-key", "is not a PEM private key matching client-certificate: " + sslError());
    }
    EVP_PKEY_free(key);
  }
  return std::unique_ptr<HttpsConnector>(new HttpsConnector(ctx, config.server, verify));
}

HttpsConnector::HttpsConnector(SSL_CTX* ctx, ServerAddress server, bool verify)
    : ctx_(ctx), server_(std::move(server)), verify_(verify) {}

HttpsConnector::~HttpsConnector() { SSL_CTX_free(ctx_); }

Result<int> HttpsConnector::exchange(const ApiRequest& request, const std::string& bearer_token,
                                     const BodySink& sink, const ExchangeLimits& limits) const {
  auto fd = connectTcp(server_, limits);
  if (!fd) return fd.error();
  Connection conn(SSL_new(ctx_), *fd);
  BIO* bio = newNoSigpipeSocketBio(conn.fd());
  if (conn.ssl() == nullptr || bio == nullptr) {
    if (bio != nullptr) BIO_free(bio);
    return unavailable("cannot set up a TLS connection: " + sslError());
  }
  SSL_set_bio(conn.ssl(), bio, bio);  // the SSL owns the BIO from here on
  if (verify_) {
    X509_VERIFY_PARAM* param = SSL_get0_param(conn.ssl());
    if (isIpLiteral(server_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, server_.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, server_.host.c_str(), 0);
    }
  }
  if (!isIpLiteral(server_.host)) SSL_set_tlsext_host_name(conn.ssl(), server_.host.c_str());
  timeval tv{static_cast<time_t>(limits.idle_timeout.count() / 1000),
             static_cast<suseconds_t>(limits.idle_timeout.count() % 1000 * 1000)};
  setsockopt(conn.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(conn.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (SSL_connect(conn.ssl()) != 1) {
    std::string why = sslError();
    if (verify_ && SSL_get_verify_result(conn.ssl()) != X509_V_OK) {
      why = X509_verify_cert_error_string(SSL_get_verify_result(conn.ssl()));
    }
    return unavailable("TLS handshake with " + server_.host + " failed: " + why);
  }

  std::string head = request.method + " " + request.target + " HTTP/1.1\r\nHost: " +
                     (server_.host.find(':') != std::string::npos ? "[" + server_.host + "]" : server_.host) +
                     ":" + std::to_string(server_.port) +
                     "\r\nAccept: application/json\r\nUser-Agent: mpshare-extender\r\nConnection: close\r\n";
  if (!bearer_token.empty()) head += "Authorization: Bearer " + bearer_token + "\r\n";
  if (!request.body.empty() || request.method == "POST") {
    head += "Content-Type: " + request.content_type + "\r\nContent-Length: " +
            std::to_string(request.body.size()) + "\r\n";
  }
  head += "\r\n" + request.body;
  if (SSL_write(conn.ssl(), head.data(), static_cast<int>(head.size())) <= 0) {
    return unavailable("sending " + request.method + " " + request.target + " failed: " + sslError());
  }

  std::string header_bytes;
  int status = 0;
  bool headers_done = false;
  bool chunked = false;
  int64_t content_length = -1;
  int64_t received = 0;
  ChunkedDecoder decoder;
  std::string decoded;
  char buf[16384];
  while (true) {
    std::string reason;
    if (!waitReadable(conn, limits, reason)) return unavailable(request.target + ": " + reason);
    const int n = SSL_read(conn.ssl(), buf, sizeof(buf));
    if (n <= 0) {
      const int err = SSL_get_error(conn.ssl(), n);
      if (err == SSL_ERROR_WANT_READ) continue;
      // EOF: fine only when the body had no framing of its own.
      if (headers_done && !chunked && content_length < 0) return status;
      return unavailable(request.target + ": connection closed before the response ended");
    }
    std::string_view data(buf, static_cast<size_t>(n));
    if (!headers_done) {
      header_bytes.append(data);
      const auto end = header_bytes.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (header_bytes.size() > 65536) return unavailable("response headers too large");
        continue;
      }
      headers_done = true;
      if (header_bytes.compare(0, 5, "HTTP/") != 0 || header_bytes.size() < 12) {
        return unavailable("malformed status line");
      }
      status = std::atoi(header_bytes.c_str() + 9);
      std::string lower = header_bytes.substr(0, end);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      chunked = lower.find("\r\ntransfer-encoding: chunked") != std::string::npos;
      if (const auto cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
        content_length = std::atoll(lower.c_str() + cl + 17);
      }
      const std::string rest = header_bytes.substr(end + 4);
      header_bytes.clear();
      data = rest;
      // Re-enter the body handling below with what followed the headers.
      if (chunked) {
        decoded.clear();
        if (auto s = decoder.feed(rest, decoded); !s) return unavailable(s.error().message);
        if (!decoded.empty() && !sink(status, decoded)) return status;
        if (decoder.done()) return status;
      } else {
        received += static_cast<int64_t>(rest.size());
        if (!rest.empty() && !sink(status, rest)) return status;
        if (content_length >= 0 && received >= content_length) return status;
      }
      continue;
    }
    if (chunked) {
      decoded.clear();
      if (auto s = decoder.feed(data, decoded); !s) return unavailable(s.error().message);
      if (!decoded.empty() && !sink(status, decoded)) return status;
      if (decoder.done()) return status;
    } else {
      received += n;
      if (!sink(status, data)) return status;
      if (content_length >= 0 && received >= content_length) return status;
    }
  }
}

}  // namespace mpshare::platform
