// Cluster mode end to end in one process: the test API server and a
// ClusterExtender talking HTTPS to it. Pods flow into the ledger, binds land as
// Bindings with the GPU annotation, every injected fault converges to the
// ledger of a fault-free run, and a restart rebuilds the same /state.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "extender/cluster/cluster_extender.h"
#include "platform/kube_json.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/extender/cluster/ready_extender.h"
#include "tests/support/eventually.h"

namespace mpshare::extender {
namespace {

using kubetest::Kind;
using kubetest::makeNode;
using kubetest::makePod;
using kubetest::PodSpec;
using kubetest::TestApiServer;
using nlohmann::json;
using testing_support::eventually;
using testing_support::startReadyExtender;

constexpr auto kWait = std::chrono::seconds(15);

ClusterOptions fastOptions() {
  ClusterOptions options;
  options.page_size = 3;  // several pages even for small clusters
  options.watch_timeout_seconds = 30;
  options.idle_timeout = std::chrono::milliseconds(400);
  options.backoff_initial = std::chrono::milliseconds(10);
  options.backoff_max = std::chrono::milliseconds(80);
  return options;
}

// /state without the planner's counters (batches planned, the last one's
// time), which differ from run to run; the ledger, the nodes and the typical
// pods must not.
json stateOf(ClusterExtender& extender) {
  platform::HttpRequest request{"GET", "/state", "", {}, ""};
  const auto response = extender.routes().handle(request);
  EXPECT_EQ(response.status, 200);
  json state = json::parse(response.body);
  state.erase("plan");
  return state;
}

std::string uidOf(TestApiServer& server, const std::string& key) {
  return (*server.store().get(Kind::kPods, key))["metadata"]["uid"];
}

void setPhase(TestApiServer& server, const std::string& key, const std::string& phase) {
  json pod = *server.store().get(Kind::kPods, key);
  pod["status"]["phase"] = phase;
  server.store().update(Kind::kPods, pod);
}

TEST(ClusterModeTest, PodEventsFlowIntoTheLedgerAndOut) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a"));
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  auto& ledger = extender->service().ledger();
  server.store().create(Kind::kPods,
                        makePod({.name = "infer-0",
                                 .node = "gpu-a",
                                 .phase = "Running",
                                 .annotations = {{"mpshare.io/thread-percentage", "30"},
                                                 {"mpshare.io/memory-limit", "4Gi"},
                                                 {"mpshare.io/gpu-index", "1"}}}));
  const std::string uid = uidOf(server, "ml/infer-0");
  ASSERT_TRUE(eventually([&] { return ledger.reservation(uid).has_value(); }, kWait));
  const auto reservation = *ledger.reservation(uid);
  EXPECT_EQ(reservation.gpu_indices, std::vector<int>{1});
  EXPECT_EQ(reservation.per_gpu[0], (core::GpuDemand{30, 4096, 1}));

  // The node loses its selector label: it drops out with what was on it...
  json node = *server.store().get(Kind::kNodes, "gpu-a");
  node["metadata"]["labels"].erase("mpshare.io/mps");
  server.store().update(Kind::kNodes, node);
  ASSERT_TRUE(eventually([&] { return ledger.snapshot().nodes.empty(); }, kWait));
  EXPECT_FALSE(ledger.reservation(uid).has_value());
  // ...and comes back with its pod counted again.
  node["metadata"]["labels"]["mpshare.io/mps"] = "enabled";
  server.store().update(Kind::kNodes, node);
  ASSERT_TRUE(eventually([&] { return ledger.reservation(uid).has_value(); }, kWait));

  setPhase(server, "ml/infer-0", "Succeeded");
  ASSERT_TRUE(eventually([&] { return !ledger.reservation(uid).has_value(); }, kWait));

  server.store().create(Kind::kPods, makePod({.name = "infer-1",
                                              .node = "gpu-a",
                                              .phase = "Running",
                                              .annotations = {{"mpshare.io/gpu-index", "0"}}}));
  const std::string uid1 = uidOf(server, "ml/infer-1");
  ASSERT_TRUE(eventually([&] { return ledger.reservation(uid1).has_value(); }, kWait));
  server.store().remove(Kind::kPods, "ml/infer-1");
  ASSERT_TRUE(eventually([&] { return !ledger.reservation(uid1).has_value(); }, kWait));
  server.store().remove(Kind::kNodes, "gpu-a");
  ASSERT_TRUE(eventually([&] { return ledger.snapshot().nodes.empty(); }, kWait));
}

TEST(ClusterModeTest, BindPostsABindingWithTheGpuIndexAndRollsBackOnConflict) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a"));
  server.store().create(Kind::kPods,
                        makePod({.name = "infer-0",
                                 .annotations = {{"mpshare.io/thread-percentage", "30"},
                                                 {"mpshare.io/memory-limit", "4Gi"}}}));
  server.store().create(Kind::kPods, makePod({.name = "taken", .node = "gpu-z"}));
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  const std::string uid = uidOf(server, "ml/infer-0");
  EXPECT_EQ(extender->service().bind({"infer-0", "ml", uid, "gpu-a"}), "");
  const json pod = *server.store().get(Kind::kPods, "ml/infer-0");
  EXPECT_EQ(pod["spec"]["nodeName"], "gpu-a");
  ASSERT_TRUE(pod["metadata"]["annotations"].contains("mpshare.io/gpu-index"));
  const std::string index = pod["metadata"]["annotations"]["mpshare.io/gpu-index"];
  const auto reserved = extender->service().ledger().reservation(uid);
  ASSERT_TRUE(reserved.has_value());
  EXPECT_EQ(std::to_string(reserved->gpu_indices[0]), index);
  // A retried bind whose first reply was lost: 409 with the pod already there is success.
  EXPECT_EQ(extender->service().bind({"infer-0", "ml", uid, "gpu-a"}), "");

  // Bound elsewhere already: 409, and the reservation taken for it is released.
  const std::string taken = uidOf(server, "ml/taken");
  const std::string error = extender->service().bind({"taken", "ml", taken, "gpu-a"});
  EXPECT_NE(error.find("already assigned"), std::string::npos) << error;
  EXPECT_FALSE(extender->service().ledger().reservation(taken).has_value());
  // Gone: 404 (from GET), and nothing is reserved.
  EXPECT_NE(extender->service().bind({"ghost", "ml", "uid-ghost", "gpu-a"}), "");
  EXPECT_FALSE(extender->service().ledger().reservation("uid-ghost").has_value());
  EXPECT_EQ(server.store().bindings().size(), 1u);
}

TEST(ClusterModeTest, FailedPostRollsTheReservationBack) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a", 1));
  server.store().create(
      Kind::kPods,
      makePod({.name = "infer-0", .annotations = {{"mpshare.io/thread-percentage", "60"}}}));
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  const std::string uid = uidOf(server, "ml/infer-0");
  server.failNext(1, 500, "/binding");
  const std::string error = extender->service().bind({"infer-0", "ml", uid, "gpu-a"});
  EXPECT_NE(error.find("injected failure"), std::string::npos) << error;
  EXPECT_FALSE(extender->service().ledger().reservation(uid).has_value());
  EXPECT_FALSE(server.store().get(Kind::kPods, "ml/infer-0")->at("spec").contains("nodeName"));
  // The scheduler's retry then succeeds: nothing of the failed attempt is left over.
  EXPECT_EQ(extender->service().bind({"infer-0", "ml", uid, "gpu-a"}), "");
  EXPECT_EQ(extender->service().ledger().reservation(uid)->per_gpu[0].threads, 60);
}

// The Binding's reply and the check after it both fail (500 on every request
// for the pod), so whether it landed is unknown: the share stays held. The
// watch showing the pod placed settles it as bound, counted once; a relist
// that began after the failure showing the pod unbound settles it as free.
TEST(ClusterModeTest, BindWithAnUnknownOutcomeHoldsTheShareUntilTheWatchOrARelistSettlesIt) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a", 1));
  for (const std::string name : {"landed", "lost"}) {
    server.store().create(Kind::kPods,
                          makePod({.name = name,
                                   .annotations = {{"mpshare.io/thread-percentage", "60"},
                                                   {"mpshare.io/memory-limit", "1Gi"}}}));
  }
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  auto& ledger = extender->service().ledger();
  const std::string landed = uidOf(server, "ml/landed");
  const std::string lost = uidOf(server, "ml/lost");
  // Filter sees both, so that bind needs no GET to find them.
  for (const std::string name : {"landed", "lost"}) {
    ExtenderArgs args;
    args.pod = *platform::podFromJson(*server.store().get(Kind::kPods, "ml/" + name));
    args.node_names = {"gpu-a"};
    ASSERT_EQ(extender->service().filter(args).passed, std::vector<std::string>{"gpu-a"});
  }

  // "landed": its Binding is committed, but the POST's reply and the GET fail.
  server.setStalled(true);  // the watch shows nothing until the check is done
  server.failNext(2, 500, "/pods/landed");
  json pod = *server.store().get(Kind::kPods, "ml/landed");
  pod["spec"]["nodeName"] = "gpu-a";
  pod["metadata"]["annotations"]["mpshare.io/gpu-index"] = "0";
  server.store().update(Kind::kPods, pod);
  EXPECT_NE(extender->service().bind({"landed", "ml", landed, "gpu-a"}), "");
  const auto held = ledger.reservation(landed);
  ASSERT_TRUE(held.has_value());
  EXPECT_NE(held->unsettled, 0u);
  // Its share is not given to another pod.
  EXPECT_NE(extender->service().bind({"lost", "ml", lost, "gpu-a"}), "");
  EXPECT_FALSE(ledger.reservation(lost).has_value());
  server.setStalled(false);
  ASSERT_TRUE(eventually(
      [&] {
        const auto r = ledger.reservation(landed);
        return r && r->unsettled == 0;
      },
      kWait));
  EXPECT_EQ(ledger.snapshot().nodes[0].gpus[0].reserved.threads, 60);
  EXPECT_EQ(extender->cache().podCount(), 1u);

  // "lost": its Binding never lands, and the reply and the check fail.
  server.store().remove(Kind::kPods, "ml/landed");
  ASSERT_TRUE(eventually([&] { return !ledger.reservation(landed).has_value(); }, kWait));
  server.failNext(2, 500, "/pods/lost");
  EXPECT_NE(extender->service().bind({"lost", "ml", lost, "gpu-a"}), "");
  ASSERT_TRUE(ledger.reservation(lost).has_value());
  EXPECT_NE(ledger.reservation(lost)->unsettled, 0u);
  // A pending pod's reservation is otherwise kept by a relist (a bind may be
  // in flight); this one was unsettled before the list began, which shows
  // the pod unbound: the Binding did not land.
  server.expireWatches();
  ASSERT_TRUE(eventually([&] { return !ledger.reservation(lost).has_value(); }, kWait));
  EXPECT_EQ(ledger.snapshot().nodes[0].gpus[0].reserved, core::GpuUsage{});
  // The scheduler's retry binds it.
  EXPECT_EQ(extender->service().bind({"lost", "ml", lost, "gpu-a"}), "");
  EXPECT_EQ(ledger.reservation(lost)->unsettled, 0u);
}

TEST(ClusterModeTest, ReservationOfAPodGoneWhileTheWatchWasDownIsReleasedByTheRelist) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a", 1));
  server.store().create(
      Kind::kPods,
      makePod({.name = "short", .annotations = {{"mpshare.io/thread-percentage", "60"}}}));
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  const std::string uid = uidOf(server, "ml/short");
  // The watches see nothing from here on: neither the binding nor the delete.
  server.setStalled(true);
  ASSERT_EQ(extender->service().bind({"short", "ml", uid, "gpu-a"}), "");
  server.store().remove(Kind::kPods, "ml/short");
  ASSERT_TRUE(extender->service().ledger().reservation(uid).has_value());
  server.expireWatches();  // the history is gone: only a relist can tell
  server.setStalled(false);
  ASSERT_TRUE(eventually([&] { return !extender->service().ledger().reservation(uid).has_value(); },
                         kWait));
  EXPECT_GE(extender->podStats().lists, 2);
  EXPECT_EQ(extender->service().ledger().snapshot().nodes[0].gpus[0].reserved, core::GpuUsage{});
}

TEST(ClusterModeTest, PodsPlacedElsewhereCountAsWholeGpusAndReportOvercommit) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a", 1));
  server.store().create(Kind::kPods,
                        makePod({.name = "ours",
                                 .node = "gpu-a",
                                 .phase = "Running",
                                 .annotations = {{"mpshare.io/thread-percentage", "50"},
                                                 {"mpshare.io/gpu-index", "0"}}}));
  server.store().create(Kind::kPods,
                        makePod({.name = "by-hand", .node = "gpu-a", .phase = "Running"}));
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  const auto foreign = extender->service().ledger().reservation(uidOf(server, "ml/by-hand"));
  ASSERT_TRUE(foreign.has_value());
  EXPECT_EQ(foreign->per_gpu[0].threads, 100);
  EXPECT_TRUE(foreign->overcommitted);
  platform::HttpRequest request{"GET", "/metrics", "", {}, ""};
  const auto metrics = extender->routes().handle(request).body;
  EXPECT_NE(metrics.find("mpshare_extender_overcommits_total{gpu=\"0\",node=\"gpu-a\"} 1"),
            std::string::npos)
      << metrics;
  // Ready means both lists went through, and the cache holds both pods.
  EXPECT_NE(
      metrics.find("mpshare_extender_apiserver_lists_total{outcome=\"ok\",resource=\"pods\"} 1"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mpshare_extender_cache_objects{resource=\"pods\"} 2"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("mpshare_extender_cache_objects{resource=\"nodes\"} 1"), std::string::npos)
      << metrics;
}

// The same cluster history, in two halves around a fault.
void firstHalf(TestApiServer& server) {
  for (int n = 0; n < 3; ++n)
    server.store().create(Kind::kNodes, makeNode("gpu-" + std::to_string(n)));
  for (int i = 0; i < 8; ++i) {
    server.store().create(
        Kind::kPods,
        makePod({.name = "p" + std::to_string(i),
                 .node = "gpu-" + std::to_string(i % 3),
                 .phase = "Running",
                 .annotations = {{"mpshare.io/thread-percentage", std::to_string(10 + i)},
                                 {"mpshare.io/gpu-index", std::to_string(i % 2)}}}));
  }
}

void secondHalf(TestApiServer& server) {
  setPhase(server, "ml/p1", "Failed");
  server.store().remove(Kind::kPods, "ml/p2");
  server.store().remove(Kind::kNodes, "gpu-2");
  server.store().create(Kind::kNodes, makeNode("gpu-3", 1));
  server.store().create(Kind::kPods, makePod({.name = "late",
                                              .node = "gpu-3",
                                              .phase = "Running",
                                              .annotations = {{"mpshare.io/memory-limit", "8Gi"},
                                                              {"mpshare.io/gpu-index", "0"}}}));
  setPhase(server, "ml/p0", "Running");  // a MODIFIED that changes nothing for the ledger
}

core::LedgerSnapshot faultFreeLedger() {
  TestApiServer server;
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  firstHalf(server);
  secondHalf(server);
  auto fresh =
      startReadyExtender(server.clientConfig(), fastOptions(), kWait);  // built from a list alone
  const auto want = fresh->service().ledger().snapshot();
  EXPECT_TRUE(eventually([&] { return extender->service().ledger().snapshot() == want; }, kWait));
  return want;
}

TEST(ClusterModeTest, EveryFaultEndsInTheFaultFreeLedger) {
  const core::LedgerSnapshot want = faultFreeLedger();
  // p1 failed, p2 was deleted, p5 sits on gpu-2 which was deleted under it.
  std::set<std::string> reserved;
  for (const auto& r : want.reservations) reserved.insert(r.pod_key);
  ASSERT_EQ(reserved,
            (std::set<std::string>{"ml/late", "ml/p0", "ml/p3", "ml/p4", "ml/p6", "ml/p7"}));
  // p0 and p6 share gpu-0's GPU0 and each takes all its memory: exactly one of
  // them is flagged, the same one whatever order the events came in.
  const auto flagged = std::count_if(want.reservations.begin(), want.reservations.end(),
                                     [](const core::Reservation& r) { return r.overcommitted; });
  ASSERT_EQ(flagged, 1);
  const auto dir =
      std::filesystem::temp_directory_path() / ("mpshare-cluster-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  struct Fault {
    std::string name;
    std::function<void(TestApiServer&)> inject;
    std::function<void(TestApiServer&)> clear;
    // Proof that the fault really hit the extender (else the run proves nothing).
    std::function<void(const TestApiServer&, ClusterExtender&)> took_effect;
  };
  const auto failed = [](const TestApiServer&, ClusterExtender& e) {
    EXPECT_GE(e.podStats().failures + e.nodeStats().failures, 1);
  };
  const auto relisted = [](const TestApiServer&, ClusterExtender& e) {
    EXPECT_GE(e.podStats().expired, 1);
    EXPECT_GE(e.podStats().lists, 2);
    platform::HttpRequest request{"GET", "/metrics", "", {}, ""};
    const auto metrics = e.routes().handle(request).body;
    EXPECT_NE(
        metrics.find("mpshare_extender_apiserver_watches_total{end=\"expired\",resource=\"pods\"}"),
        std::string::npos)
        << metrics;
  };
  const std::vector<Fault> faults{
      {"drop mid-event", [](TestApiServer& s) { s.dropWatchesMidEvent(); }, nullptr, failed},
      {"stall", [](TestApiServer& s) { s.setStalled(true); },
       [](TestApiServer& s) { s.setStalled(false); }, failed},
      {"500s",
       [](TestApiServer& s) {
         s.failNext(4, 500);
         s.closeWatches();
       },
       nullptr, failed},
      {"410 event", [](TestApiServer& s) { s.expireWatches(false); }, nullptr, relisted},
      {"410 status",
       [](TestApiServer& s) {
         s.expireWatches(true);
         s.closeWatches();
       },
       nullptr, relisted},
      {"token rotation",
       [&](TestApiServer& s) {
         // The server moves on first: requests with the old token get 401 until
         // the file (a projected token) is rewritten.
         s.setToken("rotated");
         s.closeWatches();
         EXPECT_TRUE(eventually([&] { return s.unauthorized() >= 2; }, kWait));
         std::ofstream(dir / "token") << "rotated";
       },
       nullptr,
       [](const TestApiServer& s, ClusterExtender& e) {
         EXPECT_GE(s.unauthorized(), 2);
         EXPECT_GE(e.podStats().failures + e.nodeStats().failures, 1);
       }},
      {"random chunking + bookmarks",
       [](TestApiServer& s) {
         s.setRandomChunking(42);
         s.sendBookmarks();
       },
       nullptr, nullptr},
  };
  for (const auto& fault : faults) {
    SCOPED_TRACE(fault.name);
    TestApiServer server;
    std::ofstream(dir / "token") << "test-token";
    platform::KubeConfig kube = server.clientConfig();
    kube.token.clear();
    kube.token_file = (dir / "token").string();
    auto extender = startReadyExtender(kube, fastOptions(), kWait);
    firstHalf(server);
    // Let the watches deliver the first half, so the fault hits open streams.
    ASSERT_TRUE(eventually(
        [&] { return extender->service().ledger().snapshot().reservations.size() == 8; }, kWait));
    fault.inject(server);
    secondHalf(server);
    if (fault.name == "stall") std::this_thread::sleep_for(std::chrono::milliseconds(600));
    if (fault.clear) fault.clear(server);
    EXPECT_TRUE(eventually([&] { return extender->service().ledger().snapshot() == want; }, kWait));
    EXPECT_EQ(extender->service().ledger().snapshot(), want);
    if (fault.took_effect) fault.took_effect(server, *extender);
  }
  std::filesystem::remove_all(dir);
}

// /state without pod UIDs, each GPU's pods in name order: equal for the same
// placements even when a pod was recreated under a new UID.
json withoutUids(json state) {
  for (auto& node : state["nodes"]) {
    for (auto& gpu : node["gpus"]) {
      for (auto& pod : gpu["pods"]) pod.erase("uid");
      std::sort(gpu["pods"].begin(), gpu["pods"].end(),
                [](const json& a, const json& b) { return a["pod"] < b["pod"]; });
    }
  }
  return state;
}

TEST(ClusterModeTest, VerbsWaitForTheLedgerToBeRebuilt) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a", 1));
  server.store().create(Kind::kPods, makePod({.name = "full",
                                              .node = "gpu-a",
                                              .phase = "Running",
                                              .annotations = {{"mpshare.io/gpu-index", "0"}}}));
  server.failNext(1000000, 500, "/api/v1/pods");  // the pod list keeps failing
  auto started = ClusterExtender::start(ExtenderConfig{}, server.clientConfig(), fastOptions());
  ASSERT_TRUE(started.ok());
  auto& extender = **started;
  // The node is known, but not yet the pod that fills its GPU: answering now
  // would pass a full node.
  ASSERT_TRUE(eventually(
      [&] { return extender.nodeStats().lists == 1 && extender.podStats().failures >= 1; }, kWait));
  const std::string filter_body =
      R"({"Pod":)" + makePod({.name = "new"}).dump() + R"(,"NodeNames":["gpu-a"]})";
  const platform::HttpRequest filter{"POST", "/scheduler/filter", "", {}, filter_body};
  auto answer = extender.handle(filter);
  EXPECT_EQ(answer.status, 503);
  EXPECT_NE(answer.body.find("pod cache not synced"), std::string::npos) << answer.body;
  EXPECT_EQ(extender.handle({"GET", "/readyz", "", {}, ""}).status, 503);
  EXPECT_EQ(extender.handle({"GET", "/healthz", "", {}, ""}).status, 200);

  server.failNext(0, 500);
  ASSERT_TRUE(extender.waitReady(kWait));
  answer = extender.handle(filter);
  EXPECT_EQ(answer.status, 200);
  EXPECT_NE(answer.body.find("gpu-a"), std::string::npos)
      << answer.body;  // named among the failed nodes
  EXPECT_EQ(json::parse(answer.body)["NodeNames"], json::array());
}

TEST(ClusterModeTest, RestartRebuildsTheSameStateBeforeReady) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a"));
  server.store().create(Kind::kNodes, makeNode("gpu-b", 1));
  const auto workload = [](const std::string& name) {
    return makePod({.name = name,
                    .annotations = {{"mpshare.io/thread-percentage", "25"},
                                    {"mpshare.io/memory-limit", "10Gi"}}});
  };
  for (int i = 0; i < 6; ++i) server.store().create(Kind::kPods, workload("w" + std::to_string(i)));
  json before;
  {
    auto first = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
    for (int i = 0; i < 6; ++i) {
      const std::string name = "w" + std::to_string(i);
      ASSERT_EQ(first->service().bind(
                    {name, "ml", uidOf(server, "ml/" + name), i % 2 ? "gpu-a" : "gpu-b"}),
                "");
    }
    ASSERT_TRUE(eventually(
        [&] { return first->service().ledger().snapshot().reservations.size() == 6; }, kWait));
    before = stateOf(*first);
    // Keep events flowing while the extender goes away.
    setPhase(server, "ml/w0", "Succeeded");
  }
  // A restart right after it: ready means rebuilt, so no waiting after waitReady().
  {
    auto restarted = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
    const auto rebuilt = restarted->service().ledger().snapshot();
    EXPECT_EQ(rebuilt.reservations.size(), 5u);
    EXPECT_FALSE(restarted->service().ledger().reservation(uidOf(server, "ml/w0")).has_value());
  }
  // w0 is deleted and created again (a new UID); the scheduler binds it again.
  server.store().remove(Kind::kPods, "ml/w0");
  server.store().create(Kind::kPods, workload("w0"));
  auto second = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  ASSERT_EQ(second->service().bind({"w0", "ml", uidOf(server, "ml/w0"), "gpu-b"}), "");
  EXPECT_EQ(withoutUids(stateOf(*second)), withoutUids(before));
  // And once more: a restart with nothing changing reproduces /state exactly.
  ASSERT_TRUE(eventually(
      [&] {
        return second->service().ledger().reservation(uidOf(server, "ml/w0")).has_value() &&
               server.store().get(Kind::kPods, "ml/w0")->at("spec").contains("nodeName");
      },
      kWait));
  auto third = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  EXPECT_EQ(stateOf(*third), stateOf(*second));
}

// fgd-plus-batch end to end: the pods waiting for a node come from the pod
// watch, the planner plans them together, and the scheduler's calls follow the
// plan. gpu-a has one free GPU, gpu-b one GPU 60 % taken; the queue holds a
// half GPU (older) and a whole GPU: placed one by one the half would take
// gpu-a and the whole GPU would fit nowhere; the plan places the whole GPU and
// the half waits until a new node gives it room.
TEST(ClusterModeTest, WaitingPodsFromTheWatchArePlannedAndBoundAsPlanned) {
  TestApiServer server;
  server.store().create(Kind::kNodes, makeNode("gpu-a", 1));
  server.store().create(Kind::kNodes, makeNode("gpu-b", 1));
  server.store().create(Kind::kPods,
                        makePod({.name = "running",
                                 .node = "gpu-b",
                                 .phase = "Running",
                                 .annotations = {{"mpshare.io/thread-percentage", "60"},
                                                 {"mpshare.io/memory-limit", "40Gi"},
                                                 {"mpshare.io/gpu-index", "0"}}}));
  const auto waiting = [](const std::string& name, const std::string& created,
                          std::map<std::string, std::string> annotations) {
    json pod = makePod({.name = name, .annotations = std::move(annotations)});
    pod["spec"]["schedulerName"] = "mpshare-scheduler";
    pod["metadata"]["creationTimestamp"] = created;
    return pod;
  };
  server.store().create(Kind::kPods, waiting("half", "2026-12-01T10:00:00Z",
                                             {{"mpshare.io/thread-percentage", "50"},
                                              {"mpshare.io/memory-limit", "40Gi"}}));
  server.store().create(Kind::kPods, waiting("whole", "2026-12-01T10:00:01Z", {}));
  auto extender = startReadyExtender(server.clientConfig(), fastOptions(), kWait);
  ExtenderService& service = extender->service();
  const std::string whole_uid = uidOf(server, "ml/whole");
  const std::string half_uid = uidOf(server, "ml/half");
  ASSERT_TRUE(eventually([&] { return service.planner()->planFor(whole_uid).has_value(); }, kWait));
  EXPECT_EQ(service.planner()->planFor(whole_uid), (core::PlannedPlacement{"gpu-a", {0}}));
  EXPECT_TRUE(service.planner()->waitsForItsBatch(half_uid));

  const auto podView = [&](const std::string& key) {
    return *platform::podFromJson(*server.store().get(Kind::kPods, key));
  };
  const auto schedule = [&](const std::string& key, std::vector<std::string> nodes) {
    ExtenderArgs args;
    args.pod = podView(key);
    args.node_names = std::move(nodes);
    args.node_names = service.filter(args).passed;
    if (args.node_names.empty()) return std::string();
    std::string best;
    int64_t best_score = -1;
    for (const HostScore& s : service.prioritize(args)) {
      if (s.score > best_score) best = s.host, best_score = s.score;
    }
    EXPECT_EQ(service.bind({args.pod.name, args.pod.namespace_name, args.pod.uid, best}), "");
    return best;
  };
  EXPECT_EQ(schedule("ml/half", {"gpu-a", "gpu-b"}), "") << "waits for the whole GPU";
  EXPECT_EQ(schedule("ml/whole", {"gpu-a", "gpu-b"}), "gpu-a");
  const json whole = *server.store().get(Kind::kPods, "ml/whole");
  EXPECT_EQ(whole["spec"]["nodeName"], "gpu-a");
  EXPECT_EQ(whole["metadata"]["annotations"]["mpshare.io/gpu-index"], "0");

  // A new node: the half is planned again, onto it.
  server.store().create(Kind::kNodes, makeNode("gpu-c", 1));
  ASSERT_TRUE(eventually(
      [&] {
        const auto plan = service.planner()->planFor(half_uid);
        return plan && plan->node == "gpu-c";
      },
      kWait));
  EXPECT_EQ(schedule("ml/half", {"gpu-a", "gpu-b", "gpu-c"}), "gpu-c");
  ASSERT_TRUE(eventually([&] { return service.planner()->stats().pending == 0; }, kWait))
      << "bound pods leave the queue";
  EXPECT_EQ(service.ledger().snapshot().reservations.size(), 3u);
}

}  // namespace
}  // namespace mpshare::extender
