// podFromJson (nlohmann::json) and podFromSimdjson (simdjson's DOM) are one
// reader instantiated over two JSON libraries; the extender uses the first,
// the webhook the second. They must agree on every input: the same PodView,
// or the same error. Checked on every pod fixture and on thousands of seeded
// mutations of them that put values of every JSON type in every place.

#include "platform/kube_json.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/json_mutation.h"
#include "tests/support/pod_text.h"
#include "tests/support/read_file.h"

namespace mpshare::platform {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string bothReaders(const json& pod) {
  const std::string text = pod.dump();
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(text).get(element) != simdjson::SUCCESS) return "simdjson refused " + text;
  const std::string from_nlohmann = testing_support::podText(podFromJson(pod));
  const std::string from_simdjson = testing_support::podText(podFromSimdjson(element));
  if (from_nlohmann != from_simdjson) {
    return "readers differ on " + text + "\nnlohmann: " + from_nlohmann +
           "\nsimdjson: " + from_simdjson;
  }
  return "";
}

// A pod allowed on two GPU products by required node affinity, beside a
// preferred term the readers skip.
constexpr const char* kAffinityPod = R"({"metadata":{"name":"p","namespace":"ns"},
  "spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}],
    "affinity":{"nodeAffinity":{
      "requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[
        {"matchExpressions":[{"key":"nvidia.com/gpu.product","operator":"In",
                              "values":["Tesla-T4","Tesla-V100-SXM2-16GB"]},
                             {"key":"kubernetes.io/arch","operator":"Exists"}]},
        {"matchFields":[{"key":"metadata.name","operator":"In","values":["node-7"]}]}]},
      "preferredDuringSchedulingIgnoredDuringExecution":[{"weight":1,"preference":{
        "matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]}}]}}}})";

std::vector<json> podCorpus() {
  std::vector<json> pods;
  const fs::path fixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures";
  for (const auto& entry : fs::recursive_directory_iterator(fixtures / "admission")) {
    if (entry.path().filename() != "request.json") continue;
    const json review = json::parse(testing_support::readFile(entry.path()));
    const json& object = review["request"]["object"];
    if (object.is_object()) pods.push_back(object);
  }
  pods.push_back(json::parse(testing_support::readFile(fixtures / "kube/pod.json")));
  pods.push_back(json::parse(kAffinityPod));
  return pods;
}

// Values of every JSON type, and numbers where quantities are strings.
const std::vector<json> kReplacements = {nullptr,
                                         0,
                                         -7,
                                         1,
                                         2.5,
                                         1e3,
                                         18446744073709551615ULL,
                                         true,
                                         "",
                                         "x",
                                         "Always",
                                         "Running",
                                         json::array(),
                                         json::object(),
                                         json::array({json::object()}),
                                         json::object({{"a", "b"}}),
                                         json::object({{"a", 1}})};

TEST(KubeJsonTest, FixturesReadTheSameThroughBothLibraries) {
  const auto pods = podCorpus();
  ASSERT_GE(pods.size(), 15u);
  for (const auto& pod : pods) {
    EXPECT_EQ(bothReaders(pod), "");
    EXPECT_TRUE(podFromJson(pod).ok()) << pod.dump();
  }
}

TEST(KubeJsonTest, MutatedPodsReadTheSameThroughBothLibraries) {
  const auto pods = podCorpus();
  std::mt19937 rng(20261125);
  int errors = 0;
  for (int i = 0; i < 6000; ++i) {
    json pod = pods[rng() % pods.size()];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
      testing_support::mutateTree(pod, rng, kReplacements);
    ASSERT_EQ(bothReaders(pod), "") << "iteration " << i;
    errors += podFromJson(pod).ok() ? 0 : 1;
  }
  // Both outcomes must be common, or the comparison above proves little.
  EXPECT_GT(errors, 600);
  EXPECT_LT(errors, 5400);
}

TEST(KubeJsonTest, QuantitiesSentAsNumbersReadAsNumberText) {
  const json pod = json::parse(R"({"spec":{"containers":[{"name":"c","resources":{
      "limits":{"a":1,"b":1.5,"c":2.0,"d":-3,"e":1e3}}}]}})");
  EXPECT_EQ(bothReaders(pod), "");
  const auto view = podFromJson(pod);
  ASSERT_TRUE(view.ok());
  const auto& limits = view->containers.at(0).limits;
  EXPECT_EQ(limits.at("a"), "1");
  EXPECT_EQ(limits.at("b"), "1.5");
  EXPECT_EQ(limits.at("c"), "2.0");
  EXPECT_EQ(limits.at("d"), "-3");
  EXPECT_EQ(limits.at("e"), "1000.0");
}

TEST(KubeJsonTest, ReadsTheNodeSelectorAndNamesAWrongOne) {
  const json pod = json::parse(R"({"spec":{"nodeSelector":{"nvidia.com/gpu.product":"Tesla-T4"},
      "containers":[{"name":"c"}]}})");
  EXPECT_EQ(bothReaders(pod), "");
  const auto view = podFromJson(pod);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->node_selector,
            (std::map<std::string, std::string>{{"nvidia.com/gpu.product", "Tesla-T4"}}));
  const auto wrong = podFromJson(json::parse(R"({"spec":{"nodeSelector":["Tesla-T4"]}})"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().describe().find("spec.nodeSelector"), std::string::npos)
      << wrong.error().describe();
}

TEST(KubeJsonTest, ReadsRequiredNodeAffinityTerms) {
  const json pod = json::parse(kAffinityPod);
  EXPECT_EQ(bothReaders(pod), "");
  const auto view = podFromJson(pod);
  ASSERT_TRUE(view.ok()) << view.error().describe();
  const std::vector<core::NodeSelectorTerm> want = {
      {{{"nvidia.com/gpu.product", "In", {"Tesla-T4", "Tesla-V100-SXM2-16GB"}},
        {"kubernetes.io/arch", "Exists", {}}},
       {}},
      {{}, {{"metadata.name", "In", {"node-7"}}}},
  };
  EXPECT_EQ(view->required_node_terms, want);

  // Null or absent at any level: no required affinity.
  for (const char* text :
       {R"({"spec":{"affinity":null}})", R"({"spec":{"affinity":{"podAffinity":{}}}})",
        R"({"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":
            null}}}})",
        R"({"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":
            {"nodeSelectorTerms":[]}}}}})"}) {
    const auto none = podFromJson(json::parse(text));
    ASSERT_TRUE(none.ok()) << text;
    EXPECT_TRUE(none->required_node_terms.empty()) << text;
  }
}

TEST(KubeJsonTest, NodeAffinityErrorsNameThePath) {
  const std::string required =
      R"({"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":)";
  const std::string terms = required + R"({"nodeSelectorTerms":)";
  const std::string at =
      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"spec":{"affinity":[]}})", "spec.affinity: expected an object, got array"},
      {R"({"spec":{"affinity":{"nodeAffinity":"x"}}})",
       "spec.affinity.nodeAffinity: expected an object, got string"},
      {required + "[]}}}}", at + ": expected an object, got array"},
      {terms + "{}}}}}}", at + ".nodeSelectorTerms: expected an array, got object"},
      {terms + "[{},3]}}}}}", at + ".nodeSelectorTerms[1]: expected an object, got number"},
      {terms + R"([{"matchExpressions":{}}]}}}}})",
       at + ".nodeSelectorTerms[0].matchExpressions: expected an array, got object"},
      {terms + R"([{"matchFields":[[]]}]}}}}})",
       at + ".nodeSelectorTerms[0].matchFields[0]: expected an object, got array"},
      {terms + R"([{"matchExpressions":[{"key":1}]}]}}}}})",
       at + ".nodeSelectorTerms[0].matchExpressions[0].key: expected a string, got number"},
      {terms + R"([{"matchExpressions":[{"key":"k","operator":true}]}]}}}}})",
       at + ".nodeSelectorTerms[0].matchExpressions[0].operator: expected a string, got boolean"},
      {terms + R"([{"matchExpressions":[{"key":"k","operator":"In","values":"T4"}]}]}}}}})",
       at + ".nodeSelectorTerms[0].matchExpressions[0].values: expected an array of strings, "
            "got string"},
      {terms + R"([{},{"matchExpressions":[{"key":"k","operator":"Gt","values":["1",2]}]}]}}}}})",
       at + ".nodeSelectorTerms[1].matchExpressions[0].values[1]: expected a string, got number"},
  };
  for (const auto& [text, want] : cases) {
    const json pod = json::parse(text);
    EXPECT_EQ(bothReaders(pod), "") << text;
    const auto read = podFromJson(pod);
    ASSERT_FALSE(read.ok()) << text;
    EXPECT_EQ(read.error().describe(), want) << text;
  }
}

core::Result<PodWithVolumes> withVolumes(const std::string& text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(text).get(element) != simdjson::SUCCESS) {
    return core::invalidArgument("test", "simdjson refused " + text);
  }
  return podWithVolumesFromSimdjson(element);
}

// The webhook's reader is the same walk: on every fixture and mutation it sees
// the pod podFromSimdjson sees, or fails where that fails.
TEST(KubeJsonTest, ReadingVolumesChangesNothingElse) {
  const auto pods = podCorpus();
  std::mt19937 rng(20261201);
  for (int i = 0; i < 2000; ++i) {
    json pod = pods[rng() % pods.size()];
    if (i >= static_cast<int>(pods.size())) testing_support::mutateTree(pod, rng, kReplacements);
    const std::string text = pod.dump();
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    ASSERT_EQ(parser.parse(text).get(element), simdjson::SUCCESS);
    const auto plain = podFromSimdjson(element);
    const auto with = podWithVolumesFromSimdjson(element);
    if (plain) {
      // Only the volume fields can make it fail where the plain reader does not.
      if (!with) {
        const std::string& field = with.error().field;
        EXPECT_TRUE(field.find("volume") != std::string::npos || field == "spec.hostIPC")
            << with.error().describe() << " on " << text;
      } else {
        EXPECT_EQ(testing_support::podText(with->pod), testing_support::podText(plain)) << text;
      }
    } else {
      ASSERT_FALSE(with.ok()) << text;
    }
  }
}

TEST(KubeJsonTest, ReadsVolumesHostIpcAndEachContainersMounts) {
  const auto read = withVolumes(R"({"spec":{"hostIPC":true,
      "volumes":[{"name":"pipe","hostPath":{"path":"/run/mps"}},{"name":"cfg","configMap":{}}],
      "containers":[{"name":"a","volumeMounts":[{"name":"cfg","mountPath":"/etc/cfg"}]},
                    {"name":"b"}],
      "initContainers":[{"name":"i","volumeMounts":[]}]}})");
  ASSERT_TRUE(read.ok()) << read.error().describe();
  const core::PodVolumes& v = read->volumes;
  EXPECT_TRUE(v.host_ipc);
  EXPECT_TRUE(v.has_volumes);
  EXPECT_EQ(v.host_paths, (std::map<std::string, std::string>{{"cfg", ""}, {"pipe", "/run/mps"}}));
  ASSERT_EQ(v.containers.size(), 2u);  // b has no volumeMounts
  const core::ContainerMounts& a = v.containers.at({false, 0});
  EXPECT_TRUE(a.has_volume_mounts);
  ASSERT_EQ(a.mounts.size(), 1u);
  EXPECT_EQ(a.mounts[0].name, "cfg");
  EXPECT_EQ(a.mounts[0].mount_path, "/etc/cfg");
  const core::ContainerMounts& i = v.containers.at({true, 0});
  EXPECT_TRUE(i.has_volume_mounts);
  EXPECT_TRUE(i.mounts.empty());
  EXPECT_EQ(read->pod.containers.size(), 3u);

  const auto bare = withVolumes(R"({"spec":{"containers":[{"name":"a"}]}})");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->volumes.has_volumes);
  EXPECT_FALSE(bare->volumes.host_ipc);
  EXPECT_TRUE(bare->volumes.containers.empty());
}

TEST(KubeJsonTest, VolumeErrorsNameThePath) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"spec":{"volumes":{}}})", "spec.volumes: expected an array, got object"},
      {R"({"spec":{"volumes":[7]}})", "spec.volumes[0]: expected an object, got number"},
      {R"({"spec":{"volumes":[{"name":"a"},{}]}})", "spec.volumes[1].name: is missing"},
      {R"({"spec":{"volumes":[{"name":3}]}})",
       "spec.volumes[0].name: expected a string, got number"},
      {R"({"spec":{"volumes":[{"name":"a","hostPath":"/x"}]}})",
       "spec.volumes[0].hostPath: expected an object, got string"},
      {R"({"spec":{"hostIPC":"yes"}})", "spec.hostIPC: expected a boolean, got string"},
      {R"({"spec":{"containers":[{"name":"a","volumeMounts":{}}]}})",
       "spec.containers[0].volumeMounts: expected an array, got object"},
      {R"({"spec":{"initContainers":[{"name":"a","volumeMounts":[{},1]}]}})",
       "spec.initContainers[0].volumeMounts[1]: expected an object, got number"},
      {R"({"spec":{"containers":[{"name":"a","volumeMounts":[{"mountPath":false}]}]}})",
       "spec.containers[0].volumeMounts[0].mountPath: expected a string, got boolean"},
  };
  for (const auto& [text, want] : cases) {
    const auto read = withVolumes(text);
    ASSERT_FALSE(read.ok()) << text;
    EXPECT_EQ(read.error().describe(), want) << text;
  }
}

}  // namespace
}  // namespace mpshare::platform
