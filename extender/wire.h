#pragma once

// kube-scheduler's extender wire format (k8s.io/kube-scheduler/extender/v1):
// capitalised Go field names, null vs [] kept apart, and both node forms —
// full `Nodes` (nodeCacheCapable: false) and `NodeNames` (nodeCacheCapable: true).

#include <cstdint>
#include <map>
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
  std::vector<std::string> node_names;  // candidate names in request order, either form
  // The Nodes form's NodeList as sent, for the filter reply, which echoes it
  // with only the passing items: its members other than `items` as compact
  // JSON members (`"apiVersion":"v1","kind":"NodeList"`, "" when none), and
  // each item as compact JSON, in request order (node_names[i] is item i's name).
  std::string node_list_members;
  std::vector<std::string> node_items;
};

// Parses a filter/prioritize body, either node form, with simdjson. Errors
// name the JSON path, e.g. `Nodes.items[2].metadata.name: is missing` or
// `body: neither Nodes nor NodeNames is set`. A body nested deeper than
// platform::kMaxJsonDepth is refused without building a tree (`body: nested
// deeper than 256 levels at byte 4123 (...)`), as is a number beyond a double
// or an integer beyond 64 bits (`body: number out of range at byte 57: 1e400
// (...)`). Keys match ignoring case, as Go's encoding/json does; an object
// naming a key twice is read at its first.
core::Result<ExtenderArgs> parseExtenderArgs(std::string_view body);

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
// The same reader and limits as parseExtenderArgs.
core::Result<BindingArgs> parseBindingArgs(std::string_view body);
// ExtenderBindingResult: {"Error": ""} on success.
std::string renderBindingResult(const std::string& error);

}  // namespace mpshare::extender
