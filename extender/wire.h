#pragma once

// kube-scheduler's extender wire format (k8s.io/kube-scheduler/extender/v1):
// capitalised Go field names, null vs [] kept apart, and both node forms —
// full `Nodes` (nodeCacheCapable: false) and `NodeNames` (nodeCacheCapable: true).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/pod.h"
#include "core/result.h"

namespace mpshare::extender {

// ExtenderArgs: the filter and prioritize request.
struct ExtenderArgs {
  core::PodView pod;
  bool nodes_form = false;              // `Nodes` was a NodeList (not null)
  std::vector<core::NodeView> nodes;    // the NodeList's items, when nodes_form
  nlohmann::json node_list;             // the NodeList as sent, echoed back filtered
  std::vector<std::string> node_names;  // candidate names in request order, either form
};

// Parses a filter/prioritize body. Errors name the JSON path, e.g.
// `Nodes.items[2].metadata.name: missing` or `body: neither Nodes nor NodeNames is set`.
// The NodeNames form (kube-scheduler with nodeCacheCapable) is read with
// simdjson, every other body with nlohmann::json (parseExtenderArgsGeneral).
// A body nested deeper than platform::kMaxJsonDepth is refused before any tree
// is built (`body: nested deeper than 256 levels at byte 4123 (...)`), as is a
// number beyond a double (`body: number out of range at byte 57: 1e400 (...)`).
core::Result<ExtenderArgs> parseExtenderArgs(std::string_view body);

// The nlohmann::json path alone, for every form: the same answers as
// parseExtenderArgs, slower; tests compare the two.
core::Result<ExtenderArgs> parseExtenderArgsGeneral(std::string_view body);

// ExtenderFilterResult. In the Nodes form the reply carries `Nodes` (the request's
// NodeList with only passing items) and `NodeNames: null`; in the NodeNames form
// `NodeNames` (never null: [] means none pass) and `Nodes: null`.
struct FilterResult {
  std::vector<std::string> passed;  // in request order
  std::map<std::string, std::string> failed;
  std::map<std::string, std::string> failed_unresolvable;
  std::string error;
};
std::string renderFilterResult(const FilterResult& result, const ExtenderArgs& args);
// A failed attempt: the Error field set, no nodes.
std::string renderFilterError(const std::string& error);

struct HostScore {
  std::string host;
  int64_t score = 0;  // 0..10
};
// HostPriorityList: a JSON array of {"Host", "Score"}.
std::string renderHostPriorityList(const std::vector<HostScore>& scores);

// ExtenderBindingArgs.
struct BindingArgs {
  std::string pod_name;
  std::string pod_namespace;
  std::string pod_uid;
  std::string node;
};
// The same limits as parseExtenderArgs.
core::Result<BindingArgs> parseBindingArgs(std::string_view body);
// ExtenderBindingResult: {"Error": ""} on success.
std::string renderBindingResult(const std::string& error);

}  // namespace mpshare::extender
