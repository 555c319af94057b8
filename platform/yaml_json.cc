#include "platform/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <regex>
#include <string>

namespace mpshare::platform {
namespace {

nlohmann::json scalarToJson(const YAML::Node& node, YamlScalars scalars) {
  const std::string& text = node.Scalar();
  if (scalars == YamlScalars::kStrings || node.Tag() == "!") {  // "!" = quoted
    return text;
  }
  static const std::regex integer(R"([-+]?[0-9]+)");
  if (std::regex_match(text, integer)) {
    try {
      return std::stoll(text);
    } catch (const std::out_of_range&) {
      return text;  // too large for an integer: keep the digits
    }
  }
  if (text == "true" || text == "false") return text == "true";
  if (text == "null" || text == "~") return nullptr;
  return text;
}

nlohmann::json toJson(const YAML::Node& node, YamlScalars scalars) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) {
        object[entry.first.Scalar()] = toJson(entry.second, scalars);
      }
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& item : node) array.push_back(toJson(item, scalars));
      return array;
    }
    case YAML::NodeType::Scalar:
      return scalarToJson(node, scalars);
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

core::Result<nlohmann::json> yamlToJson(std::string_view text, YamlScalars scalars) {
  try {
    return toJson(YAML::Load(std::string(text)), scalars);
  } catch (const YAML::Exception& e) {
    return core::invalidArgument("", std::string("is not valid YAML or JSON: ") + e.what());
  }
}

}  // namespace mpshare::platform
