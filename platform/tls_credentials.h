#pragma once

// Server TLS credentials that can change while the listener keeps running.
// cert-manager and Kubernetes Secret volumes replace tls.crt/tls.key in place
// (a Secret volume swaps its ..data symlink), so the files are watched and each
// new handshake is served the newest valid pair; connections already open keep
// the pair they negotiated.

#include <openssl/ssl.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "platform/http_server.h"

namespace mpshare::platform {

// One parsed, consistent pair (and optional client CA). Immutable once built.
struct TlsCredentials;

// A human-readable identity for logs and tests: "CN=localhost serial=1A2B".
std::string describeCertificate(X509* cert);

class TlsCredentialStore {
 public:
  // Loads the files now and starts a watcher thread that re-checks them every
  // `interval` (1 s is what cert rotation needs; tests use less). Throws
  // std::runtime_error naming the file when the initial pair cannot be used:
  // unreadable, no PEM certificate, no private key, or a key that does not
  // match the certificate.
  explicit TlsCredentialStore(TlsFiles files,
                              std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~TlsCredentialStore();
  TlsCredentialStore(const TlsCredentialStore&) = delete;
  TlsCredentialStore& operator=(const TlsCredentialStore&) = delete;

  // Re-reads the files when their identity (device, inode, size, mtime, after
  // following symlinks) changed and their content differs. A half-written or
  // mismatched pair is logged once and the previous pair kept. Returns true when
  // a new pair was installed. The watcher calls this; tests may call it directly.
  bool reloadIfChanged();

  // Applies mpshare's server policy to `ctx`: TLS 1.2 and 1.3 only, AEAD ECDHE
  // ciphers, no compression or renegotiation, a per-handshake certificate
  // callback reading this store, and (with a client CA) required and verified
  // client certificates. The store must outlive `ctx`.
  void configureServerContext(SSL_CTX* ctx);

  // describeCertificate() of the pair new handshakes get.
  [[nodiscard]] std::string currentCertificate() const;

 private:
  struct FileState;
  static int certCallback(SSL* ssl, void* arg);
  [[nodiscard]] std::shared_ptr<const TlsCredentials> current() const;
  void watch(std::chrono::milliseconds interval);

  const TlsFiles files_;
  std::mutex reload_mutex_;   // one reload at a time (watcher vs. direct calls)
  mutable std::mutex mutex_;  // guards current_ and state_
  std::shared_ptr<const TlsCredentials> current_;
  std::unique_ptr<FileState> state_;

  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace mpshare::platform
