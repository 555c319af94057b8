// ClusterCache without a server: the ledger it builds depends only on which
// pods and nodes exist, never on the order their events arrive in, and an
// overcommit is pinned on the pod placed outside mpshare. The GPU pods of the
// extender's scheduler waiting for a node reach the pending-pod sink.

#include "extender/cluster/cluster_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <set>

#include "extender/service.h"
#include "extender/standalone.h"
#include "testing/apiserver/fixtures.h"

namespace mpshare::extender {
namespace {

using kubetest::makeNode;
using kubetest::makePod;
using kubetest::PodSpec;
using nlohmann::json;

json pod(const PodSpec& spec, const std::string& uid, const std::string& created) {
  json object = makePod(spec);
  object["metadata"]["uid"] = uid;
  object["metadata"]["creationTimestamp"] = created;
  return object;
}

struct Reported {
  std::string pod;
  std::string node;
  int gpu = 0;
  bool operator==(const Reported&) const = default;
};

// Every call the pending-pod sink gets, by kind.
struct RecordingPendingSink : PendingPodSink {
  std::vector<core::PendingPod> pending;
  std::vector<std::string> not_pending;
  std::vector<std::set<std::string>> kept;
  void podPending(core::PendingPod pod) override { pending.push_back(std::move(pod)); }
  void podNotPending(const std::string& uid) override { not_pending.push_back(uid); }
  void keepOnlyPending(const std::set<std::string>& uids) override { kept.push_back(uids); }
};

// A service, its ledger and a cache feeding it, as ClusterExtender wires them
// (with a pending-pod sink, as when the policy plans the queue).
struct Harness {
  MemoryPodLookup lookup;
  MemoryBinder binder;
  ExtenderService service{ExtenderConfig{}, lookup, binder};
  std::vector<Reported> reported;
  RecordingPendingSink pending;
  ClusterCache cache{service.config(),
                     service,
                     service.ledger(),
                     [this](const std::string& p, const std::string& n, int g) {
                       reported.push_back({p, n, g});
                     },
                     nullptr,
                     nullptr,
                     &pending};
};

// gpu-a: GPU0 shared by two of ours (60 % + 30 %) and a pod placed by hand
// (counted whole: the one that overcommits); GPU1 holds one of ours.
// gpu-b: a pod whose gpu-index names a GPU the node lacks (counted whole on GPU0).
const std::vector<json>& nodes() {
  static const std::vector<json> kNodes{makeNode("gpu-a", 2), makeNode("gpu-b", 1)};
  return kNodes;
}

const std::vector<json>& pods() {
  static const std::vector<json> kPods{
      pod({.name = "by-hand", .node = "gpu-a", .phase = "Running"}, "u1", "2026-11-24T01:00:00Z"),
      pod({.name = "ours-60",
           .node = "gpu-a",
           .phase = "Running",
           .annotations = {{"mpshare.io/thread-percentage", "60"},
                           {"mpshare.io/memory-limit", "8Gi"},
                           {"mpshare.io/gpu-index", "0"}}},
          "u2", "2026-11-24T02:00:00Z"),
      pod({.name = "ours-30",
           .node = "gpu-a",
           .phase = "Running",
           .annotations = {{"mpshare.io/thread-percentage", "30"},
                           {"mpshare.io/memory-limit", "8Gi"},
                           {"mpshare.io/gpu-index", "0"}}},
          "u3", "2026-11-24T03:00:00Z"),
      pod({.name = "ours-gpu1",
           .node = "gpu-a",
           .phase = "Running",
           .annotations = {{"mpshare.io/thread-percentage", "50"}, {"mpshare.io/gpu-index", "1"}}},
          "u4", "2026-11-24T04:00:00Z"),
      pod({.name = "bad-index",
           .node = "gpu-b",
           .phase = "Running",
           .annotations = {{"mpshare.io/thread-percentage", "20"}, {"mpshare.io/gpu-index", "5"}}},
          "u5", "2026-11-24T05:00:00Z"),
      pod({.name = "pending",
           .phase = "Pending",
           .annotations = {{"mpshare.io/thread-percentage", "20"}}},
          "u6", "2026-11-24T06:00:00Z"),
      pod({.name = "cpu-only", .node = "gpu-a", .phase = "Running", .gpus = 0}, "u7",
          "2026-11-24T07:00:00Z"),
  };
  return kPods;
}

TEST(ClusterCacheTest, AListRecordsFromAnnotationsAndPinsTheOvercommitOnTheForeignPod) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.podSink().replace(pods());
  const auto& ledger = h.service.ledger();
  EXPECT_EQ(h.cache.podCount(), 5u);  // not the pending or the CPU-only pod
  const auto foreign = ledger.reservation("u1");
  ASSERT_TRUE(foreign.has_value());
  EXPECT_EQ(foreign->gpu_indices, std::vector<int>{0});
  EXPECT_EQ(foreign->per_gpu[0].threads, 100);
  EXPECT_TRUE(foreign->overcommitted);
  EXPECT_FALSE(ledger.reservation("u2")->overcommitted);
  EXPECT_FALSE(ledger.reservation("u3")->overcommitted);
  EXPECT_EQ(ledger.reservation("u4")->gpu_indices, std::vector<int>{1});
  EXPECT_EQ(ledger.reservation("u5")->gpu_indices, std::vector<int>{0});
  EXPECT_EQ(ledger.reservation("u5")->per_gpu[0].threads, 100);
  EXPECT_EQ(h.reported, (std::vector<Reported>{{"ml/by-hand", "gpu-a", 0}}));
}

TEST(ClusterCacheTest, AnyEventOrderEndsInTheLedgerOfTheList) {
  Harness listed;
  listed.cache.nodeSink().replace(nodes());
  listed.cache.podSink().replace(pods());
  const core::LedgerSnapshot want = listed.service.ledger().snapshot();

  // Node and pod events interleaved at random, as two independent watches deliver them.
  std::mt19937 random(2026);
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Harness h;
    std::vector<std::pair<bool, const json*>> events;
    for (const auto& n : nodes()) events.emplace_back(true, &n);
    for (const auto& p : pods()) events.emplace_back(false, &p);
    std::shuffle(events.begin(), events.end(), random);
    for (const auto& [is_node, object] : events) {
      (is_node ? h.cache.nodeSink() : h.cache.podSink()).apply("ADDED", *object);
    }
    ASSERT_EQ(h.service.ledger().snapshot(), want);
    // Reported once, and always the foreign pod.
    ASSERT_EQ(h.reported, listed.reported);
  }
}

TEST(ClusterCacheTest, EndedPodsReleaseAndTheOvercommitClears) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.podSink().replace(pods());
  json finished = pods()[1];  // ours-60
  finished["status"]["phase"] = "Succeeded";
  h.cache.podSink().apply("MODIFIED", finished);
  EXPECT_FALSE(h.service.ledger().reservation("u2").has_value());
  // 30 % + a whole GPU is still over budget; deleting the hand-placed pod ends it.
  h.cache.podSink().apply("DELETED", pods()[0]);
  const auto snapshot = h.service.ledger().snapshot();
  EXPECT_EQ(snapshot.reservations.size(), 3u);
  EXPECT_TRUE(std::none_of(snapshot.reservations.begin(), snapshot.reservations.end(),
                           [](const core::Reservation& r) { return r.overcommitted; }));
  EXPECT_EQ(h.service.ledger().reservation("u3")->per_gpu[0].threads, 30);
}

TEST(ClusterCacheTest, ANodeThatLeavesAndComesBackCountsItsPodsAgain) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.podSink().replace(pods());
  const core::LedgerSnapshot before = h.service.ledger().snapshot();
  h.cache.nodeSink().apply("DELETED", nodes()[0]);
  EXPECT_FALSE(h.service.ledger().reservation("u2").has_value());
  EXPECT_EQ(h.cache.podCount(), 5u);  // still cached for when it returns
  h.cache.nodeSink().apply("ADDED", nodes()[0]);
  EXPECT_EQ(h.service.ledger().snapshot(), before);
}

// A relist releases the reservations of pods that are gone, but a pod created
// and bound while the list was being read is missing from it too (the list is
// a snapshot from its start) and very much live: releasing its share would let
// the next bind give the GPU away twice before the watch brings the pod in.
TEST(ClusterCacheTest, ARelistReleasesOnlyReservationsTakenBeforeItBegan) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.nodeSink().apply("ADDED", makeNode("gpu-c", 1));
  h.cache.podSink().replace(pods());
  auto& ledger = h.service.ledger();
  const auto reserve = [&](const std::string& uid) {
    core::Demand demand;
    demand.thread_percentage = 20;
    demand.memory_mib = 1024;
    ASSERT_TRUE(ledger.reserve({uid, "ml/" + uid, "gpu-c", {0}, demand}).ok());
  };
  reserve("deleted-before-the-list");
  h.cache.podSink().beginList();
  reserve("bound-during-the-list");
  std::vector<json> page = pods();
  h.cache.podSink().listPage(page);
  h.cache.podSink().endList();
  EXPECT_FALSE(ledger.reservation("deleted-before-the-list").has_value());
  EXPECT_TRUE(ledger.reservation("bound-during-the-list").has_value());
  EXPECT_EQ(ledger.snapshot().nodes.back().gpus[0].reserved.threads, 20);
  // Still missing from the next list, which began after it was taken: gone.
  h.cache.podSink().replace(pods());
  EXPECT_FALSE(ledger.reservation("bound-during-the-list").has_value());
}

// A relist that finds a pod placed next to a reservation whose pod is gone
// counts it within budget: the gone pod's share is released before the node's
// pods are recorded again, as a fresh start would have them.
TEST(ClusterCacheTest, ARelistReleasesWhatIsGoneBeforeFlaggingOvercommits) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.nodeSink().apply("ADDED", makeNode("gpu-c", 1));
  h.cache.podSink().replace(pods());
  core::Demand demand;
  demand.thread_percentage = 60;
  demand.memory_mib = 1024;
  ASSERT_TRUE(h.service.ledger().reserve({"gone", "ml/gone", "gpu-c", {0}, demand}).ok());
  std::vector<json> listed = pods();
  listed.push_back(pod({.name = "placed",
                        .node = "gpu-c",
                        .phase = "Running",
                        .annotations = {{"mpshare.io/thread-percentage", "50"},
                                        {"mpshare.io/memory-limit", "1Gi"},
                                        {"mpshare.io/gpu-index", "0"}}},
                       "u9", "2026-11-24T09:00:00Z"));
  h.cache.podSink().replace(listed);
  EXPECT_FALSE(h.service.ledger().reservation("gone").has_value());
  ASSERT_TRUE(h.service.ledger().reservation("u9").has_value());
  EXPECT_FALSE(h.service.ledger().reservation("u9")->overcommitted);
}

// A pod bound and deleted while the list began is missing from the list and
// never shows up on the watch: the first bookmark (everything up to then has
// been seen) releases its share. One the watch shows is live and keeps it.
TEST(ClusterCacheTest, ABookmarkReleasesWhatTheListMissedAndTheWatchNeverShowed) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.nodeSink().apply("ADDED", makeNode("gpu-c", 1));
  h.cache.podSink().replace(pods());
  auto& ledger = h.service.ledger();
  core::Demand demand;
  demand.thread_percentage = 20;
  demand.memory_mib = 1024;
  h.cache.podSink().beginList();
  ASSERT_TRUE(ledger.reserve({"gone", "ml/gone", "gpu-c", {0}, demand}).ok());
  ASSERT_TRUE(ledger.reserve({"u8", "ml/late", "gpu-c", {0}, demand}).ok());
  std::vector<json> page = pods();
  h.cache.podSink().listPage(page);
  h.cache.podSink().endList();
  EXPECT_TRUE(ledger.reservation("gone").has_value());
  // The watch brings the pod created after the list's snapshot, then a bookmark.
  h.cache.podSink().apply("ADDED",
                          pod({.name = "late", .annotations = {}}, "u8", "2026-11-24T08:00:00Z"));
  h.cache.podSink().bookmark();
  EXPECT_FALSE(ledger.reservation("gone").has_value());
  EXPECT_TRUE(ledger.reservation("u8").has_value());
}

// A GPU pod of the extender's scheduler (the fixture's) waiting for a node:
// 30 % threads and 4 GiB on one T4, priority 1000.
json waiting(const std::string& uid) {
  json object = pod(
      {.name = "wait-" + uid,
       .phase = "Pending",
       .annotations = {{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "4Gi"}}},
      uid, "2026-11-24T10:00:00Z");
  object["spec"]["priority"] = 1000;
  object["spec"]["nodeSelector"] = {{"nvidia.com/gpu.product", "Tesla-T4"}};
  return object;
}

TEST(ClusterCacheTest, APendingGpuPodIsReportedWithWhatThePlanNeeds) {
  Harness h;
  h.cache.podSink().apply("ADDED", waiting("w1"));
  core::Demand demand;
  demand.gpus = 1;
  demand.thread_percentage = 30;
  demand.memory_mib = 4096;
  const core::PendingPod want{"w1",         "ml/wait-w1", demand,
                              {"Tesla-T4"}, 1000,         "2026-11-24T10:00:00Z"};
  EXPECT_EQ(h.pending.pending, std::vector<core::PendingPod>{want});
  EXPECT_TRUE(h.pending.not_pending.empty());
  EXPECT_EQ(h.cache.podCount(), 0u);

  // Without spec.priority the scheduler takes 0; without a product selector, any product.
  json plain = waiting("w2");
  plain["spec"].erase("priority");
  plain["spec"].erase("nodeSelector");
  h.cache.podSink().apply("ADDED", plain);
  ASSERT_EQ(h.pending.pending.size(), 2u);
  EXPECT_EQ(h.pending.pending[1].priority, 0);
  EXPECT_TRUE(h.pending.pending[1].products.empty());
}

// Bound through the watch, the pod leaves the queue and counts in the ledger
// from its gpu-index exactly as any placed pod does.
TEST(ClusterCacheTest, ABoundPodIsNoLongerPendingAndCountsInTheLedger) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.podSink().apply("ADDED", waiting("w1"));
  json bound = waiting("w1");
  bound["spec"]["nodeName"] = "gpu-b";
  bound["metadata"]["annotations"]["mpshare.io/gpu-index"] = "0";
  h.cache.podSink().apply("MODIFIED", bound);
  EXPECT_EQ(h.pending.not_pending, std::vector<std::string>{"w1"});
  EXPECT_EQ(h.pending.pending.size(), 1u);
  const auto reservation = h.service.ledger().reservation("w1");
  ASSERT_TRUE(reservation.has_value());
  EXPECT_EQ(reservation->gpu_indices, std::vector<int>{0});
  EXPECT_EQ(reservation->per_gpu[0].threads, 30);
  // Told once: the placed pod's later events are not the planner's business.
  bound["status"]["phase"] = "Running";
  h.cache.podSink().apply("MODIFIED", bound);
  h.cache.podSink().apply("DELETED", bound);
  EXPECT_EQ(h.pending.not_pending, std::vector<std::string>{"w1"});
}

TEST(ClusterCacheTest, PlacedPodsNeverReachThePendingSink) {
  Harness h;
  h.cache.nodeSink().replace(nodes());
  h.cache.podSink().replace(pods());
  EXPECT_EQ(h.pending.pending.size(), 1u);  // the fixture's one pending GPU pod
  for (const auto& p : pods()) h.cache.podSink().apply("MODIFIED", p);
  for (const auto& p : pods()) {
    if (p["metadata"]["uid"] != "u6") h.cache.podSink().apply("DELETED", p);
  }
  EXPECT_TRUE(h.pending.not_pending.empty());
}

// Each change makes a waiting pod no pod to plan: reported so when it was
// pending, never reported pending when it arrives that way.
TEST(ClusterCacheTest, PodsTheQueueDoesNotPlanAreNotPending) {
  struct Case {
    std::string name;
    std::string type;  // the event that brings the change
    std::function<void(json&)> change;
  };
  const std::vector<Case> cases{
      {"deleted", "DELETED", [](json&) {}},
      {"being deleted", "MODIFIED",
       [](json& p) { p["metadata"]["deletionTimestamp"] = "2026-11-24T11:00:00Z"; }},
      {"bound", "MODIFIED", [](json& p) { p["spec"]["nodeName"] = "gpu-a"; }},
      {"failed", "MODIFIED", [](json& p) { p["status"]["phase"] = "Failed"; }},
      {"another scheduler", "MODIFIED",
       [](json& p) { p["spec"]["schedulerName"] = "default-scheduler"; }},
      {"no GPU", "MODIFIED",
       [](json& p) {
         auto& resources = p["spec"]["containers"][0]["resources"];
         resources["limits"].erase("nvidia.com/gpu");
         resources["requests"].erase("nvidia.com/gpu");
         p["metadata"]["annotations"] = json::object();
       }},
      {"invalid annotations", "MODIFIED",
       [](json& p) { p["metadata"]["annotations"]["mpshare.io/thread-percentage"] = "150"; }},
      {"malformed", "MODIFIED", [](json& p) { p["spec"]["nodeSelector"] = "Tesla-T4"; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    json changed = waiting("w1");
    c.change(changed);
    Harness arrives;
    arrives.cache.podSink().apply(c.type, changed);
    EXPECT_TRUE(arrives.pending.pending.empty());
    EXPECT_TRUE(arrives.pending.not_pending.empty());

    Harness was_pending;
    was_pending.cache.podSink().apply("ADDED", waiting("w1"));
    was_pending.cache.podSink().apply(c.type, changed);
    EXPECT_EQ(was_pending.pending.pending.size(), 1u);
    EXPECT_EQ(was_pending.pending.not_pending, std::vector<std::string>{"w1"});
  }
}

// A pod deleted while the watch was down has no DELETED event: the relist
// keeps only the pending pods it holds. Page by page, as a paged list delivers,
// and from the start again after a list that failed half way.
TEST(ClusterCacheTest, ARelistKeepsOnlyThePendingPodsItHolds) {
  Harness h;
  std::vector<json> listed = pods();
  listed.push_back(waiting("w1"));
  listed.push_back(waiting("w2"));
  h.cache.podSink().replace(listed);
  ASSERT_EQ(h.pending.kept.size(), 1u);
  EXPECT_EQ(h.pending.kept[0], (std::set<std::string>{"u6", "w1", "w2"}));

  // A list that failed half way (w2 on its first page) is read again from the start.
  std::vector<json> aborted{waiting("w2")};
  h.cache.podSink().beginList();
  h.cache.podSink().listPage(aborted);
  h.cache.podSink().beginList();
  std::vector<json> first(pods().begin(), pods().begin() + 3);
  std::vector<json> second(pods().begin() + 3, pods().end());
  second.push_back(waiting("w1"));
  h.cache.podSink().listPage(first);
  h.cache.podSink().listPage(second);
  h.cache.podSink().endList();
  ASSERT_EQ(h.pending.kept.size(), 2u);
  EXPECT_EQ(h.pending.kept[1], (std::set<std::string>{"u6", "w1"}));
  // The dropped pod's DELETED, if it ever came, is not news to the sink.
  h.cache.podSink().apply("DELETED", waiting("w2"));
  EXPECT_TRUE(h.pending.not_pending.empty());
}

}  // namespace
}  // namespace mpshare::extender
