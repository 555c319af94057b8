// Kubernetes Pod and Node objects (platform/kube_json.h).
// Invariants: no exception from podFromJson, podFromSimdjson or nodeFromJson on
// any JSON value; the nlohmann and simdjson pod readers give the same PodView
// or the same error (the webhook uses one, the extender the other).

#include <simdjson.h>

#include <sstream>
#include <string>

#include "platform/kube_json.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using mpshare::core::PodView;
using mpshare::core::Result;

// Everything a pod reader fills in, as one comparable string.
std::string describe(const Result<PodView>& result) {
  if (!result.ok()) return "error " + result.error().describe();
  const PodView& pod = *result;
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
  map(pod.node_selector);
  const auto requirements =
      [&out](const std::vector<mpshare::core::NodeSelectorRequirement>& list) {
        out << '[';
        for (const auto& r : list) {
          out << r.key << ' ' << r.op << " (";
          for (const auto& v : r.values) out << v << ',';
          out << ");";
        }
        out << ']';
      };
  for (const auto& term : pod.required_node_terms) {
    out << "\nterm ";
    requirements(term.match_expressions);
    requirements(term.match_fields);
  }
  for (const auto& c : pod.containers) {
    out << "\n" << c.name << '|' << static_cast<int>(c.kind) << '|' << c.index << '|' << c.has_env;
    map(c.limits);
    map(c.requests);
    for (const auto& e : c.env) out << e.name << '=' << (e.value ? *e.value : "<from>") << ';';
  }
  return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto object = nlohmann::json::parse(mpshare::fuzz::asText(data, size), nullptr, false);
  if (object.is_discarded()) return 0;
  mpshare::fuzz::noThrow("kube_json readers", [&] {
    (void)mpshare::platform::nodeFromJson(object);
    const std::string from_nlohmann = describe(mpshare::platform::podFromJson(object));
    const std::string text = object.dump();
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (parser.parse(text).get(element) != simdjson::SUCCESS)
      return;  // e.g. deeper than simdjson allows
    const std::string from_simdjson = describe(mpshare::platform::podFromSimdjson(element));
    mpshare::fuzz::check(from_nlohmann == from_simdjson, "pod readers differ on " + text +
                                                             "\nnlohmann: " + from_nlohmann +
                                                             "\nsimdjson: " + from_simdjson);
  });
  return 0;
}
