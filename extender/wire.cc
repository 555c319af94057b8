#include "extender/wire.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
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
using platform::JsonKind;
using platform::SimdjsonView;

// Bodies up to this size are parsed by a parser kept per thread (its buffers
// reused); a larger one gets a parser of its own, freed on return, so that one
// 10 MB NodeList does not pin 10 MB of buffers to every server thread.
constexpr size_t kReusedParserBytes = 1 << 20;

// Why simdjson refused `body`, in the words every refusal of it uses. Only
// refused bodies take this second look, which builds no tree: nesting past
// platform::kMaxJsonDepth and a number out of range are named with where they
// are; any other malformed JSON stays "is not valid JSON", the answer recorded
// in the fixtures.
core::Error describeRefusal(std::string_view body) {
  const platform::JsonProblem problem = platform::findJsonProblem(body);
  if (problem.kind == platform::JsonProblem::Kind::kTooDeep ||
      problem.kind == platform::JsonProblem::Kind::kNumberOutOfRange) {
    return invalidArgument("body", problem.describe());
  }
  return invalidArgument("body", "is not valid JSON");
}

// Parses `body` with a depth-limited parser (it refuses nesting past
// kMaxJsonDepth itself, a DEPTH_ERROR, so accepted bodies pay nothing for the
// limit) and hands the root object to `read`, whose views are valid only
// until it returns: whatever it keeps, it copies.
template <typename T>
core::Result<T> withBody(std::string_view body, core::Result<T> (*read)(const SimdjsonView&)) {
  const auto parse = [&](simdjson::dom::parser& parser) -> core::Result<T> {
    simdjson::dom::element root;
    std::optional<std::string> widened;
    if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
      // An integer beyond 64 bits, which Go and nlohmann read as a double.
      widened = platform::longIntegersAsDoubles(body);
      if (!widened || parser.parse(*widened).get(root) != simdjson::SUCCESS) {
        return describeRefusal(body);
      }
    }
    const SimdjsonView document(root);
    if (document.kind() != JsonKind::kObject) {
      return invalidArgument("body", std::string("must be a JSON object, got ") +
                                         platform::jsonKindName(document.kind()));
    }
    return read(document);
  };
  if (body.size() <= kReusedParserBytes) {
    thread_local simdjson::dom::parser parser =
        platform::depthLimitedParser<simdjson::dom::parser>();
    return parse(parser);
  }
  auto parser = platform::depthLimitedParser<simdjson::dom::parser>(body.size());
  return parse(parser);
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Go's encoding/json matches keys case-insensitively; the scheduler sends the
// capitalised names, so an exact match is tried first and the fold only on a
// miss. A null member counts as absent.
std::optional<SimdjsonView> field(const SimdjsonView& object, std::string_view key) {
  std::optional<SimdjsonView> found = object.find(key);
  if (!found) {
    (void)object.forEachMember([&](std::string_view name, const SimdjsonView& value) {
      if (!found && equalsIgnoringCase(name, key)) found = value;
      return core::Status{};
    });
  }
  if (found && found->kind() == JsonKind::kNull) return std::nullopt;
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

core::Result<std::string> stringField(const SimdjsonView& object, std::string_view key,
                                      bool required) {
  const auto value = field(object, key);
  if (!value) {
    if (required) {
      return invalidArgument(std::string(key), "missing");
    }
    return std::string();
  }
  if (value->kind() != JsonKind::kString) {
    return invalidArgument(std::string(key), std::string("expected a string, got ") +
                                                 platform::jsonKindName(value->kind()));
  }
  return std::string(value->text());
}

// The Nodes form: every item read as a v1.Node, and the list kept as compact
// JSON for the filter reply (ExtenderArgs::node_list_members, node_items).
core::Status readNodeList(const SimdjsonView& nodes, ExtenderArgs& args) {
  if (nodes.kind() != JsonKind::kObject) {
    return invalidArgument("Nodes", std::string("expected a NodeList object or null, got ") +
                                        platform::jsonKindName(nodes.kind()));
  }
  const auto items = field(nodes, "items");
  if (items && items->kind() != JsonKind::kArray) {
    return invalidArgument("Nodes.items", "expected an array");
  }
  args.nodes_form = true;
  // Every member but the items, which the reply rebuilds from the passing nodes.
  (void)nodes.forEachMember([&args](std::string_view name, const SimdjsonView& value) {
    if (equalsIgnoringCase(name, "items")) return core::Status{};
    if (!args.node_list_members.empty()) args.node_list_members += ',';
    appendJsonString(args.node_list_members, name);
    args.node_list_members += ':';
    args.node_list_members += value.dump();
    return core::Status{};
  });
  if (!items) return {};
  return items->forEachElement([&args](size_t i, const SimdjsonView& item) {
    auto node = platform::nodeFromSimdjson(item.element());
    if (!node) {
      core::Error error = node.error();
      error.field = "Nodes.items[" + std::to_string(i) + "]." + error.field;
      return core::Status(std::move(error));
    }
    args.node_names.push_back(node->name);
    args.nodes.push_back(std::move(*node));
    args.node_items.push_back(item.dump());
    return core::Status{};
  });
}

core::Status readNodeNames(const SimdjsonView& names, ExtenderArgs& args) {
  if (names.kind() != JsonKind::kArray) {
    return invalidArgument("NodeNames", std::string("expected an array of strings or null, got ") +
                                            platform::jsonKindName(names.kind()));
  }
  return names.forEachElement([&args](size_t i, const SimdjsonView& name) {
    if (name.kind() != JsonKind::kString) {
      return core::Status(
          invalidArgument("NodeNames[" + std::to_string(i) + "]", "expected a string"));
    }
    args.node_names.emplace_back(name.text());
    return core::Status{};
  });
}

core::Result<ExtenderArgs> readExtenderArgs(const SimdjsonView& document) {
  ExtenderArgs args;
  const auto pod = field(document, "Pod");
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
  core::Status read;
  if (const auto nodes = field(document, "Nodes")) {
    read = readNodeList(*nodes, args);
  } else if (const auto names = field(document, "NodeNames")) {
    read = readNodeNames(*names, args);
  } else {
    return invalidArgument("body", "neither Nodes nor NodeNames is set (one must be non-null)");
  }
  if (!read) return read.error();
  return args;
}

core::Result<BindingArgs> readBindingArgs(const SimdjsonView& document) {
  auto name = stringField(document, "PodName", true);
  auto space = stringField(document, "PodNamespace", true);
  auto uid = stringField(document, "PodUID", false);
  auto node = stringField(document, "Node", true);
  for (const auto* result : {&name, &space, &uid, &node}) {
    if (!result->ok()) {
      return result->error();
    }
  }
  BindingArgs args{std::move(*name), std::move(*space), std::move(*uid), std::move(*node)};
  if (args.pod_name.empty() || args.node.empty()) {
    return invalidArgument(args.pod_name.empty() ? "PodName" : "Node", "must not be empty");
  }
  return args;
}

}  // namespace

core::Result<ExtenderArgs> parseExtenderArgs(std::string_view body) {
  return withBody(body, readExtenderArgs);
}

std::string renderFilterResult(const FilterResult& result, const ExtenderArgs& args) {
  // Written out directly, in json::dump's key order (sorted) and with its bytes,
  // rather than through a json object: building one copied every passing name
  // and failure reason into its own allocation. The Nodes form's NodeList is
  // the request's own JSON, compacted when it was read (ExtenderArgs::node_items).
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
    // The request's NodeList with only the passing items, which are a
    // subsequence of the request order, so one merge walk finds them.
    out += R"(,"NodeNames":null,"Nodes":{)";
    out += args.node_list_members;
    out += args.node_list_members.empty() ? R"("items":[)" : R"(,"items":[)";
    size_t next = 0;
    bool first = true;
    for (size_t i = 0; i < args.node_items.size() && next < result.passed.size(); ++i) {
      if (args.node_names[i] == result.passed[next]) {
        if (!first) out += ',';
        first = false;
        out += args.node_items[i];
        ++next;
      }
    }
    out += "]}";
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
  return withBody(body, readBindingArgs);
}

std::string renderBindingResult(const std::string& error) { return json{{"Error", error}}.dump(); }

}  // namespace mpshare::extender
