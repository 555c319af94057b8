#include "platform/json_limits.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>

namespace mpshare::platform {
namespace {

using nlohmann::json;

constexpr size_t kNotFound = std::string_view::npos;

// The index just past the string whose opening quote is at `open`, or
// text.size() when it is never closed. A quote closes the string unless an
// odd run of backslashes precedes it; memchr makes long strings cheap.
size_t skipString(std::string_view text, size_t open) {
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const char* from = begin + open + 1;
  while (from < end) {
    const auto* quote = static_cast<const char*>(std::memchr(from, '"', end - from));
    if (quote == nullptr) break;
    size_t backslashes = 0;
    for (const char* b = quote; b > from && b[-1] == '\\'; --b) ++backslashes;
    from = quote + 1;
    if (backslashes % 2 == 0) return static_cast<size_t>(from - begin);
  }
  return text.size();
}

struct DepthScan {
  size_t deepest = 0;
  size_t too_deep_at = kNotFound;
};

// One pass over the bytes: brackets outside strings, stopping at the first
// that opens level limit + 1. A closing bracket at depth 0 (invalid JSON) is
// ignored rather than wrapping the count.
DepthScan scanDepth(std::string_view text, size_t limit) {
  DepthScan scan;
  size_t depth = 0;
  for (size_t i = 0; i < text.size();) {
    switch (text[i]) {
      case '"':
        i = skipString(text, i);
        continue;
      case '[':
      case '{':
        if (++depth > scan.deepest) {
          scan.deepest = depth;
          if (depth > limit) {
            scan.too_deep_at = i;
            return scan;
          }
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
    ++i;
  }
  return scan;
}

bool isNumberByte(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Whether a number as written fits what both readers hold: a finite double,
// and for an integer (no fraction or exponent) 64 bits, as simdjson requires
// (nlohmann would quietly round a longer one to a double).
bool numberFits(std::string_view token) {
  const json value = json::parse(token, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return false;
  const bool integer = token.find_first_of(".eE") == std::string_view::npos;
  return !(integer && value.is_number_float());
}

// Calls visit(offset, token) for each run of number bytes outside strings,
// in order, until it returns true. In text that is valid JSON up to its
// first bad number, every such run is a number.
template <typename Visit>
void forEachNumber(std::string_view text, Visit&& visit) {
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {
      i = skipString(text, i);
      continue;
    }
    if (c != '-' && (c < '0' || c > '9')) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && isNumberByte(text[i])) ++i;
    if (visit(start, text.substr(start, i - start))) return;
  }
}

// The first number outside strings that does not fit (numberFits), as a problem.
std::optional<JsonProblem> findOutOfRangeNumber(std::string_view text) {
  std::optional<JsonProblem> problem;
  forEachNumber(text, [&problem](size_t start, std::string_view token) {
    if (numberFits(token)) return false;
    std::string shown(token.substr(0, 40));
    if (token.size() > shown.size()) shown += "...";
    problem = JsonProblem{JsonProblem::Kind::kNumberOutOfRange, start, std::move(shown)};
    return true;
  });
  return problem;
}

// A SAX handler that builds nothing: it only records the parser's first error.
class Validator final : public nlohmann::json_sax<json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    failed_ = true;
    id_ = error.id;
    position_ = position;
    message_ = error.what();
    return false;
  }

  bool failed() const { return failed_; }
  int id() const { return id_; }
  size_t position() const { return position_; }
  const std::string& message() const { return message_; }

 private:
  bool failed_ = false;
  int id_ = 0;
  size_t position_ = 0;
  std::string message_;
};

// nlohmann's error id for a number that overflows a double.
constexpr int kNumberOverflowId = 406;

}  // namespace

size_t jsonNestingDepth(std::string_view text) { return scanDepth(text, kNotFound).deepest; }

std::optional<size_t> findTooDeep(std::string_view text, size_t max_depth) {
  const DepthScan scan = scanDepth(text, max_depth);
  if (scan.too_deep_at == kNotFound) return std::nullopt;
  return scan.too_deep_at;
}

std::string tooDeepMessage(size_t offset, size_t max_depth) {
  return tooDeepMessageAt("byte " + std::to_string(offset), max_depth);
}

std::string tooDeepMessageAt(const std::string& where, size_t max_depth) {
  const std::string limit = std::to_string(max_depth);
  return "nested deeper than " + limit + " levels" + (where.empty() ? "" : " at " + where) +
         " (arrays and objects may nest at most " + limit + " deep)";
}

std::string JsonProblem::describe() const {
  switch (kind) {
    case Kind::kNone:
      return "is valid JSON";
    case Kind::kTooDeep:
      return tooDeepMessage(offset);
    case Kind::kNumberOutOfRange:
      return "number out of range at byte " + std::to_string(offset) + ": " + detail +
             " (numbers must fit a double, up to about 1.8e308, and integers 64 bits)";
    case Kind::kSyntax:
      return "is not valid JSON: " + detail;
  }
  return "is not valid JSON";
}

JsonProblem findJsonProblem(std::string_view text) {
  if (const auto deep = findTooDeep(text)) {
    return JsonProblem{JsonProblem::Kind::kTooDeep, *deep, {}};
  }
  Validator validator;
  try {
    // Never deeper than kMaxJsonDepth here, and nlohmann's SAX parser keeps
    // its own stack of open containers rather than recursing anyway.
    (void)json::sax_parse(text.begin(), text.end(), &validator);
  } catch (const std::exception& e) {  // e.g. bad_alloc: still an answer, not a crash
    return JsonProblem{JsonProblem::Kind::kSyntax, 0, e.what()};
  }
  if (validator.failed() && validator.id() != kNumberOverflowId) {
    const size_t offset = validator.position() > 0 ? validator.position() - 1 : 0;
    return JsonProblem{JsonProblem::Kind::kSyntax, offset, validator.message()};
  }
  if (auto number = findOutOfRangeNumber(text)) return std::move(*number);
  if (validator.failed()) {  // an overflow the scan missed: cannot be, but say so
    return JsonProblem{JsonProblem::Kind::kNumberOutOfRange, validator.position(),
                       validator.message()};
  }
  return JsonProblem{};
}

std::optional<std::string> longIntegersAsDoubles(std::string_view text) {
  std::optional<std::string> out;
  size_t copied = 0;  // text[0, copied) is in *out
  forEachNumber(text, [&](size_t start, std::string_view token) {
    if (token.find_first_of(".eE") != std::string_view::npos) return false;
    int64_t signed_value = 0;
    uint64_t unsigned_value = 0;
    const char* const end = token.data() + token.size();
    const std::from_chars_result parsed = token.front() == '-'
                                              ? std::from_chars(token.data(), end, signed_value)
                                              : std::from_chars(token.data(), end, unsigned_value);
    if (parsed.ec != std::errc::result_out_of_range) return false;
    if (!out) out.emplace().reserve(text.size() + 16);
    const size_t past = start + token.size();
    out->append(text.substr(copied, past - copied));
    out->append(".0");
    copied = past;
    return false;
  });
  if (out) out->append(text.substr(copied));
  return out;
}

core::Result<json> parseJson(std::string_view text, const std::string& field) {
  if (const auto deep = findTooDeep(text)) {
    return core::invalidArgument(field, tooDeepMessage(*deep));
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  const JsonProblem problem = findJsonProblem(text);
  if (problem.kind == JsonProblem::Kind::kNone) {
    return core::invalidArgument(field, "is not valid JSON");
  }
  return core::invalidArgument(field, problem.describe());
}

}  // namespace mpshare::platform
