#include "extender/node_file.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/kube_json.h"
#include "platform/yaml_json.h"

namespace mpshare::extender {

core::Result<std::vector<core::NodeView>> parseNodeList(std::string_view text) {
  auto parsed = platform::yamlToJson(text, platform::YamlScalars::kStrings);
  if (!parsed) {
    return core::invalidArgument("nodes", parsed.error().message);
  }
  const nlohmann::json document = std::move(*parsed);
  std::vector<core::NodeView> nodes;
  if (!document.is_object()) {
    return core::invalidArgument("nodes", "must be a NodeList (kind: NodeList, items: [...])");
  }
  if (!document.contains("items")) {
    auto node = platform::nodeFromJson(document);
    if (!node) {
      return node.error();
    }
    nodes.push_back(std::move(*node));
    return nodes;
  }
  const nlohmann::json& items = document["items"];
  if (!items.is_array()) {
    return core::invalidArgument("items", "must be a list of Node objects");
  }
  for (size_t i = 0; i < items.size(); ++i) {
    auto node = platform::nodeFromJson(items[i]);
    if (!node) {
      core::Error error = node.error();
      error.field = "items[" + std::to_string(i) + "]." + error.field;
      return error;
    }
    nodes.push_back(std::move(*node));
  }
  return nodes;
}

core::Status FileNodeSource::start(InventorySink& sink) {
  std::ifstream in(path_);
  if (!in) {
    return core::invalidArgument("--nodes", "cannot read " + path_);
  }
  std::stringstream text;
  text << in.rdbuf();
  auto nodes = parseNodeList(text.str());
  if (!nodes) {
    core::Error error = nodes.error();
    error.message = path_ + ": " + error.describe();
    error.field = "--nodes";
    return error;
  }
  for (const core::NodeView& node : *nodes) {
    sink.upsertNode(node);
  }
  return {};
}

core::Status StaticNodeSource::start(InventorySink& sink) {
  for (const core::NodeView& node : nodes_) {
    sink.upsertNode(node);
  }
  return {};
}

}  // namespace mpshare::extender
