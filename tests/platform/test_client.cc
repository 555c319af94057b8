#include "tests/platform/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "platform/tls_credentials.h"

namespace mpshare::platform::testing {
namespace {

std::string sslError(const std::string& what) {
  std::string text = what;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    text += ": ";
    text += buf;
  }
  return text;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

TestConnection::TestConnection(uint16_t port, const ClientOptions& options) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  timeval timeout{10, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  if (!options.tls) return;

  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx_, options.min_version);
  SSL_CTX_set_max_proto_version(ctx_, options.max_version);
  if (options.min_version != 0 && options.min_version < TLS1_2_VERSION) {
    SSL_CTX_set_security_level(ctx_, 0);  // let OpenSSL 3 even offer TLS 1.0/1.1
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, options.ca_file.c_str(), nullptr) != 1) {
      throw std::runtime_error(sslError("load CA " + options.ca_file));
    }
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error(sslError("load client certificate"));
    }
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  SSL_set1_host(ssl_, "localhost");
  if (SSL_connect(ssl_) != 1) {
    const std::string error = sslError("TLS handshake failed");
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    ::close(fd_);
    throw std::runtime_error(error);
  }
}

TestConnection::~TestConnection() {
  if (ssl_ != nullptr) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
}

std::string TestConnection::peerCertificate() const {
  if (ssl_ == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  std::string text = describeCertificate(cert);
  X509_free(cert);
  return text;
}

std::string TestConnection::protocol() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

void TestConnection::writeAll(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const int n =
        ssl_ ? SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent))
             : static_cast<int>(::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL));
    if (n <= 0) throw std::runtime_error(sslError("write failed"));
    sent += static_cast<size_t>(n);
  }
}

bool TestConnection::readMore() {
  char buf[16384];
  const int n =
      ssl_ ? SSL_read(ssl_, buf, sizeof(buf)) : static_cast<int>(::recv(fd_, buf, sizeof(buf), 0));
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<size_t>(n));
  return true;
}

std::string TestConnection::readLine() {
  size_t pos;
  while ((pos = buffer_.find("\r\n")) == std::string::npos) {
    if (!readMore()) throw std::runtime_error("connection closed while reading a line");
  }
  std::string line = buffer_.substr(0, pos);
  buffer_.erase(0, pos + 2);
  return line;
}

std::string TestConnection::readExactly(size_t n) {
  while (buffer_.size() < n) {
    if (!readMore()) throw std::runtime_error("connection closed while reading the body");
  }
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

ClientResponse TestConnection::request(const std::string& method, const std::string& target,
                                       const std::string& body,
                                       const std::map<std::string, std::string>& headers) {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& [name, value] : headers) text += name + ": " + value + "\r\n";
  const bool chunked = headers.count("Transfer-Encoding") != 0;  // body is pre-encoded
  if (!chunked && (!body.empty() || method == "POST")) {
    text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  text += "\r\n" + body;
  return exchange(text);
}

ClientResponse TestConnection::exchange(const std::string& bytes) {
  writeAll(bytes);
  return readResponse();
}

bool TestConnection::closedByPeer() {
  try {
    return !readMore();
  } catch (const std::runtime_error&) {
    return true;  // reset rather than closed cleanly
  }
}

ClientResponse TestConnection::readResponse() {
  ClientResponse response;
  const std::string status_line = readLine();  // HTTP/1.1 200 OK
  if (status_line.size() < 12) throw std::runtime_error("bad status line: " + status_line);
  response.status = std::stoi(status_line.substr(9, 3));
  for (std::string line = readLine(); !line.empty(); line = readLine()) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    response.headers[lower(line.substr(0, colon))] = value;
  }
  if (response.headers.count("content-length") != 0) {
    response.body = readExactly(std::stoul(response.headers["content-length"]));
  } else if (lower(response.headers["transfer-encoding"]).find("chunked") != std::string::npos) {
    for (;;) {
      const size_t size = std::stoul(readLine(), nullptr, 16);
      response.body += readExactly(size);
      readLine();
      if (size == 0) break;
    }
  }
  return response;
}

std::string makeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base != nullptr ? base : "/tmp") + "/mpshare-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return templ;
}

ClientResponse fetch(uint16_t port, const ClientOptions& options, const std::string& method,
                     const std::string& target, const std::string& body) {
  TestConnection connection(port, options);
  return connection.request(method, target, body);
}

}  // namespace mpshare::platform::testing
