#pragma once

// Everything a pod reader (platform/kube_json.h) fills into a PodView, or its
// error, as one comparable string: the two readers' cross-checks (unit test and
// fuzz target) compare these, so a field added to PodView is compared by both
// once it is added here.

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/pod.h"
#include "core/result.h"

namespace mpshare::testing_support {

inline std::string podText(const core::Result<core::PodView>& result) {
  if (!result.ok()) return "error " + result.error().describe();
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
  map(pod.node_selector);
  const auto requirements = [&out](const std::vector<core::NodeSelectorRequirement>& list) {
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

}  // namespace mpshare::testing_support
