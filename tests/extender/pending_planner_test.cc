// The extender with `policy: fgd-plus-batch`: the pods waiting for a node are
// planned in batches, prioritize gives the planned node 10, bind takes the
// planned GPUs, and a pod its batch placed nowhere waits for the pods planned
// into its room.
#include "extender/pending_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/annotations.h"
#include "extender/service.h"
#include "extender/standalone.h"
#include "tests/support/captured_log.h"
#include "tests/support/eventually.h"

namespace mpshare::extender {
namespace {

core::NodeView gpuNode(const std::string& name, int gpus) {
  core::NodeView node;
  node.name = name;
  node.labels = {{"mpshare.io/mps", "enabled"},
                 {"nvidia.com/gpu.count", std::to_string(gpus)},
                 {"nvidia.com/gpu.memory", "16384"},
                 {"nvidia.com/gpu.replicas", "8"},
                 {"nvidia.com/gpu.product", "Tesla-V100"}};
  return node;
}

// A pod asking one GPU: a share of `percent` threads (and as much memory), or
// the whole GPU when `percent` is 100.
core::PodView gpuPod(const std::string& name, int percent) {
  core::PodView pod;
  pod.name = name;
  pod.namespace_name = "ml";
  pod.uid = "uid-" + name;
  if (percent < 100) {
    pod.annotations = {
        {std::string(core::kThreadPercentageAnnotation), std::to_string(percent)},
        {std::string(core::kMemoryLimitAnnotation), std::to_string(16384 * percent / 100) + "Mi"}};
  }
  core::ContainerView container;
  container.name = "main";
  container.limits = {{"nvidia.com/gpu", "1"}};
  pod.containers.push_back(container);
  return pod;
}

ExtenderConfig batchConfig(bool in_background = false) {
  ExtenderConfig config;
  config.policy = "fgd-plus-batch";
  config.plan.in_background = in_background;
  // Typical pods: halves and whole GPUs.
  config.pod_seed = {{{1, 500, 0}, 1}, {{1, 1000, 0}, 1}};
  return config;
}

class PlannedService {
 public:
  explicit PlannedService(bool in_background = false)
      : service_(batchConfig(in_background), pods_, binder_) {}

  ExtenderService& service() { return service_; }
  PendingPlanner& planner() { return *service_.planner(); }

  // The pod as the pod watch feeds it, `age` seconds into the day.
  void waiting(const core::PodView& pod, int age) {
    auto demand = core::demandOf(pod, service_.config().demand);
    ASSERT_TRUE(demand.ok() && demand->has_value());
    core::PendingPod pending;
    pending.uid = pod.uid;
    pending.key = pod.key();
    pending.demand = **demand;
    pending.created =
        "2026-12-01T00:00:" + std::string(age < 10 ? "0" : "") + std::to_string(age) + "Z";
    service_.pendingSink()->podPending(pending);
  }

  FilterResult filter(const core::PodView& pod, std::vector<std::string> nodes) {
    ExtenderArgs args;
    args.pod = pod;
    args.node_names = std::move(nodes);
    return service_.filter(args);
  }

  std::map<std::string, int64_t> prioritize(const core::PodView& pod,
                                            std::vector<std::string> nodes) {
    ExtenderArgs args;
    args.pod = pod;
    args.node_names = std::move(nodes);
    std::map<std::string, int64_t> out;
    for (const HostScore& s : service_.prioritize(args)) out[s.host] = s.score;
    return out;
  }

  // kube-scheduler's cycle: filter, prioritize the passing nodes, bind to the
  // best. The node, or "" when no node passed.
  std::string schedule(const core::PodView& pod, std::vector<std::string> nodes) {
    const std::vector<std::string> passed = filter(pod, std::move(nodes)).passed;
    if (passed.empty()) return "";
    const auto scores = prioritize(pod, passed);
    const auto best = std::max_element(scores.begin(), scores.end(),
                                       [](auto& a, auto& b) { return a.second < b.second; });
    EXPECT_EQ(service_.bind(BindingArgs{pod.name, pod.namespace_name, pod.uid, best->first}), "");
    return best->first;
  }

  std::vector<int> gpusOf(const core::PodView& pod) {
    const auto reservation = service_.ledger().reservation(pod.uid);
    return reservation ? reservation->gpu_indices : std::vector<int>{};
  }

 private:
  MemoryPodLookup pods_;
  MemoryBinder binder_;
  ExtenderService service_;
};

// Node a: one free GPU; node b: one GPU 60 % taken. The queue: a half GPU,
// then a whole GPU. One at a time, the half would take a's GPU (it does not
// fit b) and the whole GPU would fit nowhere; the batch places the whole GPU.
class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service().upsertNode(gpuNode("a", 1));
    service().upsertNode(gpuNode("b", 1));
    ASSERT_EQ(s_.schedule(gpuPod("running", 60), {"b"}), "b");
    s_.waiting(half_, 1);
    s_.waiting(whole_, 2);
  }
  ExtenderService& service() { return s_.service(); }

  PlannedService s_;
  const core::PodView half_ = gpuPod("half", 50);
  const core::PodView whole_ = gpuPod("whole", 100);
};

TEST_F(QueueTest, TheSchedulerFollowsThePlanAndTheLeftOutPodWaits) {
  s_.planner().planNow();
  EXPECT_EQ(s_.planner().planFor(whole_.uid), (core::PlannedPlacement{"a", {0}}));
  EXPECT_FALSE(s_.planner().planFor(half_.uid));
  // kube-scheduler reaches the half first (older): it waits, with the reason,
  // logged once for all nodes.
  testing_support::CapturedLog log;
  const FilterResult waiting = s_.filter(half_, {"a", "b"});
  EXPECT_TRUE(waiting.passed.empty());
  ASSERT_EQ(log.lines().size(), 1U) << log.str();
  EXPECT_EQ(log.lines()[0].find("a: waiting"), std::string::npos) << log.str();
  EXPECT_NE(log.lines()[0].find("nodes=2 reasons=\"waiting: the pods planned with it"),
            std::string::npos)
      << log.str();
  // Unresolvable: preemption must not evict pods for a pod that only waits.
  EXPECT_NE(waiting.failed_unresolvable.at("a").find("fgd-plus-batch"), std::string::npos)
      << waiting.failed_unresolvable.at("a");
  EXPECT_EQ(s_.schedule(whole_, {"a", "b"}), "a");
  EXPECT_EQ(s_.gpusOf(whole_), std::vector<int>{0});
  // The whole GPU is bound: the half is planned again, and fits nowhere now
  // (a is full, b has 40 % left); a new node lets it through.
  s_.planner().planNow();
  EXPECT_EQ(s_.schedule(half_, {"a", "b"}), "");
  service().upsertNode(gpuNode("c", 1));
  s_.planner().planNow();
  EXPECT_EQ(s_.schedule(half_, {"a", "b", "c"}), "c");
}

TEST_F(QueueTest, PrioritizeGivesThePlannedNodeTheOnlyTen) {
  s_.planner().planNow();
  service().upsertNode(gpuNode("c", 1));  // as good as a, for the policy alone
  const auto scores = s_.prioritize(whole_, {"a", "b", "c"});
  EXPECT_EQ(scores.at("a"), core::kMaxNodeScore);
  EXPECT_LT(scores.at("c"), core::kMaxNodeScore);
}

TEST_F(QueueTest, APodReachedBeforeItsPlanIsPlacedByThePolicyAlone) {
  // No batch planned yet: the half takes a's GPU, as fgd-plus would.
  EXPECT_EQ(s_.schedule(half_, {"a", "b"}), "a");
  EXPECT_EQ(s_.schedule(whole_, {"a", "b"}), "");
}

TEST_F(QueueTest, APlanWhoseNodeIsNotOfferedFreesItsRoomForTheWaitingPods) {
  s_.planner().planNow();
  // kube-scheduler's own filters left only b for the whole GPU (a taint on a,
  // say): its plan is missed, and the half, waiting for it, is planned again.
  (void)s_.prioritize(whole_, {"b"});
  EXPECT_FALSE(s_.planner().planFor(whole_.uid));
  s_.planner().planNow();
  EXPECT_EQ(s_.planner().planFor(half_.uid), (core::PlannedPlacement{"a", {0}}));
  EXPECT_EQ(s_.schedule(half_, {"a", "b"}), "a");
}

TEST_F(QueueTest, APlanThatNoLongerFitsIsNotFollowed) {
  s_.planner().planNow();
  // Another pod took a's GPU in between (placed before any plan had it).
  const core::PodView other = gpuPod("other", 30);
  ASSERT_EQ(s_.schedule(other, {"a"}), "a");
  const auto scores = s_.prioritize(whole_, {"a", "b"});
  EXPECT_LT(scores.at("a"), core::kMaxNodeScore) << "the plan is stale";
  EXPECT_FALSE(s_.planner().planFor(whole_.uid));
}

TEST_F(QueueTest, APodBeingBoundWhenPlannedDoesNotWaitIfItsBindFails) {
  // The half's bind holds its reservation while the batch is planned ...
  core::ReserveRequest in_flight{half_.uid, half_.key(), "a", {0}, {1, 50, 8192}};
  ASSERT_TRUE(service().ledger().reserve(in_flight));
  s_.planner().planNow();
  // ... and fails: the scheduler retries it, and the policy places it.
  ASSERT_TRUE(service().ledger().release(half_.uid));
  EXPECT_FALSE(s_.planner().waitsForItsBatch(half_.uid));
  EXPECT_EQ(s_.schedule(half_, {"a", "b"}), "a");
}

TEST(PendingPlannerTest, APodThatFitsNowhereDoesNotWaitAndMayPreempt) {
  PlannedService s;
  s.service().upsertNode(gpuNode("a", 1));
  ASSERT_EQ(s.schedule(gpuPod("running", 100), {"a"}), "a");
  const core::PodView half = gpuPod("half", 50);
  s.waiting(half, 1);
  s.planner().planNow();
  EXPECT_FALSE(s.planner().planFor(half.uid));
  EXPECT_FALSE(s.planner().waitsForItsBatch(half.uid));
  // The node's own reason, and resolvable: evicting the running pod would
  // make room, so kube-scheduler's preemption may.
  const FilterResult result = s.filter(half, {"a"});
  EXPECT_TRUE(result.passed.empty());
  EXPECT_TRUE(result.failed_unresolvable.empty());
  ASSERT_EQ(result.failed.count("a"), 1U);
  EXPECT_EQ(result.failed.at("a").find("waiting"), std::string::npos) << result.failed.at("a");
  // A new node makes room: planned again at once, onto it.
  s.service().upsertNode(gpuNode("b", 1));
  EXPECT_EQ(s.planner().planNow(), 1U);
  EXPECT_EQ(s.planner().planFor(half.uid), (core::PlannedPlacement{"b", {0}}));
}

TEST(PendingPlannerTest, PlansTheQueueInBatchesOnTopOfEarlierPlans) {
  PlannedService s;
  ExtenderConfig config = batchConfig();
  for (int i = 0; i < 3; ++i) s.service().upsertNode(gpuNode("n" + std::to_string(i), 8));
  // 20 pods of 30 % (fill 8 GPUs by threads at 3 per GPU with room to spare):
  // the first 16 in queue order make the first batch.
  std::vector<core::PodView> pods;
  for (int i = 0; i < 20; ++i) {
    pods.push_back(gpuPod("p" + std::to_string(i), 30 + 10 * (i % 3)));
    s.waiting(pods.back(), 59 - i);  // the last one is the oldest
  }
  EXPECT_EQ(s.planner().planNow(), 16U);
  EXPECT_EQ(s.planner().planNow(), 4U);
  EXPECT_EQ(s.planner().planNow(), 0U);
  // Every plan fits with all the others: applied together, no GPU over budget.
  std::vector<core::NodeState> nodes;
  s.service().ledger().read([&](const core::LedgerState& state) {
    for (const auto& [name, node] : state.nodes()) nodes.push_back(node);
  });
  for (const core::PodView& pod : pods) {
    const auto plan = s.planner().planFor(pod.uid);
    ASSERT_TRUE(plan) << pod.name;
    auto node = std::find_if(nodes.begin(), nodes.end(),
                             [&](const core::NodeState& n) { return n.name() == plan->node; });
    auto demand = core::demandOf(pod, config.demand);
    ASSERT_TRUE(core::fitsOnGpus(*node, **demand, plan->gpu_indices)) << pod.name;
    core::addPlacement(*node, **demand, plan->gpu_indices);
  }
  EXPECT_EQ(s.planner().stats().planned, 20U);
}

TEST(PendingPlannerTest, StatusUpdatesKeepThePlanAChangedPodIsPlannedAgain) {
  PlannedService s;
  s.service().upsertNode(gpuNode("a", 2));
  core::PodView pod = gpuPod("p", 50);
  s.waiting(pod, 1);
  s.planner().planNow();
  s.waiting(pod, 1);  // the same pod again (a status update)
  EXPECT_TRUE(s.planner().planFor(pod.uid));
  EXPECT_EQ(s.planner().planNow(), 0U);
  s.waiting(gpuPod("p", 70), 1);  // its annotations changed
  EXPECT_FALSE(s.planner().planFor(pod.uid));
  EXPECT_EQ(s.planner().planNow(), 1U);
  // A relist without it: gone.
  s.service().pendingSink()->keepOnlyPending({});
  EXPECT_FALSE(s.planner().planFor(pod.uid));
  EXPECT_EQ(s.planner().stats().pending, 0U);
}

TEST(PendingPlannerTest, ItsThreadPlansWithoutBeingAsked) {
  PlannedService s(true);
  s.service().upsertNode(gpuNode("a", 2));
  const core::PodView pod = gpuPod("p", 50);
  s.waiting(pod, 1);
  EXPECT_TRUE(testing_support::eventually([&] { return s.planner().planFor(pod.uid).has_value(); },
                                          std::chrono::seconds(10)));
}

TEST(PendingPlannerTest, OtherPoliciesHaveNoPlanner) {
  for (const char* policy : {"fgd-plus", "fgd", "binpack", "spread"}) {
    ExtenderConfig config;
    config.policy = policy;
    MemoryPodLookup pods;
    MemoryBinder binder;
    ExtenderService service(config, pods, binder);
    EXPECT_EQ(service.pendingSink(), nullptr) << policy;
  }
}

}  // namespace
}  // namespace mpshare::extender
