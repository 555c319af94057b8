#include "platform/tls_credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "platform/logging.h"

namespace mpshare::platform {
namespace {

// TLS 1.2 suites: forward-secret AEAD only. TLS 1.3 suites are OpenSSL's
// defaults, all of which qualify.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct NameStackFree {
  void operator()(STACK_OF(X509_NAME) * p) const { sk_X509_NAME_pop_free(p, X509_NAME_free); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};

std::string openSslError() {
  unsigned long code = ERR_get_error();
  std::string text;
  while (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
    code = ERR_get_error();
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::vector<std::unique_ptr<X509, X509Free>> parseCertificates(const std::string& pem,
                                                               const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<std::unique_ptr<X509, X509Free>> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the loop always ends on a "no start line" error
  if (certs.empty()) throw std::runtime_error(path + ": no PEM certificate found");
  return certs;
}

}  // namespace

struct TlsCredentials {
  std::string cert_pem, key_pem, ca_pem;  // raw content, to skip no-op reloads
  std::unique_ptr<X509, X509Free> cert;
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  std::unique_ptr<STACK_OF(X509), StackFree> chain;  // intermediates after the leaf
  std::unique_ptr<X509_STORE, StoreFree> client_ca;  // null without mutual TLS
  std::unique_ptr<STACK_OF(X509_NAME), NameStackFree> client_ca_names;
};

namespace {

std::shared_ptr<const TlsCredentials> loadCredentials(const TlsFiles& files) {
  auto creds = std::make_shared<TlsCredentials>();
  creds->cert_pem = readFile(files.cert_file);
  creds->key_pem = readFile(files.key_file);

  auto certs = parseCertificates(creds->cert_pem, files.cert_file);
  creds->cert = std::move(certs.front());
  creds->chain.reset(sk_X509_new_null());
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(creds->chain.get(), certs[i].release());

  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(creds->key_pem.data(), static_cast<int>(creds->key_pem.size())));
  creds->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!creds->key) {
    throw std::runtime_error(files.key_file + ": no PEM private key found (" + openSslError() +
                             ")");
  }
  if (X509_check_private_key(creds->cert.get(), creds->key.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error(files.key_file + ": private key does not match certificate " +
                             files.cert_file);
  }

  if (!files.client_ca_file.empty()) {
    creds->ca_pem = readFile(files.client_ca_file);
    creds->client_ca.reset(X509_STORE_new());
    creds->client_ca_names.reset(sk_X509_NAME_new_null());
    for (auto& ca : parseCertificates(creds->ca_pem, files.client_ca_file)) {
      X509_STORE_add_cert(creds->client_ca.get(), ca.get());
      sk_X509_NAME_push(creds->client_ca_names.get(),
                        X509_NAME_dup(X509_get_subject_name(ca.get())));
    }
  }
  return creds;
}

}  // namespace

// What the files looked like at the last check, to notice a change cheaply.
struct TlsCredentialStore::FileState {
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    bool operator==(const Identity&) const = default;
  };
  Identity cert, key, ca;
  bool operator==(const FileState&) const = default;

  static Identity of(const std::string& path) {
    Identity id;
    struct stat st {};
    if (!path.empty() && ::stat(path.c_str(), &st) == 0) {  // stat follows ..data symlinks
      id = {st.st_dev, st.st_ino, st.st_size,
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
    }
    return id;
  }
  static FileState of(const TlsFiles& files) {
    return {of(files.cert_file), of(files.key_file), of(files.client_ca_file)};
  }
};

std::string describeCertificate(X509* cert) {
  if (cert == nullptr) return "none";
  std::string subject;
  char buf[256];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf)) >
      0) {
    subject = std::string("CN=") + buf;
  }
  std::string serial = "?";
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  return subject + " serial=" + serial;
}

TlsCredentialStore::TlsCredentialStore(TlsFiles files, std::chrono::milliseconds interval)
    : files_(std::move(files)) {
  auto state = std::make_unique<FileState>(FileState::of(files_));
  current_ = loadCredentials(files_);
  state_ = std::move(state);
  logInfo("tls credentials loaded",
          {{"cert", files_.cert_file}, {"certificate", describeCertificate(current_->cert.get())}});
  watcher_ = std::thread([this, interval] { watch(interval); });
}

TlsCredentialStore::~TlsCredentialStore() {
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  watcher_.join();
}

void TlsCredentialStore::watch(std::chrono::milliseconds interval) {
  std::unique_lock<std::mutex> lock(watch_mutex_);
  while (!watch_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    reloadIfChanged();
    lock.lock();
  }
}

bool TlsCredentialStore::reloadIfChanged() {
  // Handshakes only ever take mutex_, briefly; file I/O happens outside it.
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);

  const FileState now = FileState::of(files_);
  std::shared_ptr<const TlsCredentials> old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (now == *state_) return false;
    old = current_;
  }
  std::shared_ptr<const TlsCredentials> fresh;
  try {
    fresh = loadCredentials(files_);
  } catch (const std::exception& e) {
    // Typically a rotation caught between writing the certificate and the key:
    // keep serving the old pair and retry when the files change again.
    logWarn("tls reload failed, keeping the previous certificate",
            {{"error", e.what()}, {"certificate", describeCertificate(old->cert.get())}});
    std::lock_guard<std::mutex> lock(mutex_);
    *state_ = now;
    return false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  *state_ = now;
  if (fresh->cert_pem == old->cert_pem && fresh->key_pem == old->key_pem &&
      fresh->ca_pem == old->ca_pem) {
    return false;  // touched or re-linked, same content
  }
  current_ = std::move(fresh);
  logInfo("tls credentials reloaded",
          {{"cert", files_.cert_file}, {"certificate", describeCertificate(current_->cert.get())}});
  return true;
}

std::shared_ptr<const TlsCredentials> TlsCredentialStore::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

std::string TlsCredentialStore::currentCertificate() const {
  return describeCertificate(current()->cert.get());
}

int TlsCredentialStore::certCallback(SSL* ssl, void* arg) {
  const auto creds = static_cast<TlsCredentialStore*>(arg)->current();
  // SSL_use_cert_and_key takes its own references, so the snapshot may be
  // replaced by a reload while this connection lives on.
  if (SSL_use_cert_and_key(ssl, creds->cert.get(), creds->key.get(), creds->chain.get(), 1) != 1) {
    logError("tls handshake: cannot install certificate", {{"error", openSslError()}});
    return 0;
  }
  if (creds->client_ca) {
    SSL_set1_verify_cert_store(ssl, creds->client_ca.get());
    SSL_set_client_CA_list(ssl, SSL_dup_CA_list(creds->client_ca_names.get()));
  }
  return 1;
}

void TlsCredentialStore::configureServerContext(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                               SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    throw std::runtime_error("tls: cannot set cipher list: " + openSslError());
  }
  // No session resumption: the API server and kube-scheduler keep their
  // connections alive, so a handshake is rare, and a resumed session would
  // skip the certificate callback that serves a rotated certificate.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_cert_cb(ctx, &TlsCredentialStore::certCallback, this);
  if (!files_.client_ca_file.empty()) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
}

}  // namespace mpshare::platform
