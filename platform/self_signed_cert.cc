#include "platform/self_signed_cert.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace mpshare::platform {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

[[noreturn]] void fail(const std::string& what) {
  char buf[256] = "unknown OpenSSL error";
  if (unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  throw std::runtime_error("certificate generation: " + what + ": " + buf);
}

void check(int rc, const std::string& what) {
  if (rc <= 0) fail(what);
}

PkeyPtr newKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC P-256 key generation");
  return key;
}

std::string toPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert), "PEM encode certificate");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string toPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM encode key");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

X509Ptr parseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail("parse CA certificate");
  return cert;
}

PkeyPtr parseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail("parse CA key");
  return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) fail("extension " + value);
  const int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(rc, "add extension " + value);
}

bool isIpAddress(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// A certificate for `key`, not yet signed. Issuer defaults to itself.
X509Ptr newCertificate(EVP_PKEY* key, const std::string& common_name, int valid_days) {
  X509Ptr cert(X509_new());
  check(X509_set_version(cert.get(), 2), "set version");
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof(serial)), "random serial");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60);  // tolerate clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(valid_days) * 24 * 60 * 60);
  check(X509_set_pubkey(cert.get(), key), "set public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("mpshare"), -1, -1, 0),
        "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "subject CN");
  return cert;
}

}  // namespace

PemPair generateCa(const std::string& common_name, int valid_days) {
  PkeyPtr key = newKey();
  X509Ptr cert = newCertificate(key.get(), common_name, valid_days);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())), "set issuer");
  addExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  addExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()), "sign CA");
  return {toPem(cert.get()), toPem(key.get())};
}

PemPair issueCertificate(const PemPair& ca, const CertificateRequest& request) {
  X509Ptr ca_cert = parseCert(ca.cert_pem);
  PkeyPtr ca_key = parseKey(ca.key_pem);
  PkeyPtr key = newKey();
  X509Ptr cert = newCertificate(key.get(), request.common_name, request.valid_days);
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())), "set issuer");
  addExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  addExtension(cert.get(), ca_cert.get(), NID_ext_key_usage,
               request.client ? "clientAuth" : "serverAuth");
  addExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid");
  if (!request.subject_alt_names.empty()) {
    std::string san;
    for (const auto& name : request.subject_alt_names) {
      if (!san.empty()) san += ',';
      san += (isIpAddress(name) ? "IP:" : "DNS:") + name;
    }
    addExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, san);
  }
  check(X509_sign(cert.get(), ca_key.get(), EVP_sha256()), "sign certificate");
  return {toPem(cert.get()), toPem(key.get())};
}

void writePemFile(const std::string& path, const std::string& content, bool private_key) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp);
    out << content;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  ::chmod(tmp.c_str(), private_key ? 0600 : 0644);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("cannot rename " + tmp + " to " + path);
  }
}

TlsBundle writeSelfSignedBundle(const std::string& dir,
                                const std::vector<std::string>& extra_names) {
  std::filesystem::create_directories(dir);
  TlsBundle bundle;
  bundle.ca = generateCa("mpshare self-signed CA");
  CertificateRequest request{.common_name = "localhost",
                             .subject_alt_names = {"localhost", "127.0.0.1", "::1"}};
  request.subject_alt_names.insert(request.subject_alt_names.end(), extra_names.begin(),
                                   extra_names.end());
  const PemPair server = issueCertificate(bundle.ca, request);
  bundle.ca_file = dir + "/ca.crt";
  bundle.cert_file = dir + "/tls.crt";
  bundle.key_file = dir + "/tls.key";
  writePemFile(bundle.ca_file, bundle.ca.cert_pem, false);
  writePemFile(bundle.key_file, server.key_pem, true);
  writePemFile(bundle.cert_file, server.cert_pem, false);
  return bundle;
}

}  // namespace mpshare::platform
