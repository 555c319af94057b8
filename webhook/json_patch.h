#pragma once

// core::PodEdits -> an RFC 6902 JSON Patch that applies to the pod exactly as the
// API server sent it: `add` needs its parent, and `add` of a whole array replaces
// an existing one, so an absent env/volumeMounts/volumes array is added whole and
// an existing one is appended to with `/-`, entry by entry.

#include <string>
#include <string_view>

#include "core/mutation.h"

namespace mpshare::webhook {

// RFC 6901 escaping of one path segment: "mpshare.io/x" -> "mpshare.io~1x", "a~b" -> "a~0b".
std::string escapePointerSegment(std::string_view segment);

// The patch for `edits` as compact JSON text, members in key order (the bytes
// nlohmann's dump would give); "" when there is nothing to change.
// Example: a container 0 without env gets
//   [{"op":"add","path":"/spec/containers/0/env","value":[{"name":"...","value":"30"}]}]
std::string buildPatch(const core::PodEdits& edits);

}  // namespace mpshare::webhook
