#pragma once

// Limits on JSON read from outside (the API server's AdmissionReviews, the
// scheduler's extender requests, API-server answers, YAML files), checked
// before a document tree is built: nlohmann::json copies, compares and dumps
// a tree recursively, so a body of "[[[[..." 60,000 deep, about 120 KB, would
// overflow the stack, and a 3 MB one would cost over 100 MB as a tree.
// Kubernetes objects nest a few dozen levels at most.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mpshare::platform {

// How deep arrays and objects may nest: `[]` is depth 1, `{"a":[1]}` depth 2.
inline constexpr size_t kMaxJsonDepth = 256;

// The deepest nesting of arrays and objects in `text`, by a byte scan that
// skips strings (no tree, no allocation). Exact for valid JSON; for any other
// bytes it counts brackets outside strings and never fails.
// Example: jsonNestingDepth(R"({"a":[1,"[[["]})") == 2.
size_t jsonNestingDepth(std::string_view text);

// The byte offset (from 0) of the bracket that opens level max_depth + 1, or
// nullopt when `text` nests at most max_depth deep. The same scan as above,
// stopping there. Example: findTooDeep("[[[]]]", 2) == 2.
std::optional<size_t> findTooDeep(std::string_view text, size_t max_depth = kMaxJsonDepth);

// "nested deeper than 256 levels at byte 300 (arrays and objects may nest at
// most 256 deep)": the wording of every depth refusal. The second form names
// the place otherwise, tooDeepMessageAt("line 3, column 5"), or not at all
// when `where` is empty.
std::string tooDeepMessage(size_t offset, size_t max_depth = kMaxJsonDepth);
std::string tooDeepMessageAt(const std::string& where, size_t max_depth = kMaxJsonDepth);

// Why `text` is not JSON we accept, found without building a tree.
struct JsonProblem {
  enum class Kind {
    kNone,              // valid JSON within the limits
    kTooDeep,           // nested deeper than kMaxJsonDepth
    kNumberOutOfRange,  // a number beyond a double, or an integer beyond 64 bits
    kSyntax,            // not JSON at all
  };
  Kind kind = Kind::kNone;
  size_t offset = 0;   // where, in bytes from 0
  std::string detail;  // the number as written, or the JSON library's message

  // The refusal, e.g. "number out of range at byte 57: 1e400 (numbers must fit
  // a double, up to about 1.8e308, and integers 64 bits)" or "is not valid
  // JSON: [json.exception.parse_error.101] ...".
  [[nodiscard]] std::string describe() const;
};
JsonProblem findJsonProblem(std::string_view text);

// Parses JSON from outside into a tree, refusing one nested deeper than
// kMaxJsonDepth before building anything. The error is findJsonProblem's,
// under `field`: parseJson("[1e400]", "body") -> `body: number out of range
// at byte 1: 1e400 (...)`.
core::Result<nlohmann::json> parseJson(std::string_view text, const std::string& field);

// `text` with every integer outside strings too long for 64 bits written as a
// double, the value nlohmann::json reads for it ("18446744073709551616" ->
// "18446744073709551616.0"); nullopt when there is none. simdjson refuses such
// an integer: a reader built on it retries with this text to accept what
// kube-scheduler's Go and nlohmann accept. A number beyond a double stays
// refused (findJsonProblem names it).
std::optional<std::string> longIntegersAsDoubles(std::string_view text);

// A simdjson::dom::parser refusing documents nested deeper than kMaxJsonDepth
// (simdjson's own default is 1024), first sized for `capacity` bytes; parse()
// grows it as needed and keeps the limit. A template so that this header does
// not pull in simdjson's. If the allocation fails, parse() retries it with
// simdjson's default depth: harmless, simdjson's parser is not recursive.
template <typename DomParser>
DomParser depthLimitedParser(size_t capacity = 4096) {
  DomParser parser;
  [[maybe_unused]] const auto error = parser.allocate(capacity, kMaxJsonDepth);
  return parser;
}

}  // namespace mpshare::platform
