// The extender with `policy: fgd-plus`: pods that may run on any GPU leave a
// scarce GPU model to the pods bound to it (by their node selector), where fgd
// scores it as well as any other.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "extender/service.h"
#include "extender/standalone.h"

namespace mpshare::extender {
namespace {

constexpr const char* kScarce = "Tesla-T4";
constexpr const char* kCommon = "Tesla-V100-SXM2-16GB";

core::NodeView gpuNode(const std::string& name, const std::string& product) {
  core::NodeView node;
  node.name = name;
  node.labels = {{"mpshare.io/mps", "enabled"},
                 {"nvidia.com/gpu.count", "2"},
                 {"nvidia.com/gpu.memory", "16384"},
                 {"nvidia.com/gpu.replicas", "8"},
                 {"nvidia.com/gpu.product", product}};
  return node;
}

// A pod asking for one whole GPU; `product` non-empty binds it to that model.
core::PodView wholeGpuPod(const std::string& name, const std::string& product = "") {
  core::PodView pod;
  pod.name = name;
  pod.namespace_name = "ml";
  pod.uid = "uid-" + name;
  if (!product.empty()) {
    pod.node_selector = {{"nvidia.com/gpu.product", product}};
  }
  core::ContainerView container;
  container.name = "main";
  container.limits = {{"nvidia.com/gpu", "1"}};
  pod.containers.push_back(container);
  return pod;
}

// One node of the scarce model and four of the common one, two GPUs each: T4
// is 20 % of the GPUs.
std::vector<std::string> buildCluster(ExtenderService& service) {
  std::vector<std::string> names{"t4"};
  service.upsertNode(gpuNode("t4", kScarce));
  for (int i = 0; i < 4; ++i) {
    names.push_back("v" + std::to_string(i));
    service.upsertNode(gpuNode(names.back(), kCommon));
  }
  return names;
}

// Schedules `pod` as kube-scheduler does: filter, prioritize the passing nodes,
// bind to the best (the extender gives one node 10). Returns the node, or "".
std::string schedule(ExtenderService& service, const core::PodView& pod,
                     const std::vector<std::string>& candidates) {
  ExtenderArgs args;
  args.pod = pod;
  args.node_names = candidates;
  args.node_names = service.filter(args).passed;
  if (args.node_names.empty()) {
    return "";
  }
  const std::vector<HostScore> scores = service.prioritize(args);
  const auto best =
      std::max_element(scores.begin(), scores.end(), [](const auto& a, const auto& b) {
        return a.score < b.score;  // max_element keeps the first of equals
      });
  const std::string error =
      service.bind(BindingArgs{pod.name, pod.namespace_name, pod.uid, best->host});
  return error.empty() ? best->host : "";
}

// Typical pods: three whole-GPU pods anywhere for each one bound to T4, so T4
// holds 20 % of the GPUs and a quarter of the ask is bound to it. fgd keeps no
// products (the extender records them only for fgd-plus): to it they are four
// whole-GPU pods.
ExtenderConfig configWith(const std::string& policy) {
  ExtenderConfig config;
  config.policy = policy;
  config.pod_seed = {{{1, 1000, 0}, 3}, {{1, 1000, 0, {kScarce}}, 1}};
  if (policy == "fgd") {
    config.pod_seed = {{{1, 1000, 0}, 4}};
  }
  return config;
}

std::map<std::string, int> scoresOf(const std::vector<HostScore>& scores) {
  std::map<std::string, int> out;
  for (const HostScore& s : scores) out[s.host] = s.score;
  return out;
}

TEST(FgdPlusServiceTest, FgdTiesTheScarceModelWithTheRestFgdPlusRanksItLast) {
  // A whole GPU taken from an empty node leaves no fragment, so fgd scores T4
  // as well as V100 (9 or 10, the best): it would give T4 away as soon as the
  // name order says so.
  for (const std::string policy : {"fgd", "fgd-plus"}) {
    SCOPED_TRACE(policy);
    MemoryPodLookup pods;
    MemoryBinder binder;
    ExtenderService service(configWith(policy), pods, binder);
    ExtenderArgs args;
    args.pod = wholeGpuPod("any");
    args.node_names = buildCluster(service);
    const auto scores = scoresOf(service.prioritize(args));
    if (policy == "fgd") {
      EXPECT_GE(scores.at("t4"), 9);
    } else {
      EXPECT_EQ(scores.at("t4"), 0);
      EXPECT_GE(scores.at("v0"), 9);
    }
  }
}

TEST(FgdPlusServiceTest, PodsThatRunAnywhereLeaveTheScarceModelToThePodsBoundToIt) {
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(configWith("fgd-plus"), pods, binder);
  const std::vector<std::string> nodes = buildCluster(service);
  std::map<std::string, int> placed;
  for (int i = 0; i < 8; ++i) {
    ++placed[schedule(service, wholeGpuPod("any-" + std::to_string(i)), nodes)];
  }
  EXPECT_EQ(placed, (std::map<std::string, int>{{"v0", 2}, {"v1", 2}, {"v2", 2}, {"v3", 2}}));
  // The scheduler offers a T4-bound pod the T4 nodes only (its node selector).
  EXPECT_EQ(schedule(service, wholeGpuPod("t4-0", kScarce), {"t4"}), "t4");
  EXPECT_EQ(schedule(service, wholeGpuPod("t4-1", kScarce), {"t4"}), "t4");
}

TEST(FgdPlusServiceTest, LearnsWhichPodsAreBoundToAModelFromTheirNodeSelectors) {
  ExtenderConfig config;
  config.policy = "fgd-plus";
  config.pod_window.min_pods = 4;
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(config, pods, binder);
  const std::vector<std::string> nodes = buildCluster(service);
  for (int i = 0; i < 3; ++i) {
    ExtenderArgs args;
    args.pod = wholeGpuPod("any-" + std::to_string(i));
    args.node_names = nodes;
    (void)service.filter(args);
  }
  // Before the T4-bound pod is learned there is no pressure: T4 ties and wins.
  ExtenderArgs probe;
  probe.pod = wholeGpuPod("probe");
  probe.node_names = nodes;
  auto scores = scoresOf(service.prioritize(probe));
  EXPECT_GE(scores.at("t4"), 9);

  ExtenderArgs bound;
  bound.pod = wholeGpuPod("t4-0", kScarce);
  bound.node_names = {"t4"};
  (void)service.filter(bound);
  const auto view = service.podDistribution();
  ASSERT_EQ(view->source, core::DistributionSource::kLearned);
  const std::vector<core::ShapeCount> want{{{1, 1000, 0}, 3}, {{1, 1000, 0, {kScarce}}, 1}};
  EXPECT_EQ(view->shapes, want);
  scores = scoresOf(service.prioritize(probe));
  EXPECT_EQ(scores.at("t4"), 0) << "T4 now costs its pressure";
  EXPECT_GE(scores.at("v0"), 9);
}

TEST(FgdPlusServiceTest, RebuildsThePolicyOnlyWhenTheGpusPerModelChange) {
  // Pressure is worked out when the policy is built; a new policy also empties
  // the score memo (tests/core/score_memo_test.cc checks the scores).
  MemoryPodLookup pods;
  MemoryBinder binder;
  ExtenderService service(configWith("fgd-plus"), pods, binder);
  ExtenderArgs probe;
  probe.pod = wholeGpuPod("probe");
  probe.node_names = buildCluster(service);
  (void)service.prioritize(probe);
  const auto built = service.policy();
  EXPECT_EQ(built->name(), "fgd-plus");
  // A reservation changes no GPU count: the same policy.
  ASSERT_EQ(schedule(service, wholeGpuPod("any"), probe.node_names).empty(), false);
  (void)service.prioritize(probe);
  EXPECT_EQ(service.policy(), built);
  // A node relabelled to the scarce model moves the pressure: a new policy.
  service.upsertNode(gpuNode("v3", kScarce));
  const auto scores = scoresOf(service.prioritize(probe));
  EXPECT_NE(service.policy(), built);
  EXPECT_EQ(scores.at("v3"), scores.at("t4")) << "both T4 now, both empty";
}

}  // namespace
}  // namespace mpshare::extender
