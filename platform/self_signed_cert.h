#pragma once

// In-memory certificate authority for tests, the demo and first installs:
// a self-signed CA (EC P-256) that issues server and client certificates with
// DNS/IP subject alternative names, written out as PEM files.

#include <string>
#include <vector>

namespace mpshare::platform {

struct PemPair {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted
};

struct CertificateRequest {
  std::string common_name;
  // SAN entries. An entry that parses as an IPv4/IPv6 address becomes an IP
  // SAN, anything else a DNS SAN.
  std::vector<std::string> subject_alt_names;
  bool client = false;  // extendedKeyUsage clientAuth instead of serverAuth
  int valid_days = 365;
};

// A CA certificate (basicConstraints CA:TRUE, keyCertSign) and its key.
// Throws std::runtime_error if OpenSSL fails. Example: auto ca = generateCa("mpshare test CA");
PemPair generateCa(const std::string& common_name, int valid_days = 365);

// A leaf certificate signed by `ca`, with a fresh key and a random serial.
// Example: issueCertificate(ca, {.common_name = "localhost",
//                                .subject_alt_names = {"localhost", "127.0.0.1"}});
PemPair issueCertificate(const PemPair& ca, const CertificateRequest& request);

// Paths of the files writeSelfSignedBundle wrote, and the CA to issue more from.
struct TlsBundle {
  std::string ca_file;    // <dir>/ca.crt
  std::string cert_file;  // <dir>/tls.crt
  std::string key_file;   // <dir>/tls.key, mode 0600
  PemPair ca;
};

// Creates `dir` if needed and writes a fresh CA plus a server certificate for
// localhost, 127.0.0.1, ::1 and `extra_names` (e.g. "mpshare-webhook.mpshare.svc").
// The file names match a kubernetes.io/tls Secret.
TlsBundle writeSelfSignedBundle(const std::string& dir,
                                const std::vector<std::string>& extra_names = {});

// Writes `content` to `path` atomically (temp file + rename), with mode 0600
// when `private_key`, else 0644. Throws std::runtime_error naming the path.
void writePemFile(const std::string& path, const std::string& content, bool private_key);

}  // namespace mpshare::platform
