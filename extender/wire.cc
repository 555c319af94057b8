#include "extender/wire.h"

#include <algorithm>
#include <string>
#include <utility>

#include "platform/json_limits.h"
#include "platform/json_text.h"
#include "platform/json_view.h"
#include "platform/kube_json.h"

namespace mpshare::extender {
namespace {

using core::invalidArgument;
using nlohmann::json;
using platform::appendJsonString;

// Refuses a body nested deeper than platform::kMaxJsonDepth before building a
// tree (copying or dumping a deep one recursed until the stack overflowed),
// and names an out-of-range number and where it is. Other malformed JSON stays
// "is not valid JSON", the answer recorded in the fixtures.
core::Result<json> parseBody(std::string_view body) {
  if (const auto deep = platform::findTooDeep(body)) {
    return invalidArgument("body", platform::tooDeepMessage(*deep));
  }
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    const platform::JsonProblem problem = platform::findJsonProblem(body);
    if (problem.kind == platform::JsonProblem::Kind::kNumberOutOfRange) {
      return invalidArgument("body", problem.describe());
    }
    return invalidArgument("body", "is not valid JSON");
  }
  if (!parsed.is_object()) {
    return invalidArgument("body", std::string("must be a JSON object, got ") + parsed.type_name());
  }
  return parsed;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Go's encoding/json matches keys case-insensitively; the scheduler sends the
// capitalised names, so an exact match is tried first and the fold only on a miss.
const json* field(const json& object, std::string_view key) {
  if (const auto it = object.find(key); it != object.end()) {
    return &*it;
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (equalsIgnoringCase(it.key(), key)) return &*it;
  }
  return nullptr;
}

// The same lookup in a simdjson document.
std::optional<platform::SimdjsonView> field(const platform::SimdjsonView& object,
                                            std::string_view key) {
  if (auto exact = object.find(key)) return exact;
  std::optional<platform::SimdjsonView> found;
  (void)object.forEachMember([&](std::string_view name, const platform::SimdjsonView& value) {
    if (!found && equalsIgnoringCase(name, key)) found = value;
    return core::Status{};
  });
  return found;
}

// Appends a string-to-string map as a JSON object, as json::dump writes it
// (std::map iterates in the same sorted order as json's object).
void appendJsonObject(std::string& out, const std::map<std::string, std::string>& entries) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : entries) {
    if (!first) {
      out += ',';
    }
    first = false;
    appendJsonString(out, key);
    out += ':';
    appendJsonString(out, value);
  }
  out += '}';
}

json* field(json& object, std::string_view key) {
  return const_cast<json*>(field(std::as_const(object), key));
}

core::Result<std::string> stringField(const json& object, std::string_view key, bool required) {
  const json* value = field(object, key);
  if (value == nullptr || value->is_null()) {
    if (required) {
      return invalidArgument(std::string(key), "missing");
    }
    return std::string();
  }
  if (!value->is_string()) {
    return invalidArgument(std::string(key),
                           std::string("expected a string, got ") + value->type_name());
  }
  return value->get<std::string>();
}

// Bodies up to this size are parsed by a parser kept per thread (its buffers
// reused); larger ones take the general path.
constexpr size_t kFastPathBytes = 1 << 20;

// The NodeNames form, which kube-scheduler sends to an extender with
// nodeCacheCapable (mpshare's setup), read with simdjson: about a tenth of
// nlohmann's parse time, and the pod through the same reader. nullopt when
// the body needs the general path: the Nodes form (its NodeList is echoed
// back, so it is kept as nlohmann::json), a body over kFastPathBytes, or
// anything simdjson refuses (the general path then names the error). Errors
// are the general path's, word for word.
std::optional<core::Result<ExtenderArgs>> parseNodeNamesForm(std::string_view body) {
  using platform::JsonKind;
  if (body.size() > kFastPathBytes) return std::nullopt;
  // Nested past the limit is a DEPTH_ERROR here, and the general path words it.
  thread_local simdjson::dom::parser parser = platform::depthLimitedParser<simdjson::dom::parser>();
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  const platform::SimdjsonView document(root);
  if (document.kind() != JsonKind::kObject) return std::nullopt;
  if (auto nodes = field(document, "Nodes"); nodes && nodes->kind() != JsonKind::kNull) {
    return std::nullopt;
  }
  ExtenderArgs args;
  auto pod = field(document, "Pod");
  if (!pod || pod->kind() != JsonKind::kObject) {
    return invalidArgument("Pod", "missing or not an object (a v1.Pod is required)");
  }
  auto view = platform::podFromSimdjson(pod->element());
  if (!view) {
    core::Error error = view.error();
    error.field = "Pod." + error.field;
    return error;
  }
  args.pod = std::move(*view);
  auto names = field(document, "NodeNames");
  if (!names || names->kind() == JsonKind::kNull) {
    return invalidArgument("body", "neither Nodes nor NodeNames is set (one must be non-null)");
  }
  if (names->kind() != JsonKind::kArray) {
    return invalidArgument("NodeNames", std::string("expected an array of strings or null, got ") +
                                            platform::jsonKindName(names->kind()));
  }
  auto each = names->forEachElement([&args](size_t i, const platform::SimdjsonView& name) {
    if (name.kind() != JsonKind::kString) {
      return core::Status(
          invalidArgument("NodeNames[" + std::to_string(i) + "]", "expected a string"));
    }
    args.node_names.emplace_back(name.text());
    return core::Status{};
  });
  if (!each) return each.error();
  return args;
}

}  // namespace

core::Result<ExtenderArgs> parseExtenderArgs(std::string_view body) {
  if (auto fast = parseNodeNamesForm(body)) return std::move(*fast);
  return parseExtenderArgsGeneral(body);
}

core::Result<ExtenderArgs> parseExtenderArgsGeneral(std::string_view body) {
  auto parsed = parseBody(body);
  if (!parsed) {
    return parsed.error();
  }
  json& root = *parsed;
  ExtenderArgs args;
  const json* pod = field(root, "Pod");
  if (pod == nullptr || !pod->is_object()) {
    return invalidArgument("Pod", "missing or not an object (a v1.Pod is required)");
  }
  auto view = platform::podFromJson(*pod);
  if (!view) {
    core::Error error = view.error();
    error.field = "Pod." + error.field;
    return error;
  }
  args.pod = std::move(*view);

  json* nodes = field(root, "Nodes");
  json* names = field(root, "NodeNames");
  if (nodes != nullptr && !nodes->is_null()) {
    if (!nodes->is_object()) {
      return invalidArgument(
          "Nodes", std::string("expected a NodeList object or null, got ") + nodes->type_name());
    }
    const json* items = field(*nodes, "items");
    if (items != nullptr && !items->is_null() && !items->is_array()) {
      return invalidArgument("Nodes.items", "expected an array");
    }
    args.nodes_form = true;
    if (items != nullptr && items->is_array()) {
      args.nodes.reserve(items->size());
      args.node_names.reserve(items->size());
      for (size_t i = 0; i < items->size(); ++i) {
        auto node = platform::nodeFromJson((*items)[i]);
        if (!node) {
          core::Error error = node.error();
          error.field = "Nodes.items[" + std::to_string(i) + "]." + error.field;
          return error;
        }
        args.node_names.push_back(node->name);
        args.nodes.push_back(std::move(*node));
      }
    }
    // Moved, not copied: the list can be megabytes and the parsed body is ours.
    args.node_list = std::move(*nodes);
  } else if (names != nullptr && !names->is_null()) {
    if (!names->is_array()) {
      return invalidArgument(
          "NodeNames",
          std::string("expected an array of strings or null, got ") + names->type_name());
    }
    args.node_names.reserve(names->size());
    for (size_t i = 0; i < names->size(); ++i) {
      if (!(*names)[i].is_string()) {
        return invalidArgument("NodeNames[" + std::to_string(i) + "]", "expected a string");
      }
      // Moved out of the parsed body, which is ours and dropped on return.
      args.node_names.push_back(std::move((*names)[i].get_ref<std::string&>()));
    }
  } else {
    return invalidArgument("body", "neither Nodes nor NodeNames is set (one must be non-null)");
  }
  return args;
}

std::string renderFilterResult(const FilterResult& result, const ExtenderArgs& args) {
  // Written out directly, in json::dump's key order (sorted) and with its bytes,
  // rather than through a json object: building one copied every passing name
  // and failure reason into its own allocation. Only the Nodes form's NodeList
  // still goes through json, being the request's own objects echoed back.
  std::string out;
  out.reserve(96 + result.passed.size() * 24 +
              (result.failed.size() + result.failed_unresolvable.size()) * 128);
  out += R"({"Error":)";
  appendJsonString(out, result.error);
  out += R"(,"FailedAndUnresolvableNodes":)";
  appendJsonObject(out, result.failed_unresolvable);
  out += R"(,"FailedNodes":)";
  appendJsonObject(out, result.failed);
  if (args.nodes_form) {
    // The list's other members as sent; its items are rebuilt from the passing
    // nodes below, so copying them first would copy every node twice.
    json list = json::object();
    for (auto it = args.node_list.begin(); it != args.node_list.end(); ++it) {
      if (it.key() != "items") {
        list[it.key()] = *it;
      }
    }
    json items = json::array();
    // Passing names are a subsequence of the request order, so one merge walk suffices.
    const json* sent = field(args.node_list, "items");
    size_t next = 0;
    for (size_t i = 0; sent != nullptr && sent->is_array() && i < sent->size(); ++i) {
      if (next < result.passed.size() && args.node_names[i] == result.passed[next]) {
        items.push_back((*sent)[i]);
        ++next;
      }
    }
    list["items"] = std::move(items);
    out += R"(,"NodeNames":null,"Nodes":)";
    out += list.dump();
  } else {
    out += R"(,"NodeNames":[)";
    for (size_t i = 0; i < result.passed.size(); ++i) {
      if (i > 0) {
        out += ',';
      }
      appendJsonString(out, result.passed[i]);
    }
    out += R"(],"Nodes":null)";
  }
  out += '}';
  return out;
}

std::string renderFilterError(const std::string& error) {
  json reply;
  reply["Nodes"] = nullptr;
  reply["NodeNames"] = nullptr;
  reply["FailedNodes"] = json::object();
  reply["FailedAndUnresolvableNodes"] = json::object();
  reply["Error"] = error;
  return reply.dump();
}

std::string renderHostPriorityList(const std::vector<HostScore>& scores) {
  // Written out directly rather than through a json array of objects: those
  // cost a map and several allocations per node, which at thousands of nodes was
  // most of a prioritize call. The bytes are the same as json::dump's.
  std::string out;
  out.reserve(2 + scores.size() * 32);
  out += '[';
  for (const HostScore& score : scores) {
    if (out.size() > 1) {
      out += ',';
    }
    out += R"({"Host":)";
    appendJsonString(out, score.host);
    out += R"(,"Score":)";
    out += std::to_string(score.score);
    out += '}';
  }
  out += ']';
  return out;
}

core::Result<BindingArgs> parseBindingArgs(std::string_view body) {
  auto parsed = parseBody(body);
  if (!parsed) {
    return parsed.error();
  }
  BindingArgs args;
  auto name = stringField(*parsed, "PodName", true);
  auto space = stringField(*parsed, "PodNamespace", true);
  auto uid = stringField(*parsed, "PodUID", false);
  auto node = stringField(*parsed, "Node", true);
  for (const auto* result : {&name, &space, &uid, &node}) {
    if (!result->ok()) {
      return result->error();
    }
  }
  args.pod_name = *name;
  args.pod_namespace = *space;
  args.pod_uid = *uid;
  args.node = *node;
  if (args.pod_name.empty() || args.node.empty()) {
    return invalidArgument(args.pod_name.empty() ? "PodName" : "Node", "must not be empty");
  }
  return args;
}

std::string renderBindingResult(const std::string& error) { return json{{"Error", error}}.dump(); }

}  // namespace mpshare::extender
