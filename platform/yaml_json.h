#pragma once

// YAML documents (kubectl -o yaml output, manifests; JSON reads as YAML too) as
// the JSON the rest of the code parses, so every reader of a user's file shares
// one conversion and one error wording.

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/result.h"

namespace mpshare::platform {

enum class YamlScalars {
  // Every scalar stays a string. For Node and Pod lists: label values and
  // quantities are strings in Kubernetes, and "81559" must not become a number.
  kStrings,
  // Plain scalars become integers, booleans or null the way kubectl converts a
  // manifest; quoted scalars stay strings ("1" stays "1"). For manifests sent on
  // as the API server would send them.
  kTyped,
};

// One YAML document as JSON. Malformed YAML is an error whose message starts
// "is not valid YAML or JSON" and carries the parser's line and column. The
// limits of JSON from outside hold (platform/json_limits.h): nesting past
// kMaxJsonDepth is refused ("nested deeper than 256 levels at line 3, column
// 5 (...)"), and so is a document that aliases expand to more than 2 values
// per byte of text.
core::Result<nlohmann::json> yamlToJson(std::string_view text, YamlScalars scalars);

}  // namespace mpshare::platform
