#include "platform/tls_credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "platform/self_signed_cert.h"
#include "tests/platform/test_client.h"

namespace mpshare::platform {
namespace {

using testing::ClientOptions;
using testing::TestConnection;

HttpResponse ok(const HttpRequest&) { return {200, "application/json", "{}"}; }

PemPair newServerPair(const PemPair& ca, const std::string& cn) {
  return issueCertificate(ca, {.common_name = cn, .subject_alt_names = {"localhost", "127.0.0.1"}});
}

// What a fresh connection is served, polled until `want` or 5 s pass.
std::string waitForServedCertificate(uint16_t port, const ClientOptions& client,
                                     const std::string& want) {
  std::string got;
  for (int i = 0; i < 100; ++i) {
    TestConnection connection(port, client);
    got = connection.peerCertificate();
    if (got.rfind(want, 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return got;
}

class TlsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::makeTempDir();
    bundle_ = writeSelfSignedBundle(dir_);
    client_.ca_file = bundle_.ca_file;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void writePair(const std::string& dir, const PemPair& pair) {
    writePemFile(dir + "/tls.key", pair.key_pem, true);
    writePemFile(dir + "/tls.crt", pair.cert_pem, false);
  }

  std::string dir_;
  TlsBundle bundle_;
  ClientOptions client_;
};

// Table of file changes applied to a loaded store, with what it must then serve.
TEST_F(TlsCredentialsTest, ReloadsOnlyCompleteMatchingPairsAndKeepsTheOldOneOtherwise) {
  const PemPair second = newServerPair(bundle_.ca, "second");
  const PemPair third = newServerPair(bundle_.ca, "third");
  struct Step {
    std::string name;
    std::function<void()> change;
    bool want_reloaded;
    std::string want_cn;
  };
  const std::vector<Step> steps = {
      {"nothing changed", [] {}, false, "CN=localhost"},
      {"same content rewritten",
       [&] {
         std::filesystem::copy_file(bundle_.cert_file, dir_ + "/copy",
                                    std::filesystem::copy_options::overwrite_existing);
         std::filesystem::rename(dir_ + "/copy", bundle_.cert_file);
       },
       false, "CN=localhost"},
      {"certificate rotated, key not yet (mismatch)",
       [&] { writePemFile(bundle_.cert_file, second.cert_pem, false); }, false, "CN=localhost"},
      {"key follows", [&] { writePemFile(bundle_.key_file, second.key_pem, true); }, true,
       "CN=second"},
      {"half-written certificate",
       [&] { writePemFile(bundle_.cert_file, third.cert_pem.substr(0, 100), false); }, false,
       "CN=second"},
      {"certificate removed", [&] { std::filesystem::remove(bundle_.cert_file); }, false,
       "CN=second"},
      {"complete new pair", [&] { writePair(dir_, third); }, true, "CN=third"},
  };
  TlsCredentialStore store(TlsFiles{bundle_.cert_file, bundle_.key_file, ""},
                           std::chrono::hours(1));  // no watcher interference
  for (const auto& step : steps) {
    SCOPED_TRACE(step.name);
    step.change();
    EXPECT_EQ(store.reloadIfChanged(), step.want_reloaded);
    EXPECT_EQ(store.currentCertificate().rfind(step.want_cn + " ", 0), 0u)
        << store.currentCertificate();
  }
}

TEST_F(TlsCredentialsTest, InitialLoadErrorsNameTheFileAndTheProblem) {
  const PemPair other = newServerPair(bundle_.ca, "other");
  writePemFile(dir_ + "/other.key", other.key_pem, true);
  writePemFile(dir_ + "/garbage.crt", "not a certificate", false);
  struct Case {
    TlsFiles files;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{dir_ + "/missing.crt", bundle_.key_file, ""}, "cannot read " + dir_ + "/missing.crt"},
      {{dir_ + "/garbage.crt", bundle_.key_file, ""},
       dir_ + "/garbage.crt: no PEM certificate found"},
      {{bundle_.cert_file, bundle_.cert_file, ""},
       bundle_.cert_file + ": no PEM private key found"},
      {{bundle_.cert_file, dir_ + "/other.key", ""},
       dir_ + "/other.key: private key does not match certificate " + bundle_.cert_file},
      {{bundle_.cert_file, bundle_.key_file, dir_ + "/garbage.crt"},
       dir_ + "/garbage.crt: no PEM certificate found"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    try {
      TlsCredentialStore store(c.files);
      ADD_FAILURE() << "expected an error";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(c.want, 0), 0u) << e.what();
    }
  }
}

TEST_F(TlsCredentialsTest, NewConnectionsGetARotatedCertificateWhileTheListenerStaysUp) {
  ServerOptions options;
  options.tls = TlsFiles{bundle_.cert_file, bundle_.key_file, ""};
  options.tls_reload_interval = std::chrono::milliseconds(50);
  auto server = startHttpServer(options, ok);
  TestConnection before(server->port(), client_);
  EXPECT_EQ(before.peerCertificate().rfind("CN=localhost ", 0), 0u);

  writePair(dir_, newServerPair(bundle_.ca, "rotated"));
  const std::string served = waitForServedCertificate(server->port(), client_, "CN=rotated ");
  EXPECT_EQ(served.rfind("CN=rotated ", 0), 0u) << served;
  EXPECT_EQ(server->servingCertificate(), served);
  // The connection from before the rotation was never dropped.
  EXPECT_EQ(before.request("GET", "/healthz").status, 200);
  EXPECT_EQ(before.peerCertificate().rfind("CN=localhost ", 0), 0u);
}

// The layout kubelet gives a Secret volume: tls.crt -> ..data/tls.crt,
// ..data -> ..<timestamp>/, and an update swaps ..data with one rename.
TEST_F(TlsCredentialsTest, FollowsASecretVolumeDataSymlinkSwap) {
  namespace fs = std::filesystem;
  const std::string volume = dir_ + "/volume";
  fs::create_directories(volume + "/..2026_01");
  fs::copy_file(bundle_.cert_file, volume + "/..2026_01/tls.crt");
  fs::copy_file(bundle_.key_file, volume + "/..2026_01/tls.key");
  fs::create_directory_symlink("..2026_01", volume + "/..data");
  fs::create_symlink("..data/tls.crt", volume + "/tls.crt");
  fs::create_symlink("..data/tls.key", volume + "/tls.key");

  ServerOptions options;
  options.tls = TlsFiles{volume + "/tls.crt", volume + "/tls.key", ""};
  options.tls_reload_interval = std::chrono::milliseconds(50);
  auto server = startHttpServer(options, ok);
  EXPECT_EQ(TestConnection(server->port(), client_).peerCertificate().rfind("CN=localhost ", 0),
            0u);

  fs::create_directories(volume + "/..2026_02");
  writePair(volume + "/..2026_02", newServerPair(bundle_.ca, "swapped"));
  fs::create_directory_symlink("..2026_02", volume + "/..data_tmp");
  fs::rename(volume + "/..data_tmp", volume + "/..data");  // atomic, as kubelet does
  fs::remove_all(volume + "/..2026_01");

  const std::string served = waitForServedCertificate(server->port(), client_, "CN=swapped ");
  EXPECT_EQ(served.rfind("CN=swapped ", 0), 0u) << served;
}

TEST_F(TlsCredentialsTest, MutualTlsRequiresAClientCertificateFromTheConfiguredCa) {
  const std::string client_dir = dir_ + "/clients";
  std::filesystem::create_directories(client_dir);
  const PemPair good = issueCertificate(
      bundle_.ca, {.common_name = "kube-scheduler", .subject_alt_names = {}, .client = true});
  const PemPair foreign =
      issueCertificate(generateCa("someone else"),
                       {.common_name = "intruder", .subject_alt_names = {}, .client = true});
  writePemFile(client_dir + "/good.crt", good.cert_pem, false);
  writePemFile(client_dir + "/good.key", good.key_pem, true);
  writePemFile(client_dir + "/foreign.crt", foreign.cert_pem, false);
  writePemFile(client_dir + "/foreign.key", foreign.key_pem, true);

  ServerOptions options;
  options.tls = TlsFiles{bundle_.cert_file, bundle_.key_file, bundle_.ca_file};
  auto server = startHttpServer(options, ok);
  struct Case {
    std::string name, cert;
    int max_version;
    bool want_ok;
  };
  const std::vector<Case> cases = {
      {"no certificate, TLS 1.3", "", 0, false},
      {"no certificate, TLS 1.2", "", TLS1_2_VERSION, false},
      {"certificate from another CA", "foreign", 0, false},
      {"certificate from the client CA, TLS 1.3", "good", 0, true},
      {"certificate from the client CA, TLS 1.2", "good", TLS1_2_VERSION, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ClientOptions client = client_;
    client.max_version = c.max_version;
    if (!c.cert.empty()) {
      client.cert_file = client_dir + "/" + c.cert + ".crt";
      client.key_file = client_dir + "/" + c.cert + ".key";
    }
    int status = 0;
    try {
      // With TLS 1.3 the client finishes its handshake before the server has
      // checked the client certificate, so a rejection may only show on use.
      TestConnection connection(server->port(), client);
      status = connection.request("GET", "/healthz").status;
    } catch (const std::runtime_error&) {
      status = -1;
    }
    EXPECT_EQ(status == 200, c.want_ok) << "status " << status;
  }
}

}  // namespace
}  // namespace mpshare::platform
