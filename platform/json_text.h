#pragma once

// Writing JSON text directly into a string, for answers on a hot path (the
// webhook's AdmissionReview, the extender's filter reply) where building a
// nlohmann::json first costs more than the rest of the request. The bytes
// are exactly those of nlohmann's dump(-1, ' ', false, replace), so a reply
// does not change with the way it was written.

#include <string>
#include <string_view>

namespace mpshare::platform {

// Appends `text` as a JSON string literal: quotes and backslashes escaped,
// \b \f \n \r \t, other control characters as \u00xx, everything else as
// UTF-8; a byte sequence that is not valid UTF-8 becomes one U+FFFD each.
// Example: appendJsonString(out, "a\"b") appends "a\"b" with its quotes.
void appendJsonString(std::string& out, std::string_view text);

// The same, as a new string: jsonString("ok") == "\"ok\"".
std::string jsonString(std::string_view text);

// {"error":"<message>"}: the body of every JSON error answer mpshare sends.
std::string errorJson(std::string_view message);

}  // namespace mpshare::platform
