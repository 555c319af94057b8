// The live inputs of fgd-plus: the products a pod is bound to, the cluster's
// GPUs per product, the learned shapes keeping their products, and the
// registry building the policy from them.
#include "core/gpu_models.h"

#include <gtest/gtest.h>

#include "core/fgd_plus_policy.h"
#include "core/pod_distribution.h"
#include "core/policy_registry.h"

namespace mpshare::core {
namespace {

TEST(GpuModelsTest, ProductsOfAPodComeFromItsNodeSelectorOnTheProductLabel) {
  const struct {
    const char* name;
    std::map<std::string, std::string> selector;
    std::vector<std::string> want;
  } cases[] = {
      {"no selector", {}, {}},
      {"other labels only", {{"kubernetes.io/arch", "amd64"}}, {}},
      {"GFD's label", {{"nvidia.com/gpu.product", "Tesla-T4"}}, {"Tesla-T4"}},
      {"mpshare-node's label", {{"mpshare.io/gpu.product", "Tesla-T4"}}, {"Tesla-T4"}},
      // The inventory reads mpshare.io's label first, so it names the node's product.
      {"both",
       {{"mpshare.io/gpu.product", "NVIDIA-A100"},
        {"nvidia.com/gpu.product", "NVIDIA-A100-SHARED"}},
       {"NVIDIA-A100"}},
  };
  for (const auto& c : cases) {
    PodView pod;
    pod.node_selector = c.selector;
    EXPECT_EQ(gpuProductsOf(pod), c.want) << c.name;
  }
}

NodeSelectorRequirement in(const std::string& key, std::vector<std::string> values) {
  return {key, "In", std::move(values)};
}

// A term of label expressions (matchExpressions) only.
NodeSelectorTerm term(std::vector<NodeSelectorRequirement> expressions) {
  return {std::move(expressions), {}};
}

TEST(GpuModelsTest, ProductsOfAPodMeetBothItsNodeSelectorAndItsRequiredNodeAffinity) {
  const std::string gfd = "nvidia.com/gpu.product";
  const std::string agent = "mpshare.io/gpu.product";
  const NodeSelectorRequirement arch = in("kubernetes.io/arch", {"amd64"});
  const NodeSelectorTerm t4 = term({in(gfd, {"T4"})});
  const NodeSelectorTerm fields_only{{}, {in("metadata.name", {"n1"})}};
  const struct {
    const char* name;
    std::map<std::string, std::string> selector;
    std::vector<NodeSelectorTerm> terms;
    std::vector<std::string> want;
  } cases[] = {
      {"selector only", {{gfd, "T4"}}, {}, {"T4"}},
      {"In one value", {}, {t4}, {"T4"}},
      {"In several values, sorted, unique",
       {},
       {term({in(gfd, {"V100", "T4", "V100"})})},
       {"T4", "V100"}},
      {"two terms ORed", {}, {t4, term({in(gfd, {"A10", "T4"})})}, {"A10", "T4"}},
      {"In beside another label's expression", {}, {term({arch, in(gfd, {"T4"})})}, {"T4"}},
      {"a term without the product label: any", {}, {t4, term({arch})}, {}},
      {"a term of matchFields only: any", {}, {t4, fields_only}, {}},
      {"an empty term matches no node", {}, {t4, NodeSelectorTerm{}}, {"T4"}},
      {"selector meets affinity", {{gfd, "T4"}}, {term({in(gfd, {"T4", "V100"})})}, {"T4"}},
      {"selector meets a term without the product label", {{gfd, "T4"}}, {term({arch})}, {"T4"}},
      {"disjoint: fits nowhere, counts as any", {{gfd, "T4"}}, {term({in(gfd, {"V100"})})}, {}},
      {"NotIn: any", {}, {term({{gfd, "NotIn", {"T4"}}})}, {}},
      {"Exists: any", {}, {term({{gfd, "Exists", {}}})}, {}},
      {"NotIn beside In: the In's values",
       {},
       {term({{gfd, "NotIn", {"T4"}}, in(gfd, {"A10", "T4"})})},
       {"A10", "T4"}},
      {"two Ins in one term ANDed",
       {},
       {term({in(gfd, {"A10", "T4"}), in(gfd, {"T4", "V100"})})},
       {"T4"}},
      {"mpshare.io's label before GFD's in a term",
       {},
       {term({in(gfd, {"NVIDIA-A100-SHARED"}), in(agent, {"NVIDIA-A100"})})},
       {"NVIDIA-A100"}},
      {"GFD's label where the term has no In on mpshare.io's",
       {},
       {term({{agent, "Exists", {}}, in(gfd, {"T4"})})},
       {"T4"}},
  };
  for (const auto& c : cases) {
    PodView pod;
    pod.node_selector = c.selector;
    pod.required_node_terms = c.terms;
    EXPECT_EQ(gpuProductsOf(pod), c.want) << c.name;
  }
}

TEST(GpuModelsTest, GpusByModelCountsEveryNodesGpusUnderItsProduct) {
  LedgerState state;
  const GpuCapacity gpu{0, 100, 16384, 4};
  (void)state.upsertNode({"a", "V100", {gpu, gpu, gpu, gpu}});
  (void)state.upsertNode({"b", "V100", {gpu, gpu}});
  (void)state.upsertNode({"c", "T4", {gpu}});
  (void)state.upsertNode({"d", "", {gpu, gpu}});
  EXPECT_EQ(gpusByModel(state), (std::map<std::string, int>{{"", 2}, {"T4", 1}, {"V100", 6}}));
  EXPECT_TRUE(gpusByModel(LedgerState{}).empty());
}

TEST(GpuModelsTest, LearnedShapesKeepTheirProductsApartAndPassThemToThePodTypes) {
  DistributionWindow window;
  window.min_pods = 3;
  PodDistribution distribution(window, {});
  const auto now = PodDistribution::Clock::now();
  const PodShape anywhere{1, 1000, 0};
  const PodShape on_t4{1, 1000, 0, {"T4"}};
  (void)distribution.observe("a", anywhere, now);
  (void)distribution.observe("b", anywhere, now);
  (void)distribution.observe("c", on_t4, now);
  const DistributionView view = distribution.view();
  ASSERT_EQ(view.shapes, (std::vector<ShapeCount>{{anywhere, 2}, {on_t4, 1}}));
  EXPECT_EQ(describeShape(on_t4), "1 x whole GPU on T4");
  EXPECT_EQ(describeShape(PodShape{1, 300, 8192, {"A100", "H100"}}),
            "1 x 300 milli / 8192 MiB on A100, H100");
  const std::vector<PodType> types = view.podTypes();
  ASSERT_EQ(types.size(), 2u);
  EXPECT_TRUE(types[0].products.empty());
  EXPECT_EQ(types[1].products, (std::vector<std::string>{"T4"}));
}

TEST(GpuModelsTest, RegistryBuildsFgdPlusFromTheLiveInputs) {
  const PolicyEntry* entry = findLivePolicy("fgd-plus");
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->uses_pod_types);
  EXPECT_TRUE(entry->uses_gpu_models);
  EXPECT_FALSE(findLivePolicy("fgd")->uses_gpu_models);
  // The default: fgd-plus on the same inputs, planning the queue besides.
  EXPECT_EQ(defaultPolicyName(), "fgd-plus-batch");
  const PolicyEntry* batch = findLivePolicy("fgd-plus-batch");
  ASSERT_NE(batch, nullptr);
  EXPECT_TRUE(batch->uses_pod_types);
  EXPECT_TRUE(batch->uses_gpu_models);
  EXPECT_TRUE(batch->plans_pending);
  EXPECT_FALSE(entry->plans_pending);

  PodType any;
  any.weight = 1;
  PodType on_t4;
  on_t4.products = {"T4"};
  on_t4.weight = 1;
  PolicyInputs inputs;
  inputs.pod_types = {any, on_t4};
  inputs.gpus_by_model = {{"T4", 2}, {"V100", 8}};
  auto live = makePolicy("fgd-plus", inputs);
  ASSERT_TRUE(live.ok());
  EXPECT_EQ((*live)->name(), "fgd-plus");
  EXPECT_EQ((*live)->scoreScale(), ScoreScale::kRanked);
  // The same scores as the simulator's fgd-plus on the same inputs.
  const auto simulated = makeFgdPlusPolicy(inputs.pod_types, inputs.gpus_by_model, {});
  LedgerState state;
  const GpuCapacity gpu{0, 100, 16384, 4};
  const GpuCapacity gpu1{1, 100, 16384, 4};
  (void)state.upsertNode({"t", "T4", {gpu, gpu1}});
  (void)state.upsertNode({"v", "V100", {gpu, gpu1}});
  Demand whole;
  for (const char* node : {"t", "v"}) {
    EXPECT_EQ((*live)->choose(*state.node(node), whole).score,
              simulated->choose(*state.node(node), whole).score)
        << node;
  }
  EXPECT_LT((*live)->choose(*state.node("t"), whole).score,
            (*live)->choose(*state.node("v"), whole).score);
}

}  // namespace
}  // namespace mpshare::core
