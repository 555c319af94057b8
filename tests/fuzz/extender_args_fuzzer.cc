// Filter and prioritize bodies from kube-scheduler (extender/wire.h).
// Invariants: no exception; a refusal names a field; an accepted body has one
// name per node in the Nodes form; the filter answer, with every node passing
// and with every other one, is JSON and lists exactly the passing nodes, in
// request order, in either form: the NodeList echoed back reads as a NodeList
// with those nodes again.

#include <string>
#include <vector>

#include "extender/wire.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

namespace {

// The node names a filter answer passes, read back through parseExtenderArgs:
// the answer's own members (Nodes, NodeNames) under a minimal pod. Spliced as
// text, not rebuilt through a JSON library, which would keep only one of an
// echoed object's duplicate keys.
std::vector<std::string> passedNames(const std::string& answer, bool nodes_form) {
  const auto again = mpshare::extender::parseExtenderArgs(
      R"({"Pod":{"metadata":{"name":"p","namespace":"ns"}},)" + answer.substr(1));
  check(again.ok(), "the filter answer does not read back: " +
                        (again.ok() ? std::string() : again.error().describe()) + ": " + answer);
  check(again->nodes_form == nodes_form, "the filter answer changed form: " + answer);
  return again->node_names;
}

void checkAnswer(const mpshare::extender::ExtenderArgs& args, std::vector<std::string> passed) {
  mpshare::extender::FilterResult result;
  result.passed = passed;
  const std::string answer = mpshare::extender::renderFilterResult(result, args);
  check(mpshare::fuzz::isJson(answer), "the filter answer is not JSON: " + answer);
  check(passedNames(answer, args.nodes_form) == passed,
        "the filter answer does not list the passing nodes: " + answer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto body = mpshare::fuzz::asText(data, size);
  mpshare::fuzz::noThrow("parseExtenderArgs", [&] {
    const auto args = mpshare::extender::parseExtenderArgs(body);
    if (!args.ok()) {
      check(!args.error().field.empty(), "a refusal names no field: " + args.error().describe());
      return;
    }
    if (args->nodes_form) {
      check(args->node_names.size() == args->nodes.size() &&
                args->node_items.size() == args->nodes.size(),
            "the Nodes form read a different number of names, nodes and items");
    } else {
      check(args->nodes.empty() && args->node_items.empty(), "the NodeNames form read nodes");
    }
    checkAnswer(*args, args->node_names);
    std::vector<std::string> every_other;
    for (size_t i = 0; i < args->node_names.size(); i += 2) {
      every_other.push_back(args->node_names[i]);
    }
    checkAnswer(*args, every_other);
  });
  return 0;
}
