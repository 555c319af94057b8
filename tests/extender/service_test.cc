#include "extender/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "extender/standalone.h"

namespace mpshare::extender {
namespace {

core::NodeView gpuNode(const std::string& name, const std::string& count,
                       const std::string& memory) {
  core::NodeView node;
  node.name = name;
  node.labels = {{"mpshare.io/mps", "enabled"},
                 {"nvidia.com/gpu.count", count},
                 {"nvidia.com/gpu.memory", memory},
                 {"nvidia.com/gpu.replicas", "48"}};
  return node;
}

core::PodView mpsPod(const std::string& name, const std::string& threads,
                     const std::string& memory) {
  core::PodView pod;
  pod.name = name;
  pod.namespace_name = "ml";
  pod.uid = "uid-" + name;
  pod.annotations = {{"mpshare.io/thread-percentage", threads},
                     {"mpshare.io/memory-limit", memory}};
  core::ContainerView container;
  container.name = "main";
  container.limits = {{"nvidia.com/gpu", "1"}};
  pod.containers.push_back(container);
  return pod;
}

ExtenderArgs namesArgs(const core::PodView& pod, std::vector<std::string> names) {
  ExtenderArgs args;
  args.pod = pod;
  args.node_names = std::move(names);
  return args;
}

class FailingBinder : public Binder {
 public:
  core::Status bind(const BindRequest&) override {
    return core::Error{core::ErrorCode::kInternal, "", "API server refused the Binding"};
  }
};

// Answers each bind with the next status given (success once they run out),
// and counts the binds.
class ScriptedBinder : public Binder {
 public:
  explicit ScriptedBinder(std::vector<core::Status> answers) : answers_(std::move(answers)) {}
  core::Status bind(const BindRequest&) override {
    ++calls;
    if (answers_.empty()) return {};
    core::Status next = answers_.front();
    answers_.erase(answers_.begin());
    return next;
  }
  int calls = 0;

 private:
  std::vector<core::Status> answers_;
};

// A Binding whose reply and check were both lost: it may have landed.
core::Status unknownOutcome() {
  return core::Error{core::ErrorCode::kUnavailable, "", "reply lost; whether it landed is unknown"};
}

// Two one-GPU nodes of 10,000 MiB: "a" already has 50 % of its GPU reserved,
// "b" 40 %. The pod to place asks for 10 %.
void reserveHalfAndFortyPercent(ExtenderService& service) {
  service.upsertNode(gpuNode("a", "1", "10000"));
  service.upsertNode(gpuNode("b", "1", "10000"));
  core::Demand half{1, 50, 5000};
  core::Demand forty{1, 40, 4000};
  ASSERT_TRUE(service.ledger().reserve(core::ReserveRequest{"x", "ml/x", "a", {0}, half}).ok());
  ASSERT_TRUE(service.ledger().reserve(core::ReserveRequest{"y", "ml/y", "b", {0}, forty}).ok());
}

std::map<std::string, int> scoresOf(const std::vector<HostScore>& scores) {
  std::map<std::string, int> out;
  for (const HostScore& s : scores) out[s.host] = s.score;
  return out;
}

TEST(ServiceTest, FgdAndBinpackPreferDifferentNodes) {
  // Typical pods ask for half a GPU. binpack fills the fuller GPU ("a", ending at
  // 60 %). fgd sees that "a" would keep only 40 % free, which no typical pod can
  // use (0.4 GPU of fragment), while "b" keeps 50 % free, room for one more
  // typical pod (no fragment): it prefers "b".
  for (const char* policy : {"binpack", "fgd"}) {
    ExtenderConfig config;
    config.policy = policy;
    config.pod_seed = {{{1, 500, 0}, 1}};
    MemoryPodLookup pods;
    MemoryBinder binder;
    ExtenderService service(config, pods, binder);
    reserveHalfAndFortyPercent(service);
    const auto args = namesArgs(mpsPod("p", "10", "1000Mi"), {"a", "b"});
    ASSERT_EQ(service.filter(args).passed, (std::vector<std::string>{"a", "b"}));
    const auto scores = scoresOf(service.prioritize(args));
    if (std::string(policy) == "binpack") {
      EXPECT_GT(scores.at("a"), scores.at("b"));
    } else {
      EXPECT_EQ(scores.at("b"), 10);
      EXPECT_EQ(scores.at("a"), 0);
    }
  }
}

// The status says which: only a pod whose own annotations are invalid is
// kInvalidPod (the request's outcome invalid_pod); a filter that passes no
// node, a pod without GPUs and an unknown node are answers (kEvaluated), even
// where the reasons read like errors.
TEST(ServiceTest, FilterStatusTellsAnInvalidPodFromAnAnswer) {
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("a", "1", "10000"));
  core::PodView no_gpu = mpsPod("cpu", "10", "1Gi");
  no_gpu.annotations.clear();
  no_gpu.containers[0].limits.clear();
  const struct {
    const char* name;
    core::PodView pod;
    std::vector<std::string> nodes;
    FilterStatus status;
    size_t passed;
  } cases[] = {
      {"fits", mpsPod("p", "10", "1Gi"), {"a"}, FilterStatus::kEvaluated, 1},
      {"fits nowhere", mpsPod("p", "10", "20Gi"), {"a"}, FilterStatus::kEvaluated, 0},
      {"unknown node", mpsPod("p", "10", "1Gi"), {"invalid"}, FilterStatus::kEvaluated, 0},
      {"no GPU", no_gpu, {"a"}, FilterStatus::kEvaluated, 1},
      {"no candidates", mpsPod("p", "10", "1Gi"), {}, FilterStatus::kEvaluated, 0},
      {"threads past 100", mpsPod("p", "130", "1Gi"), {"a"}, FilterStatus::kInvalidPod, 0},
      {"memory not a quantity", mpsPod("p", "10", "lots"), {"a"}, FilterStatus::kInvalidPod, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const FilterOutcome outcome = service.filterPod(namesArgs(c.pod, c.nodes));
    EXPECT_EQ(outcome.status, c.status);
    EXPECT_EQ(outcome.result.passed.size(), c.passed);
    // The Error field carries the reason exactly when the pod is invalid.
    EXPECT_EQ(outcome.result.error.empty(), c.status == FilterStatus::kEvaluated)
        << outcome.result.error;
  }
}

TEST(ServiceTest, DistributionSwitchesFromSeedToLearnedAfterMinPods) {
  ExtenderConfig config;  // fgd
  config.pod_seed = {{{1, 500, 0}, 1}};
  config.pod_window.max_pods = 10;
  config.pod_window.min_pods = 3;
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(config, pods, binder);
  reserveHalfAndFortyPercent(service);
  const auto probe = namesArgs(mpsPod("p", "10", "1000Mi"), {"a", "b"});
  EXPECT_EQ(service.podDistribution()->source, core::DistributionSource::kConfigured);
  EXPECT_EQ(scoresOf(service.prioritize(probe)).at("b"), 10);  // as in the test above

  // The workload turns out to be pods of 60 % / 6000 MiB. For them "a" (50 % free)
  // is a fragment already, and taking 10 % of "b" would make it one too: once
  // learned, fgd prefers "a".
  (void)service.filter(namesArgs(mpsPod("w1", "60", "6000Mi"), {"a", "b"}));
  (void)service.filter(namesArgs(mpsPod("w2", "60", "6000Mi"), {"a", "b"}));
  (void)service.filter(namesArgs(mpsPod("w2", "60", "6000Mi"), {"a", "b"}));  // counted once
  EXPECT_EQ(service.podDistribution()->source, core::DistributionSource::kConfigured);
  EXPECT_EQ(service.podDistribution()->window_pods, 2u);
  EXPECT_EQ(scoresOf(service.prioritize(probe)).at("b"), 10);  // still the seed
  (void)service.filter(namesArgs(mpsPod("w3", "60", "6000Mi"), {"a", "b"}));
  const auto learned = service.podDistribution();
  EXPECT_EQ(learned->source, core::DistributionSource::kLearned);
  EXPECT_EQ(learned->shapes, (std::vector<core::ShapeCount>{{{1, 600, 6000}, 3}}));
  const auto scores = scoresOf(service.prioritize(probe));
  EXPECT_EQ(scores.at("a"), 10);
  EXPECT_EQ(scores.at("b"), 0);
}

TEST(ServiceTest, PrioritizeAfterAReservationAnswersAsAServiceThatNeverScoredBefore) {
  // Prioritize remembers scores by node content: a node changed by a
  // reservation must be scored again, exactly as a fresh service scores it.
  ExtenderConfig config;  // fgd
  config.pod_seed = {{{1, 500, 0}, 1}};
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService warm(config, pods, binder);
  ExtenderService fresh(config, pods, binder);
  const auto probe = namesArgs(mpsPod("p", "10", "1000Mi"), {"a", "b"});
  reserveHalfAndFortyPercent(warm);
  const auto before = scoresOf(warm.prioritize(probe));
  core::Demand more;
  more.thread_percentage = 55;
  more.memory_mib = 1000;
  for (ExtenderService* service : {&warm, &fresh}) {
    if (service == &fresh) reserveHalfAndFortyPercent(*service);
    ASSERT_TRUE(service->ledger().reserve(core::ReserveRequest{"z", "ml/z", "b", {0}, more}).ok());
  }
  const auto after = scoresOf(warm.prioritize(probe));
  EXPECT_EQ(after, scoresOf(fresh.prioritize(probe)));
  EXPECT_NE(after, before);  // b keeps 5 % free, too little for the pod: a gets 10
}

TEST(ServiceTest, RejectedNodesCarryTheLabelReason) {
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("bad", "2", "lots"));
  const FilterResult result =
      service.filter(namesArgs(mpsPod("p", "10", "1Gi"), {"bad", "nowhere"}));
  EXPECT_TRUE(result.passed.empty());
  EXPECT_EQ(result.failed_unresolvable.at("bad"),
            "bad: nvidia.com/gpu.memory: \"lots\" is not a positive whole number (e.g. \"81559\")");
  EXPECT_NE(result.failed_unresolvable.at("nowhere").find("needs label mpshare.io/mps=enabled"),
            std::string::npos);
  // Fixing the labels makes the node usable again.
  service.upsertNode(gpuNode("bad", "2", "40960"));
  EXPECT_EQ(service.filter(namesArgs(mpsPod("p", "10", "1Gi"), {"bad"})).passed,
            std::vector<std::string>{"bad"});
  EXPECT_TRUE(service.rejectedNodes().empty());
}

TEST(ServiceTest, BindReleasesTheReservationWhenTheBinderFails) {
  MemoryPodLookup pods;
  FailingBinder binder;
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("n", "1", "40960"));
  (void)service.filter(namesArgs(mpsPod("p", "10", "1Gi"), {"n"}));
  const std::string error = service.bind(BindingArgs{"p", "ml", "uid-p", "n"});
  EXPECT_EQ(error, "binding ml/p to n: API server refused the Binding");
  EXPECT_TRUE(service.ledger().snapshot().reservations.empty());
}

TEST(ServiceTest, BindWithAnUnknownOutcomeHoldsTheShareUntilTheRetrySettlesIt) {
  MemoryPodLookup pods;
  ScriptedBinder binder({unknownOutcome()});
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("n", "1", "40960"));
  service.upsertNode(gpuNode("m", "1", "40960"));
  (void)service.filter(namesArgs(mpsPod("p", "60", "1Gi"), {"n", "m"}));
  (void)service.filter(namesArgs(mpsPod("q", "60", "1Gi"), {"n"}));
  const BindOutcome lost = service.bindPod(BindingArgs{"p", "ml", "uid-p", "n"});
  EXPECT_EQ(lost.status, BindStatus::kBinderError);
  // The Binding may have landed: the share stays held, so it is not given away.
  const auto held = service.ledger().reservation("uid-p");
  ASSERT_TRUE(held.has_value());
  EXPECT_NE(held->unsettled, 0u);
  EXPECT_EQ(service.bindPod(BindingArgs{"q", "ml", "uid-q", "n"}).status, BindStatus::kNoFit);
  // The scheduler's retry is offered only the node holding the share.
  const FilterResult retry = service.filter(namesArgs(mpsPod("p", "60", "1Gi"), {"n", "m"}));
  EXPECT_EQ(retry.passed, std::vector<std::string>{"n"});
  EXPECT_NE(retry.failed.at("m").find("not known yet"), std::string::npos) << retry.failed.at("m");
  // A retry elsewhere is refused while the first outcome is unknown: moving
  // the share would free it while the pod may hold it.
  const BindOutcome elsewhere = service.bindPod(BindingArgs{"p", "ml", "uid-p", "m"});
  EXPECT_EQ(elsewhere.status, BindStatus::kNoFit);
  EXPECT_NE(elsewhere.error.find("not known yet"), std::string::npos) << elsewhere.error;
  EXPECT_EQ(binder.calls, 1);
  // The retry on the same node reuses the share, counted once, and settles it.
  EXPECT_EQ(service.bind(BindingArgs{"p", "ml", "uid-p", "n"}), "");
  EXPECT_EQ(binder.calls, 2);
  const auto snapshot = service.ledger().snapshot();
  ASSERT_EQ(snapshot.reservations.size(), 1u);
  EXPECT_EQ(snapshot.reservations[0].unsettled, 0u);
  EXPECT_EQ(snapshot.nodes[1].gpus[0].reserved, (core::GpuUsage{60, 1024, 1}));
  EXPECT_EQ(snapshot.nodes[0].gpus[0].reserved, core::GpuUsage{});
}

TEST(ServiceTest, RetryOfAnUnknownOutcomeReleasesTheShareWhenItFailsKnowingly) {
  MemoryPodLookup pods;
  ScriptedBinder binder(
      {unknownOutcome(), unknownOutcome(),
       core::Error{core::ErrorCode::kConflict, "", "pod is not bound to n after the check"}});
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("n", "1", "40960"));
  (void)service.filter(namesArgs(mpsPod("p", "60", "1Gi"), {"n"}));
  EXPECT_NE(service.bind(BindingArgs{"p", "ml", "uid-p", "n"}), "");
  const uint64_t first = service.ledger().reservation("uid-p")->unsettled;
  // Unknown again: held again, under a new stamp (a relist that began before
  // it must not release it).
  EXPECT_NE(service.bind(BindingArgs{"p", "ml", "uid-p", "n"}), "");
  const auto again = service.ledger().reservation("uid-p");
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(again->unsettled, 0u);
  EXPECT_NE(again->unsettled, first);
  // Known not to have landed: released, and nothing is left counted.
  EXPECT_NE(service.bind(BindingArgs{"p", "ml", "uid-p", "n"}), "");
  EXPECT_FALSE(service.ledger().reservation("uid-p").has_value());
  EXPECT_EQ(service.ledger().snapshot().nodes[0].gpus[0].reserved, core::GpuUsage{});
}

TEST(ServiceTest, RepeatedBindIsIdempotentAndAnotherNodeIsRefused) {
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("n", "1", "40960"));
  service.upsertNode(gpuNode("m", "1", "40960"));
  (void)service.filter(namesArgs(mpsPod("p", "10", "1Gi"), {"n", "m"}));
  EXPECT_EQ(service.bind(BindingArgs{"p", "ml", "uid-p", "n"}), "");
  EXPECT_EQ(service.bind(BindingArgs{"p", "ml", "uid-p", "n"}), "");
  EXPECT_EQ(service.bind(BindingArgs{"p", "ml", "uid-p", "m"}),
            "pod ml/p already holds a reservation on n");
  const auto snapshot = service.ledger().snapshot();
  ASSERT_EQ(snapshot.reservations.size(), 1u);
  EXPECT_EQ(snapshot.nodes[1].gpus[0].reserved, (core::GpuUsage{10, 1024, 1}));
  EXPECT_EQ(binder.bound().at("ml/p").node, "n");
}

TEST(ServiceTest, NodeRemovalDropsItsReservations) {
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("n", "1", "40960"));
  (void)service.filter(namesArgs(mpsPod("p", "10", "1Gi"), {"n"}));
  ASSERT_EQ(service.bind(BindingArgs{"p", "ml", "uid-p", "n"}), "");
  core::NodeView unlabelled = gpuNode("n", "1", "40960");
  unlabelled.labels.erase("mpshare.io/mps");
  service.upsertNode(unlabelled);  // no longer selected
  EXPECT_TRUE(service.ledger().snapshot().nodes.empty());
  EXPECT_TRUE(service.ledger().snapshot().reservations.empty());
}

// Filter says yes to everyone; the binds race for one GPU and only what fits wins.
TEST(ServiceTest, ConcurrentBindsNeverOvercommit) {
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(ExtenderConfig{}, pods, binder);
  service.upsertNode(gpuNode("n", "1", "40960"));
  constexpr int kPods = 64;
  for (int i = 0; i < kPods; ++i) {
    const FilterResult result =
        service.filter(namesArgs(mpsPod("p" + std::to_string(i), "10", "4Gi"), {"n"}));
    ASSERT_EQ(result.passed.size(), 1u);
  }
  std::atomic<int> bound{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kPods; i += 8) {
        const std::string name = "p" + std::to_string(i);
        if (service.bind(BindingArgs{name, "ml", "uid-" + name, "n"}).empty()) {
          bound.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(bound.load(), 10);  // 10 x 4096 MiB = 40960: memory is the binding budget
  const auto snapshot = service.ledger().snapshot();
  EXPECT_EQ(snapshot.nodes[0].gpus[0].reserved, (core::GpuUsage{100, 40960, 10}));
  EXPECT_EQ(binder.bound().size(), 10u);
}

}  // namespace
}  // namespace mpshare::extender
