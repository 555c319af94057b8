#include "platform/yaml_json.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <regex>
#include <string>

#include "platform/json_limits.h"

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

std::string where(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

// One walk over the YAML tree. It stops at the first refusal: nesting past
// kMaxJsonDepth, or more values than the text could spell without aliases,
// which repeat their anchor's value ("&a [*b,*b]" nine times over is a
// billion values from a few hundred bytes).
class Converter {
 public:
  Converter(YamlScalars scalars, size_t max_values) : scalars_(scalars), values_left_(max_values) {}

  core::Result<nlohmann::json> convert(const YAML::Node& root) {
    nlohmann::json document = toJson(root, 0);
    if (error_) return *error_;
    return document;
  }

 private:
  // `depth`: the arrays and objects around `node`.
  nlohmann::json toJson(const YAML::Node& node, size_t depth) {
    if (error_) return nullptr;
    if (values_left_ == 0) {
      error_ = core::invalidArgument(
          "", "expands to more values than its size allows, at " + where(node.Mark()) +
                  " (at most 2 per byte; are aliases repeating an anchor?)");
      return nullptr;
    }
    --values_left_;
    const bool container =
        node.Type() == YAML::NodeType::Map || node.Type() == YAML::NodeType::Sequence;
    if (container && depth == kMaxJsonDepth) {
      error_ = core::invalidArgument("", tooDeepMessageAt(where(node.Mark())));
      return nullptr;
    }
    switch (node.Type()) {
      case YAML::NodeType::Map: {
        nlohmann::json object = nlohmann::json::object();
        for (const auto& entry : node) {
          object[entry.first.Scalar()] = toJson(entry.second, depth + 1);
        }
        return object;
      }
      case YAML::NodeType::Sequence: {
        nlohmann::json array = nlohmann::json::array();
        for (const auto& item : node) array.push_back(toJson(item, depth + 1));
        return array;
      }
      case YAML::NodeType::Scalar:
        return scalarToJson(node, scalars_);
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
    }
    return nullptr;
  }

  const YamlScalars scalars_;
  size_t values_left_;
  std::optional<core::Error> error_;
};

}  // namespace

core::Result<nlohmann::json> yamlToJson(std::string_view text, YamlScalars scalars) {
  try {
    return Converter(scalars, 2 * text.size() + 16).convert(YAML::Load(std::string(text)));
  } catch (const YAML::DeepRecursion&) {
    // yaml-cpp's own guard (2,000 levels) stopped its recursive parser first;
    // its mark is not where the guard tripped, so no place is named.
    return core::invalidArgument("", tooDeepMessageAt(""));
  } catch (const YAML::Exception& e) {
    return core::invalidArgument("", std::string("is not valid YAML or JSON: ") + e.what());
  }
}

}  // namespace mpshare::platform
