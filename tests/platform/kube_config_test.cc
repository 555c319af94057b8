#include "platform/kube_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "platform/base64.h"

namespace mpshare::platform {
namespace {

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("mpshare-kubeconfig-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& content) const {
    const auto file = path_ / name;
    std::ofstream(file) << content;
    return file.string();
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ParseServerUrlTest, Table) {
  struct Case {
    std::string url;
    bool ok;
    ServerAddress want;
    std::string error;
  };
  const std::vector<Case> cases{
      {"https://10.96.0.1", true, {"10.96.0.1", 443}, ""},
      {"https://api.example:6443/", true, {"api.example", 6443}, ""},
      {"https://[fd00::1]:6443", true, {"fd00::1", 6443}, ""},
      {"https://[::1]", true, {"::1", 443}, ""},
      {"http://10.0.0.1", false, {}, "\"http://10.0.0.1\" must start with https://"},
      {"https://h:0", false, {}, "\"https://h:0\": port must be 1..65535"},
      {"https://[::1", false, {}, "\"https://[::1\" has an unclosed ["},
  };
  for (const auto& c : cases) {
    auto got = parseServerUrl(c.url);
    ASSERT_EQ(got.ok(), c.ok) << c.url;
    if (c.ok) {
      EXPECT_EQ(*got, c.want) << c.url;
    } else {
      EXPECT_EQ(got.error().field, "server");
      EXPECT_EQ(got.error().message, c.error);
    }
  }
}

TEST(InClusterConfigTest, ReadsServiceAccountFilesAndBracketsIpv6) {
  TempDir dir;
  dir.write("token", "tok-1\n");
  dir.write("ca.crt", "CA PEM");
  dir.write("namespace", "mpshare\n");
  auto config = inClusterConfig(
      {{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}, dir.path());
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->server, (ServerAddress{"fd00::1", 443}));
  EXPECT_EQ(config->ca_pem, "CA PEM");
  EXPECT_EQ(config->namespace_name, "mpshare");
  EXPECT_EQ(config->token_file, dir.path() + "/token");
}

TEST(InClusterConfigTest, ErrorsNameWhatIsMissing) {
  TempDir dir;
  auto no_env = inClusterConfig({}, dir.path());
  ASSERT_FALSE(no_env.ok());
  EXPECT_EQ(no_env.error().field, "KUBERNETES_SERVICE_HOST");
  auto no_ca = inClusterConfig(
      {{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}}, dir.path());
  ASSERT_FALSE(no_ca.ok());
  EXPECT_EQ(no_ca.error().field, "ca.crt");
}

TEST(TokenSourceTest, RereadsARotatedTokenFileAndAfterInvalidate) {
  TempDir dir;
  KubeConfig config;
  config.token_file = dir.write("token", "first\n");
  TokenSource tokens(config);
  EXPECT_EQ(tokens.token(), "first");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  dir.write("token", "second");
  EXPECT_EQ(tokens.token(), "second");
  // Same mtime granularity could hide a change: invalidate() always re-reads.
  dir.write("token", "third");
  tokens.invalidate();
  EXPECT_EQ(tokens.token(), "third");
}

constexpr const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c1, user: u1, namespace: ml}
- name: other
  context: {cluster: c2, user: u2}
clusters:
- name: c1
  cluster:
    server: https://[fd00::10]:6443
    certificate-authority-data: CADATA
- name: c2
  cluster:
    server: https://c2.example
    certificate-authority: ca.pem
    insecure-skip-tls-verify: true
users:
- name: u1
  user:
    token: secret-token
    client-certificate-data: CERTDATA
    client-key-data: KEYDATA
- name: u2
  user:
    tokenFile: token.txt
)";

std::string kubeconfigText() {
  std::string text = kKubeconfig;
  auto replace = [&](const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
  };
  replace("CADATA", platform::base64Encode("-----CA-----"));
  replace("CERTDATA", platform::base64Encode("-----CERT-----"));
  replace("KEYDATA", platform::base64Encode("-----KEY-----"));
  return text;
}

TEST(KubeconfigTest, CurrentContextWithInlineData) {
  auto config = parseKubeconfig(kubeconfigText(), "/nowhere");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->server, (ServerAddress{"fd00::10", 6443}));
  EXPECT_EQ(config->ca_pem, "-----CA-----");
  EXPECT_EQ(config->token, "secret-token");
  EXPECT_EQ(config->client_cert_pem, "-----CERT-----");
  EXPECT_EQ(config->client_key_pem, "-----KEY-----");
  EXPECT_EQ(config->namespace_name, "ml");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, FilesResolveRelativeToTheKubeconfig) {
  TempDir dir;
  dir.write("ca.pem", "-----FILE CA-----");
  auto config = parseKubeconfig(kubeconfigText(), dir.path(), "other");
  ASSERT_TRUE(config.ok()) << config.error().describe();
  EXPECT_EQ(config->ca_pem, "-----FILE CA-----");
  EXPECT_EQ(config->token_file, dir.path() + "/token.txt");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, ErrorsNameTheField) {
  struct Case {
    std::string yaml;
    std::string field;
  };
  const std::vector<Case> cases{
      {"[]", "kubeconfig"},
      {"current-context: ''\n", "current-context"},
      {"current-context: x\ncontexts: []\n", "contexts"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: []\n",
       "clusters"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\nclusters: [{name: c, "
       "cluster: {}}]\n",
       "clusters[c].cluster.server"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
       "clusters: [{name: c, cluster: {server: 'http://h'}}]\n",
       "clusters[c].cluster.server"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
       "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: 'abc'}}]\n",
       "clusters[c].cluster.certificate-authority-data"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
       "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: /no/such}}]\n",
       "clusters[c].cluster.certificate-authority"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
       "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: "
       "{client-key-data: 'YWJj'}}]\n",
       "users[u].user"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
       "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: {exec: "
       "{command: x}}}]\n",
       "users[u].user.exec"},
  };
  for (const auto& c : cases) {
    auto got = parseKubeconfig(c.yaml, "/nowhere");
    ASSERT_FALSE(got.ok()) << c.yaml;
    EXPECT_EQ(got.error().field, c.field) << c.yaml << " -> " << got.error().describe();
  }
}

}  // namespace
}  // namespace mpshare::platform
