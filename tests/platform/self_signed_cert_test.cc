#include "platform/self_signed_cert.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/platform/test_client.h"

namespace mpshare::platform {
namespace {

X509* parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// Verifies `leaf` against `ca` for `purpose` and, when given, a host or IP name.
int verify(const PemPair& ca, const PemPair& leaf, int purpose, const std::string& host,
           const std::string& ip) {
  X509* ca_cert = parse(ca.cert_pem);
  X509* cert = parse(leaf.cert_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_cert);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, purpose);
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  if (!ip.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(cert);
  X509_free(ca_cert);
  return err;
}

TEST(SelfSignedCertTest, IssuedCertificatesVerifyForTheirNamesAndPurposeOnly) {
  const PemPair ca = generateCa("test CA");
  const PemPair server = issueCertificate(
      ca, {.common_name = "svc", .subject_alt_names = {"mpshare-webhook.mpshare.svc", "10.0.0.7"}});
  const PemPair client = issueCertificate(
      ca, {.common_name = "kube-scheduler", .subject_alt_names = {}, .client = true});
  const PemPair other_ca = generateCa("other CA");
  struct Case {
    std::string name;
    const PemPair& ca;
    const PemPair& leaf;
    int purpose;
    std::string host, ip;
    int want;
  };
  const std::vector<Case> cases = {
      {"server by DNS SAN", ca, server, X509_PURPOSE_SSL_SERVER, "mpshare-webhook.mpshare.svc", "",
       X509_V_OK},
      {"server by IP SAN", ca, server, X509_PURPOSE_SSL_SERVER, "", "10.0.0.7", X509_V_OK},
      {"name not in SAN", ca, server, X509_PURPOSE_SSL_SERVER, "evil.example", "",
       X509_V_ERR_HOSTNAME_MISMATCH},
      {"server cert used as client", ca, server, X509_PURPOSE_SSL_CLIENT, "", "",
       X509_V_ERR_INVALID_PURPOSE},
      {"client cert", ca, client, X509_PURPOSE_SSL_CLIENT, "", "", X509_V_OK},
      {"client cert used as server", ca, client, X509_PURPOSE_SSL_SERVER, "", "",
       X509_V_ERR_INVALID_PURPOSE},
      {"wrong CA", other_ca, server, X509_PURPOSE_SSL_SERVER, "", "",
       X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(verify(c.ca, c.leaf, c.purpose, c.host, c.ip), c.want);
  }
}

TEST(SelfSignedCertTest, BundleWritesSecretShapedFilesWithAPrivateKey) {
  const std::string dir = testing::makeTempDir() + "/nested/tls";
  const TlsBundle bundle = writeSelfSignedBundle(dir, {"mpshare-webhook.mpshare.svc"});
  EXPECT_EQ(bundle.cert_file, dir + "/tls.crt");
  EXPECT_EQ(bundle.key_file, dir + "/tls.key");
  EXPECT_EQ(bundle.ca_file, dir + "/ca.crt");
  struct stat st {};
  ASSERT_EQ(::stat(bundle.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::ifstream cert_in(bundle.cert_file);
  std::stringstream cert_pem;
  cert_pem << cert_in.rdbuf();
  std::ifstream key_in(bundle.key_file);
  std::stringstream key_pem;
  key_pem << key_in.rdbuf();
  const PemPair server{cert_pem.str(), key_pem.str()};
  for (const std::string host : {"localhost", "mpshare-webhook.mpshare.svc"}) {
    EXPECT_EQ(verify(bundle.ca, server, X509_PURPOSE_SSL_SERVER, host, ""), X509_V_OK) << host;
  }
  for (const std::string ip : {"127.0.0.1", "::1"}) {
    EXPECT_EQ(verify(bundle.ca, server, X509_PURPOSE_SSL_SERVER, "", ip), X509_V_OK) << ip;
  }
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path().parent_path());
}

}  // namespace
}  // namespace mpshare::platform
