#pragma once

// A raw socket + OpenSSL HTTP/1.1 client for the serving tests: unlike a
// library client it lets a test pin the protocol version, present or omit a
// client certificate, and see exactly which certificate the server sent.

#include <openssl/ssl.h>

#include <cstdint>
#include <map>
#include <string>

namespace mpshare::platform::testing {

struct ClientOptions {
  bool tls = true;
  std::string ca_file;    // verify the server against this CA; empty = no verification
  std::string cert_file;  // client certificate for mutual TLS; empty = none
  std::string key_file;
  int min_version = TLS1_2_VERSION;
  int max_version = 0;  // 0 = highest supported
};

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One connection; requests on it use keep-alive. Every socket operation times
// out after 10 s so a broken server fails the test instead of hanging it.
class TestConnection {
 public:
  // Connects to 127.0.0.1:port and, with TLS, completes the handshake.
  // Throws std::runtime_error describing the failure.
  TestConnection(uint16_t port, const ClientOptions& options);
  ~TestConnection();
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  // Sends one request and reads the whole response (Content-Length or chunked).
  // Adds Content-Length unless `headers` has Transfer-Encoding, in which case
  // `body` is sent as given (already chunk-encoded).
  // Throws std::runtime_error if the connection fails or closes early.
  ClientResponse request(const std::string& method, const std::string& target,
                         const std::string& body = "",
                         const std::map<std::string, std::string>& headers = {});

  // Sends `bytes` exactly as given (a hand-made, possibly malformed request)
  // and reads one response.
  ClientResponse exchange(const std::string& bytes);
  // Reads one more response (after an interim 100 Continue, say).
  ClientResponse readResponse();
  // True when the server has closed the connection (waits up to the 10 s
  // socket timeout for it; false if more bytes arrive instead).
  bool closedByPeer();

  // describeCertificate() of the server's leaf certificate; "" without TLS.
  [[nodiscard]] std::string peerCertificate() const;
  // "TLSv1.3", "TLSv1.2"; "" without TLS.
  [[nodiscard]] std::string protocol() const;

 private:
  void writeAll(const std::string& data);
  // Appends at least one more byte to buffer_; false at end of stream.
  bool readMore();
  std::string readLine();
  std::string readExactly(size_t n);

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// A fresh empty directory under $TMPDIR (or /tmp), removed by the caller.
std::string makeTempDir();

// Convenience: one request on a fresh connection.
ClientResponse fetch(uint16_t port, const ClientOptions& options, const std::string& method,
                     const std::string& target, const std::string& body = "");

}  // namespace mpshare::platform::testing
