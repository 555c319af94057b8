#include "demo/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <regex>
#include <stdexcept>

namespace mpshare::demo {
namespace {

nlohmann::json convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& entry : node) out[entry.first.Scalar()] = convert(entry.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(convert(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted: always a string
      static const std::regex integer(R"([-+]?[0-9]+)");
      if (std::regex_match(s, integer)) return std::stoll(s);
      if (s == "true" || s == "false") return s == "true";
      if (s == "null" || s == "~") return nullptr;
      return s;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

}  // namespace

nlohmann::json loadYamlAsJson(const std::string& path) {
  try {
    return convert(YAML::LoadFile(path));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace mpshare::demo
