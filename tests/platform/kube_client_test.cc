// KubeClient against the in-process test API server: pagination, watch events
// over random chunking, both forms of 410, token rotation, faults, Binding.

#include "platform/kube_client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/support/require_ok.h"

namespace mpshare::platform {
namespace {

using kubetest::Kind;
using kubetest::makeNode;
using kubetest::makePod;
using kubetest::TestApiServer;
using nlohmann::json;

const ResourceQuery kPods{"/api/v1/pods", "", ""};
const ResourceQuery kNodes{"/api/v1/nodes", "mpshare.io/mps=enabled", ""};

struct Seen {
  std::vector<std::string> lines;  // "TYPE name"
};

// Watches until `want` events arrived (then cancels) or the stream ends.
WatchOutcome watchFor(KubeClient& client, const ResourceQuery& query, const std::string& rv,
                      size_t want, Seen& seen,
                      std::chrono::milliseconds idle = std::chrono::milliseconds(5000)) {
  std::atomic<bool> cancel{false};
  return client.watch(
      query, rv, 30,
      [&](const std::string& type, const json& object) {
        seen.lines.push_back(type + " " + object["metadata"].value("name", ""));
        if (seen.lines.size() >= want) cancel = true;
      },
      ExchangeLimits{idle, &cancel});
}

// A write's answer: OK, or failed with the error code a case names.
void expectOutcome(const core::Status& status, const std::optional<core::ErrorCode>& error,
                   const std::string& what) {
  if (!error) {
    EXPECT_TRUE(status.ok()) << what << ": " << status.error().describe();
    return;
  }
  ASSERT_FALSE(status.ok()) << what;
  EXPECT_EQ(status.error().code, *error) << what << ": " << status.error().describe();
}

class KubeClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<KubeClient> connect(const KubeConfig& config) {
    return testing_support::requireOk(KubeClient::create(config), "KubeClient::create");
  }
  // The version a complete list ended at: where a watch that misses nothing starts.
  static std::string listedVersion(KubeClient& client, const ResourceQuery& query) {
    return testing_support::requireOk(client.list(query), "KubeClient::list").resource_version;
  }
  // Creates ml/<name> and answers its uid.
  std::string createPod(const std::string& name) {
    server_.store().create(Kind::kPods, makePod({.name = name}));
    return (*server_.store().get(Kind::kPods, "ml/" + name))["metadata"]["uid"];
  }
  TestApiServer server_;
};

TEST_F(KubeClientTest, ListReadsEveryPageAtOneVersion) {
  for (int i = 0; i < 7; ++i)
    server_.store().create(Kind::kPods, makePod({.name = "p" + std::to_string(i)}));
  auto client = connect(server_.clientConfig());
  auto listed = client->list(kPods, 3);
  ASSERT_TRUE(listed.ok()) << listed.error().describe();
  EXPECT_EQ(listed->pages, 3);
  ASSERT_EQ(listed->items.size(), 7u);
  EXPECT_EQ(listed->items[6]["metadata"]["name"], "p6");
  EXPECT_EQ(listed->resource_version, std::to_string(server_.store().resourceVersion()));
}

TEST_F(KubeClientTest, WatchFromListVersionSeesOnlyLaterEventsOverRandomChunks) {
  server_.setRandomChunking(7);
  server_.store().create(Kind::kNodes, makeNode("gpu-a"));
  auto client = connect(server_.clientConfig());
  const std::string version = listedVersion(*client, kNodes);
  server_.store().create(Kind::kNodes, makeNode("gpu-b"));
  json unlabelled = *server_.store().get(Kind::kNodes, "gpu-a");
  unlabelled["metadata"]["labels"].erase("mpshare.io/mps");
  server_.store().update(Kind::kNodes, unlabelled);  // leaves the selection: DELETED for this watch
  server_.store().remove(Kind::kNodes, "gpu-b");
  Seen seen;
  const auto outcome = watchFor(*client, kNodes, version, 3, seen);
  EXPECT_EQ(seen.lines,
            (std::vector<std::string>{"ADDED gpu-b", "DELETED gpu-a", "DELETED gpu-b"}));
  EXPECT_EQ(outcome.resource_version, std::to_string(server_.store().resourceVersion()));
}

TEST_F(KubeClientTest, AClientHangingUpMidStreamCostsTheServerAWriteNotTheProcess) {
  auto client = connect(server_.clientConfig());
  const std::string version = listedVersion(*client, kPods);
  server_.store().create(Kind::kPods, makePod({.name = "p0"}));
  Seen seen;
  watchFor(*client, kPods, version, 1, seen);  // takes the event and hangs up
  EXPECT_EQ(seen.lines.size(), 1u);
  // More events for the dead stream, each written in many small pieces: the
  // first write draws a reset, the next fails with EPIPE. Without MSG_NOSIGNAL
  // that write raises SIGPIPE, which ends this process.
  server_.setRandomChunking(5);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (int i = 0; server_.openWatches() > 0 && std::chrono::steady_clock::now() < deadline; ++i) {
    server_.store().create(Kind::kPods, makePod({.name = "late-" + std::to_string(i)}));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_.openWatches(), 0);
}

TEST_F(KubeClientTest, BookmarkAdvancesTheResourceVersion) {
  auto client = connect(server_.clientConfig());
  const std::string version = listedVersion(*client, kPods);
  server_.store().create(Kind::kNodes, makeNode("gpu-a"));  // moves the version, not a pod event
  std::thread bookmark([&] {
    while (server_.openWatches() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server_.sendBookmarks();
  });
  Seen seen;
  const auto outcome = watchFor(*client, kPods, version, 1, seen);
  bookmark.join();
  EXPECT_EQ(seen.lines, std::vector<std::string>{"BOOKMARK "});
  EXPECT_EQ(outcome.resource_version, std::to_string(server_.store().resourceVersion()));
}

TEST_F(KubeClientTest, ExpiredVersionIsReportedInBothForms) {
  auto client = connect(server_.clientConfig());
  const std::string version = listedVersion(*client, kPods);
  server_.store().create(Kind::kPods, makePod({.name = "p"}));
  for (const bool as_http : {false, true}) {
    server_.expireWatches(as_http);
    Seen seen;
    const auto outcome = watchFor(*client, kPods, version, 1, seen);
    EXPECT_EQ(outcome.end, WatchEnd::kExpired) << as_http << " " << outcome.message;
    EXPECT_NE(outcome.message.find("too old resource version"), std::string::npos)
        << outcome.message;
    EXPECT_TRUE(seen.lines.empty());
  }
}

TEST_F(KubeClientTest, RotatedTokenIsReadAgainAfter401) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("mpshare-token-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "test-token";
  KubeConfig config = server_.clientConfig();
  config.token.clear();
  config.token_file = (dir / "token").string();
  auto client = connect(config);
  ASSERT_TRUE(client->list(kPods).ok());
  server_.setToken("rotated");
  std::ofstream(dir / "token") << "rotated";
  auto listed = client->list(kPods);
  EXPECT_TRUE(listed.ok()) << listed.error().describe();
  // A wrong token that stays wrong is an error, not a loop.
  server_.setToken("revoked");
  auto refused = client->list(kPods);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("HTTP 401"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_F(KubeClientTest, FaultsEndTheWatchAsFailures) {
  auto client = connect(server_.clientConfig());
  const std::string version = listedVersion(*client, kPods);
  struct Case {
    std::string name;
    std::function<void()> inject;
    std::string message_part;
  };
  const std::vector<Case> cases{
      {"drop mid-event", [&] { server_.dropWatchesMidEvent(); },
       "closed before the response ended"},
      {"stall", [&] { server_.setStalled(true); }, "stalled"},
      {"500", [&] { server_.failNext(1, 500, "/api/v1/pods"); }, "HTTP 500: injected failure"},
  };
  for (const auto& c : cases) {
    std::thread fault([&] {
      if (c.name != "500") {
        while (server_.openWatches() == 0)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      c.inject();
    });
    if (c.name == "500") fault.join();
    Seen seen;
    const auto outcome =
        watchFor(*client, kPods, version, 100, seen, std::chrono::milliseconds(300));
    if (fault.joinable()) fault.join();
    server_.setStalled(false);
    EXPECT_EQ(outcome.end, WatchEnd::kFailed) << c.name;
    EXPECT_NE(outcome.message.find(c.message_part), std::string::npos)
        << c.name << ": " << outcome.message;
  }
}

TEST_F(KubeClientTest, ListFailureIsUnavailable) {
  server_.failNext(1, 503, "/api/v1/pods");
  auto client = connect(server_.clientConfig());
  auto listed = client->list(kPods);
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, core::ErrorCode::kUnavailable);
}

TEST_F(KubeClientTest, BindSetsNodeAndAnnotationThenConflicts) {
  const std::string uid = createPod("infer-0");
  auto client = connect(server_.clientConfig());
  struct Case {
    std::string name;
    std::string uid;
    std::string node;
    std::optional<core::ErrorCode> error;
  };
  const std::vector<Case> cases{
      {"infer-0", "other-uid", "gpu-a", core::ErrorCode::kConflict},  // uid precondition
      {"infer-0", uid, "gpu-a", std::nullopt},
      {"infer-0", uid, "gpu-b", core::ErrorCode::kConflict},  // already bound
      {"gone", "", "gpu-a", core::ErrorCode::kNotFound},
  };
  for (const auto& c : cases) {
    const auto status =
        client->bind({"ml", c.name, c.uid, c.node, {{"mpshare.io/gpu-index", "1"}}});
    ASSERT_NO_FATAL_FAILURE(expectOutcome(status, c.error, c.name + " " + c.uid));
  }
  const json pod = *server_.store().get(Kind::kPods, "ml/infer-0");
  EXPECT_EQ(pod["spec"]["nodeName"], "gpu-a");
  EXPECT_EQ(pod["metadata"]["annotations"]["mpshare.io/gpu-index"], "1");
  EXPECT_EQ(pod["metadata"]["annotations"].size(), 1u);  // merged into the (empty) annotations
  ASSERT_EQ(server_.store().bindings().size(), 1u);
  EXPECT_EQ(server_.store().bindings()[0]["target"]["name"], "gpu-a");
}

TEST_F(KubeClientTest, PatchSetsAndRemovesAnnotationsUnderTheUidPrecondition) {
  const std::string uid = createPod("infer-0");
  auto client = connect(server_.clientConfig());
  struct Case {
    std::string name;
    std::string uid;
    KubeClient::MetadataPatch patch;
    std::optional<core::ErrorCode> error;
  };
  const std::vector<Case> cases{
      {"infer-0", uid, {{"mpshare.io/gpu-index", "1"}, {"team", "a"}}, std::nullopt},
      {"infer-0", "", {{"team", std::nullopt}}, std::nullopt},  // null removes the key
      {"infer-0", "re-created", {{"mpshare.io/gpu-index", "0"}}, core::ErrorCode::kConflict},
      {"gone", "", {{"mpshare.io/gpu-index", "0"}}, core::ErrorCode::kNotFound},
  };
  for (const auto& c : cases) {
    const auto status = client->patchPodAnnotations("ml", c.name, c.patch, c.uid);
    ASSERT_NO_FATAL_FAILURE(expectOutcome(status, c.error, c.name + " " + c.uid));
    if (c.error) {
      EXPECT_EQ(status.error().field, "ml/" + c.name);
    }
  }
  const json pod = *server_.store().get(Kind::kPods, "ml/infer-0");
  EXPECT_EQ(pod["metadata"]["annotations"], json({{"mpshare.io/gpu-index", "1"}}));
  ASSERT_EQ(server_.store().patches().size(), 2u);
  EXPECT_EQ(server_.store().patches()[0]["metadata"]["uid"], uid);
}

TEST_F(KubeClientTest, PatchNodeLabelsMergesIntoTheNode) {
  server_.store().create(Kind::kNodes, makeNode("gpu-a"));
  auto client = connect(server_.clientConfig());
  ASSERT_TRUE(client->patchNodeLabels("gpu-a", {{"mpshare.io/gpu.count", "2"}}).ok());
  const json node = *server_.store().get(Kind::kNodes, "gpu-a");
  EXPECT_EQ(node["metadata"]["labels"]["mpshare.io/gpu.count"], "2");
  EXPECT_EQ(node["metadata"]["labels"]["mpshare.io/mps"], "enabled");  // other labels kept
  const auto missing = client->patchNodeLabels("gpu-z", {{"mpshare.io/gpu.count", "2"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, core::ErrorCode::kNotFound);
}

TEST(FakeStoreBindTest, NameMismatchIsBadRequest) {
  kubetest::FakeStore store;
  store.create(Kind::kPods, makePod({.name = "a"}));
  const auto answer =
      store.bind("ml", "a", {{"metadata", {{"name", "b"}}}, {"target", {{"name", "n"}}}});
  EXPECT_EQ(answer.status, 400);
  EXPECT_EQ(answer.body["message"], "name in URL does not match name in Binding object");
}

TEST_F(KubeClientTest, UntrustedServerFailsTheHandshake) {
  KubeConfig config = server_.clientConfig();
  config.ca_pem.clear();  // system store does not know the test CA
  auto client = connect(config);
  auto listed = client->list(kPods);
  ASSERT_FALSE(listed.ok());
  EXPECT_NE(listed.error().message.find("TLS handshake"), std::string::npos)
      << listed.error().message;
  config.insecure_skip_tls_verify = true;
  EXPECT_TRUE(connect(config)->list(kPods).ok());
}

}  // namespace
}  // namespace mpshare::platform
