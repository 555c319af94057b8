// parseExtenderArgs and parseBindingArgs: one simdjson reader for every form
// of the scheduler's bodies. What each form reads, every refusal's words, and
// the Nodes form's NodeList echoed back with only the passing items.

#include "extender/wire.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "platform/json_limits.h"
#include "tests/support/json_mutation.h"
#include "tests/support/read_file.h"

namespace mpshare::extender {
namespace {

using nlohmann::json;

constexpr const char* kPod = R"({"metadata":{"name":"p","namespace":"ns","uid":"u1"}})";

std::string errorOf(std::string_view body) {
  const auto args = parseExtenderArgs(body);
  return args ? "accepted" : args.error().describe();
}

// Each request fixture's body, and the node names it carries: the NodeNames
// list, or the name of each of the NodeList's items.
struct Fixture {
  std::string name;
  json body;
  bool nodes_form = false;
  std::vector<std::string> names;
};

std::vector<Fixture> requestFixtures() {
  std::vector<Fixture> fixtures;
  const auto dir = std::filesystem::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/extender";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto request = entry.path() / "request.json";
    if (!std::filesystem::exists(request)) continue;
    // Each fixture is {"method", "path", "body"}: the request as the scheduler sends it.
    const json fixture = json::parse(testing_support::readFile(request), nullptr, false);
    if (!fixture.is_object() || !fixture.contains("body")) continue;
    const std::string path = fixture.value("path", "");
    if (path != "/scheduler/filter" && path != "/scheduler/prioritize") continue;
    Fixture f;
    f.name = entry.path().filename().string();
    f.body = fixture["body"];
    const json& body = f.body;
    if (!body.is_object() || !body.contains("Pod")) continue;
    if (body.contains("Nodes") && body["Nodes"].is_object()) {
      f.nodes_form = true;
      for (const auto& item : body["Nodes"]["items"]) {
        f.names.push_back(item["metadata"]["name"]);
      }
    } else if (body.contains("NodeNames") && body["NodeNames"].is_array()) {
      f.names = body["NodeNames"].get<std::vector<std::string>>();
    } else {
      continue;
    }
    fixtures.push_back(std::move(f));
  }
  return fixtures;
}

TEST(WireTest, FixturesReadInBothForms) {
  const auto fixtures = requestFixtures();
  int nodes_forms = 0;
  for (const auto& f : fixtures) {
    SCOPED_TRACE(f.name);
    const auto args = parseExtenderArgs(f.body.dump());
    ASSERT_TRUE(args.ok()) << args.error().describe();
    EXPECT_EQ(args->nodes_form, f.nodes_form);
    EXPECT_EQ(args->node_names, f.names);
    EXPECT_EQ(args->pod.key(), f.body["Pod"]["metadata"].value("namespace", "") + "/" +
                                   f.body["Pod"]["metadata"].value("name", ""));
    if (f.nodes_form) {
      ASSERT_EQ(args->nodes.size(), f.names.size());
      for (size_t i = 0; i < args->nodes.size(); ++i) {
        EXPECT_EQ(args->nodes[i].name, f.names[i]);
        EXPECT_EQ(json::parse(args->node_items[i]), f.body["Nodes"]["items"][i]);
      }
      ++nodes_forms;
    }
  }
  EXPECT_GE(fixtures.size(), 5u);
  EXPECT_GE(nodes_forms, 2);
}

TEST(WireTest, RefusalsNameThePathAndWhatIsAllowed) {
  const std::string pod = kPod;
  const struct {
    std::string body;
    std::string error;
  } cases[] = {
      {"", "body: is not valid JSON"},
      {R"({"Pod":)", "body: is not valid JSON"},
      {"[]", "body: must be a JSON object, got array"},
      {"\"x\"", "body: must be a JSON object, got string"},
      {R"({"Nodes":null,"NodeNames":["a"]})",
       "Pod: missing or not an object (a v1.Pod is required)"},
      {R"({"Pod":[],"NodeNames":["a"]})", "Pod: missing or not an object (a v1.Pod is required)"},
      {R"({"Pod":{"metadata":{"name":"p"},"spec":{"containers":{}}},"NodeNames":[]})",
       "Pod.spec.containers: expected an array, got object"},
      {R"({"Pod":{"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"k","operator":"In","values":[1]}]}]}}}}},"NodeNames":[]})",
       "Pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
       ".nodeSelectorTerms[0].matchExpressions[0].values[0]: expected a string, got number"},
      {R"({"Pod":)" + pod + "}", "body: neither Nodes nor NodeNames is set (one must be non-null)"},
      {R"({"Pod":)" + pod + R"(,"Nodes":null,"NodeNames":null})",
       "body: neither Nodes nor NodeNames is set (one must be non-null)"},
      {R"({"Pod":)" + pod + R"(,"NodeNames":"a"})",
       "NodeNames: expected an array of strings or null, got string"},
      {R"({"Pod":)" + pod + R"(,"NodeNames":["a",2]})", "NodeNames[1]: expected a string"},
      {R"({"Pod":)" + pod + R"(,"Nodes":[]})",
       "Nodes: expected a NodeList object or null, got array"},
      {R"({"Pod":)" + pod + R"(,"Nodes":{"items":{}}})", "Nodes.items: expected an array"},
      {R"({"Pod":)" + pod + R"(,"Nodes":{"items":[{"metadata":{"name":"a"}},{"metadata":{}}]}})",
       "Nodes.items[1].metadata.name: is missing"},
      {R"({"Pod":)" + pod + R"(,"Nodes":{"items":[{"metadata":{"name":"a","labels":[]}}]}})",
       "Nodes.items[0].metadata.labels: expected an object, got array"},
      {R"({"Pod":)" + pod + R"(,"NodeNames":[1e400]})",
       "body: number out of range at byte 74: 1e400 (numbers must fit a double, up to about "
       "1.8e308, and integers 64 bits)"},
      {R"({"Pod":)" + pod + R"(,"NodeNames":[],"x":)" + std::string(400, '9') + "}",
       "body: number out of range at byte 80: " + std::string(40, '9') +
           "... (numbers must fit a double, up to about 1.8e308, and integers 64 bits)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(errorOf(c.body), c.error) << c.body;
  }
}

// What fgd-plus holds a pod to: its required node affinity's products.
TEST(WireTest, ReadsThePodsRequiredNodeAffinity) {
  const auto args = parseExtenderArgs(R"({"Pod":{"metadata":{"name":"p"},"spec":{
      "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{
        "nodeSelectorTerms":[{"matchExpressions":[
          {"key":"nvidia.com/gpu.product","operator":"In","values":["T4","V100"]}]}]}}}}},
      "NodeNames":["a"]})");
  ASSERT_TRUE(args.ok()) << args.error().describe();
  const std::vector<core::NodeSelectorTerm> want = {
      {{{"nvidia.com/gpu.product", "In", {"T4", "V100"}}}, {}}};
  EXPECT_EQ(args->pod.required_node_terms, want);
}

// As kube-scheduler (Go) and nlohmann::json read them: a double, not an error.
TEST(WireTest, IntegersBeyond64BitsReadAsDoubles) {
  const auto args = parseExtenderArgs(
      R"({"Pod":)" + std::string(kPod) +
      R"(,"Nodes":{"items":[{"metadata":{"name":"a","labels":{"n":18446744073709551616}}}]}})");
  ASSERT_TRUE(args.ok()) << args.error().describe();
  EXPECT_EQ(std::stod(args->nodes.at(0).labels.at("n")), 18446744073709551616.0);
  EXPECT_EQ(json::parse(args->node_items.at(0))["metadata"]["labels"]["n"], 18446744073709551616.0);
}

TEST(WireTest, NestingPastTheLimitIsRefusedWithWhere) {
  const std::string open = R"({"Pod":)" + std::string(kPod) + R"(,"NodeNames":[],"x":)";
  const auto nested = [&](size_t depth) {
    return open + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  // The body itself is one level: `x` may hold 255 more.
  EXPECT_EQ(errorOf(nested(platform::kMaxJsonDepth - 1)), "accepted");
  EXPECT_EQ(errorOf(nested(platform::kMaxJsonDepth)),
            "body: " + platform::tooDeepMessage(open.size() + platform::kMaxJsonDepth - 1));
}

TEST(WireTest, KeysMatchIgnoringCaseAsGoDoes) {
  const std::string body =
      R"({"pod":{"metadata":{"name":"p","namespace":"ns"}},"nodenames":["a","b"],"nodes":null})";
  const auto args = parseExtenderArgs(body);
  ASSERT_TRUE(args.ok()) << args.error().describe();
  EXPECT_EQ(args->pod.key(), "ns/p");
  EXPECT_FALSE(args->nodes_form);
  EXPECT_EQ(args->node_names, (std::vector<std::string>{"a", "b"}));

  const auto list = parseExtenderArgs(
      R"({"POD":{"metadata":{"name":"p"}},"NODES":{"Items":[{"metadata":{"name":"n"}}]}})");
  ASSERT_TRUE(list.ok()) << list.error().describe();
  EXPECT_TRUE(list->nodes_form);
  EXPECT_EQ(list->node_names, (std::vector<std::string>{"n"}));
}

TEST(WireTest, BodiesPastTheReusedParserSizeReadAlike) {
  const std::string body = R"({"Pod":)" + std::string(kPod) + R"(,"NodeNames":["a","b"]})";
  const std::string padded = body + std::string((1 << 20) + 1, ' ');  // still the same JSON
  const auto small = parseExtenderArgs(body);
  const auto large = parseExtenderArgs(padded);
  ASSERT_TRUE(small.ok() && large.ok());
  EXPECT_EQ(large->node_names, small->node_names);
  EXPECT_EQ(large->pod.key(), small->pod.key());
  EXPECT_EQ(errorOf(R"({"Pod":)" + std::string(1 << 20, ' ') + "[]}"),
            "Pod: missing or not an object (a v1.Pod is required)");
}

// The Nodes form's reply is the request's NodeList, every member but the
// items as sent, and only the passing items, each as sent.
TEST(WireTest, NodesFormEchoesTheListWithOnlyThePassingItems) {
  const json items = json::array({
      {{"metadata", {{"name", "a"}, {"labels", {{"k", "v"}}}}}, {"status", {{"x", 1.5}}}},
      {{"metadata", {{"name", "b"}}}, {"spec", {{"unschedulable", true}}}},
      {{"metadata", {{"name", "c"}, {"uid", "\u00e9\"\n"}}}, {"status", nullptr}},
  });
  const json list{{"apiVersion", "v1"},
                  {"kind", "NodeList"},
                  {"metadata", {{"resourceVersion", "42"}}},
                  {"items", items}};
  const json body{{"Pod", json::parse(kPod)}, {"Nodes", list}, {"NodeNames", nullptr}};
  const auto args = parseExtenderArgs(body.dump(2));  // indented: the reply is compact anyway
  ASSERT_TRUE(args.ok()) << args.error().describe();
  ASSERT_EQ(args->node_names, (std::vector<std::string>{"a", "b", "c"}));

  FilterResult result;
  result.passed = {"a", "c"};
  result.failed["b"] = "b: full";
  const json reply = json::parse(renderFilterResult(result, *args));
  json want_list = list;
  want_list["items"] = json::array({items[0], items[2]});
  EXPECT_EQ(reply["Nodes"], want_list);
  EXPECT_TRUE(reply["NodeNames"].is_null());
  EXPECT_EQ(reply["FailedNodes"], (json{{"b", "b: full"}}));
  EXPECT_EQ(reply["Error"], "");

  result.passed.clear();
  want_list["items"] = json::array();
  EXPECT_EQ(json::parse(renderFilterResult(result, *args))["Nodes"], want_list);

  const auto bare = parseExtenderArgs(R"({"Pod":)" + std::string(kPod) + R"(,"Nodes":{}})");
  ASSERT_TRUE(bare.ok()) << bare.error().describe();
  EXPECT_EQ(json::parse(renderFilterResult({}, *bare))["Nodes"], (json{{"items", json::array()}}));
}

TEST(WireTest, NodeNamesFormRepliesWithThePassingNames) {
  const auto args = parseExtenderArgs(R"({"Pod":)" + std::string(kPod) +
                                      R"(,"Nodes":null,"NodeNames":["a","b","c"]})");
  ASSERT_TRUE(args.ok()) << args.error().describe();
  FilterResult result;
  result.passed = {"c", "a"};
  const json reply = json::parse(renderFilterResult(result, *args));
  EXPECT_EQ(reply["NodeNames"], (json{"c", "a"}));
  EXPECT_TRUE(reply["Nodes"].is_null());
  result.passed.clear();
  EXPECT_EQ(json::parse(renderFilterResult(result, *args))["NodeNames"], json::array());
}

// Mutated fixtures: whatever a body holds, the reader answers (no exception),
// a refusal names where, and an accepted body's names are one per node.
TEST(WireTest, MutatedBodiesAreReadOrRefusedNamingWhere) {
  std::vector<json> bodies;
  for (const auto& f : requestFixtures()) bodies.push_back(f.body);
  ASSERT_FALSE(bodies.empty());
  const std::vector<json> replacements = {nullptr,
                                          0,
                                          2.5,
                                          true,
                                          "",
                                          "gpu-1",
                                          json::array(),
                                          json::object(),
                                          json::array({"a", "b"}),
                                          json::array({1}),
                                          json::object({{"items", json::array()}})};
  std::mt19937 rng(20261125);
  int errors = 0;
  for (int i = 0; i < 2000; ++i) {
    json body = bodies[rng() % bodies.size()];
    testing_support::mutateTree(body, rng, replacements);
    const std::string text = body.dump();
    const auto args = parseExtenderArgs(text);
    if (!args) {
      ++errors;
      ASSERT_FALSE(args.error().field.empty()) << args.error().describe() << ": " << text;
      continue;
    }
    if (args->nodes_form) {
      ASSERT_EQ(args->nodes.size(), args->node_names.size()) << text;
      ASSERT_EQ(args->node_items.size(), args->node_names.size()) << text;
    } else {
      ASSERT_TRUE(args->nodes.empty()) << text;
    }
  }
  EXPECT_GT(errors, 200);
  EXPECT_LT(errors, 1800);
}

TEST(WireTest, BindingArgsReadAndRefuseWithThePath) {
  const auto args = parseBindingArgs(
      R"({"podname":"p","PodNamespace":"ns","PodUID":"u","Node":"gpu-a","Extra":[1]})");
  ASSERT_TRUE(args.ok()) << args.error().describe();
  EXPECT_EQ(args->pod_name, "p");
  EXPECT_EQ(args->pod_namespace, "ns");
  EXPECT_EQ(args->pod_uid, "u");
  EXPECT_EQ(args->node, "gpu-a");
  const auto no_uid = parseBindingArgs(R"({"PodName":"p","PodNamespace":"ns","Node":"n"})");
  ASSERT_TRUE(no_uid.ok());
  EXPECT_EQ(no_uid->pod_uid, "");

  const struct {
    const char* body;
    const char* error;
  } cases[] = {
      {"{", "body: is not valid JSON"},
      {"[]", "body: must be a JSON object, got array"},
      {R"({"PodName":1})", "PodName: expected a string, got number"},
      {R"({"PodNamespace":"ns","Node":"n"})", "PodName: missing"},
      {R"({"PodName":"p","PodNamespace":null,"Node":"n"})", "PodNamespace: missing"},
      {R"({"PodName":"p","PodNamespace":"ns","PodUID":{},"Node":"n"})",
       "PodUID: expected a string, got object"},
      {R"({"PodName":"","PodNamespace":"ns","Node":"n"})", "PodName: must not be empty"},
      {R"({"PodName":"p","PodNamespace":"ns","Node":""})", "Node: must not be empty"},
      {R"({"PodName":"p","PodNamespace":"ns","Node":"n","x":1e999})",
       "body: number out of range at byte 50: 1e999 (numbers must fit a double, up to about "
       "1.8e308, and integers 64 bits)"},
  };
  for (const auto& c : cases) {
    const auto refused = parseBindingArgs(c.body);
    ASSERT_FALSE(refused.ok()) << c.body;
    EXPECT_EQ(refused.error().describe(), c.error) << c.body;
  }
}

}  // namespace
}  // namespace mpshare::extender
