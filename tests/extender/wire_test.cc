// parseExtenderArgs reads the NodeNames form with simdjson and everything
// else with nlohmann::json (parseExtenderArgsGeneral). The two are compared
// on the same input: the fixtures, and thousands of seeded mutations of
// them, must give the same arguments or the same error.

#include "extender/wire.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "tests/support/json_mutation.h"
#include "tests/support/read_file.h"

namespace mpshare::extender {
namespace {

using nlohmann::json;

std::string describe(const core::Result<ExtenderArgs>& result) {
  if (!result) return "error " + result.error().describe();
  const ExtenderArgs& args = *result;
  std::ostringstream out;
  out << args.nodes_form << '|' << args.pod.key() << '|' << args.pod.uid << '|'
      << args.pod.scheduler_name << '|';
  for (const auto& [k, v] : args.pod.annotations) out << k << '=' << v << ';';
  for (const auto& c : args.pod.containers) {
    out << '\n' << c.name << '|' << static_cast<int>(c.kind);
    for (const auto& [k, v] : c.limits) out << k << '=' << v << ';';
    for (const auto& [k, v] : c.requests) out << k << '=' << v << ';';
  }
  out << "\nnodes:";
  for (const auto& name : args.node_names) out << name << ',';
  return out.str();
}

std::string generalPath(const std::string& body) {
  return describe(parseExtenderArgsGeneral(body));
}

std::vector<json> nodeNamesCorpus() {
  std::vector<json> bodies;
  const auto dir = std::filesystem::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/extender";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto request = entry.path() / "request.json";
    if (!std::filesystem::exists(request)) continue;
    // Each fixture is {"method", "path", "body"}: the request as the scheduler sends it.
    const json fixture = json::parse(testing_support::readFile(request), nullptr, false);
    if (!fixture.is_object() || !fixture.contains("body")) continue;
    const json& body = fixture["body"];
    if (body.is_object() && body.contains("NodeNames") && !body["NodeNames"].is_null()) {
      bodies.push_back(body);
    }
  }
  return bodies;
}

TEST(WireTest, FixturesParseTheSameOnBothPaths) {
  const auto bodies = nodeNamesCorpus();
  ASSERT_GE(bodies.size(), 3u);
  for (const auto& body : bodies) {
    const std::string text = body.dump();
    EXPECT_EQ(describe(parseExtenderArgs(text)), generalPath(text)) << text;
  }
}

TEST(WireTest, MutatedBodiesParseTheSameOnBothPaths) {
  const auto bodies = nodeNamesCorpus();
  const std::vector<json> replacements = {nullptr,
                                          0,
                                          2.5,
                                          true,
                                          "",
                                          "gpu-1",
                                          "1",
                                          "30",
                                          json::array(),
                                          json::object(),
                                          json::array({"a", "b"}),
                                          json::array({1}),
                                          json::object({{"items", json::array()}})};
  std::mt19937 rng(20261125);
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    json body = bodies[rng() % bodies.size()];
    testing_support::mutateTree(body, rng, replacements);
    const std::string text = body.dump();
    const std::string fast = describe(parseExtenderArgs(text));
    ASSERT_EQ(fast, generalPath(text)) << "iteration " << i << ": " << text.substr(0, 2000);
    errors += fast.rfind("error ", 0) == 0 ? 1 : 0;
  }
  EXPECT_GT(errors, 300);
  EXPECT_LT(errors, 2700);
}

TEST(WireTest, BodiesPastTheFastPathLimitParseAlike) {
  const std::string body = nodeNamesCorpus().front().dump();
  const std::string padded = body + std::string((1 << 20) + 1, ' ');  // still the same JSON
  EXPECT_EQ(describe(parseExtenderArgs(padded)), describe(parseExtenderArgs(body)));
}

TEST(WireTest, KeysMatchIgnoringCaseAsGoDoes) {
  const std::string body =
      R"({"pod":{"metadata":{"name":"p","namespace":"ns"}},"nodenames":["a","b"],"nodes":null})";
  const auto args = parseExtenderArgs(body);
  ASSERT_TRUE(args.ok()) << args.error().describe();
  EXPECT_EQ(args->pod.key(), "ns/p");
  EXPECT_EQ(args->node_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(describe(args), generalPath(body));
}

}  // namespace
}  // namespace mpshare::extender
