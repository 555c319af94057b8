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
#include <sstream>

#include "tests/support/json_mutation.h"
#include "tests/support/read_file.h"

namespace mpshare::platform {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Everything a reader fills in, as one comparable string.
std::string describe(const core::Result<core::PodView>& result) {
  if (!result) return "error " + result.error().describe();
  const core::PodView& pod = *result;
  std::ostringstream out;
  out << pod.name << '|' << pod.namespace_name << '|' << pod.uid << '|' << pod.node_name << '|'
      << pod.scheduler_name << '|' << static_cast<int>(pod.phase) << '|' << pod.deleting << '|'
      << pod.has_annotations;
  const auto map = [&out](const std::map<std::string, std::string>& m) {
    out << '{';
    for (const auto& [k, v] : m) out << k << '=' << v << ';';
    out << '}';
  };
  map(pod.annotations);
  map(pod.labels);
  for (const auto& c : pod.containers) {
    out << "\n" << c.name << '|' << static_cast<int>(c.kind) << '|' << c.index << '|' << c.has_env;
    map(c.limits);
    map(c.requests);
    for (const auto& e : c.env) out << e.name << '=' << (e.value ? *e.value : "<from>") << ';';
  }
  return out.str();
}

std::string bothReaders(const json& pod) {
  const std::string text = pod.dump();
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(text).get(element) != simdjson::SUCCESS) return "simdjson refused " + text;
  const std::string from_nlohmann = describe(podFromJson(pod));
  const std::string from_simdjson = describe(podFromSimdjson(element));
  if (from_nlohmann != from_simdjson) {
    return "readers differ on " + text + "\nnlohmann: " + from_nlohmann +
           "\nsimdjson: " + from_simdjson;
  }
  return "";
}

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

}  // namespace
}  // namespace mpshare::platform
