// The depth scan, the out-of-range number finder and parseJson: tables for the
// edges (the limit, strings, escapes, stray brackets), and seeded random input
// checked against a recursive count on the tree nlohmann builds.

#include "platform/json_limits.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>

namespace mpshare::platform {
namespace {

using nlohmann::json;
using Kind = JsonProblem::Kind;

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// The reference: nesting depth of a parsed tree, by recursion (small trees only).
size_t treeDepth(const json& value) {
  if (!value.is_structured()) return 0;
  size_t deepest = 0;
  for (const json& child : value) deepest = std::max(deepest, treeDepth(child));
  return deepest + 1;
}

TEST(JsonNestingDepthTest, CountsBracketsOutsideStrings) {
  const struct {
    std::string text;
    size_t depth;
  } cases[] = {
      {"", 0},
      {"1", 0},
      {R"("[[[")", 0},
      {"[]", 1},
      {"{}", 1},
      {R"({"a":[1,{"b":[]}]})", 4},
      {R"({"a":[1,"[[["]})", 2},
      {R"(["\"[[[", 1])", 1},           // an escaped quote does not end the string
      {R"(["\\", [[1]]])", 3},          // an escaped backslash does not escape the quote
      {R"(["\\\"[", "\\\\"])", 1},      // odd and even runs of backslashes
      {R"({"[":{"]":{"}":"{"}}})", 3},  // brackets in keys
      {"[[]][[[]]][]", 3},              // the deepest, not the sum
      {"\"[[[", 0},                     // an unterminated string swallows the rest
      {"]]]}}[", 1},                    // stray closers do not go below zero
      {nested(kMaxJsonDepth), kMaxJsonDepth},
      {nested(60'000), 60'000},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jsonNestingDepth(c.text), c.depth) << c.text.substr(0, 80);
  }
}

TEST(JsonNestingDepthTest, FindTooDeepNamesTheBracketPastTheLimit) {
  const struct {
    std::string text;
    size_t limit;
    std::optional<size_t> at;
  } cases[] = {
      {"[[[]]]", 3, std::nullopt},
      {"[[[]]]", 2, 2},
      {R"({"a":"[[[[",  "b":[[]]})", 3, std::nullopt},
      {R"({"a":"[[[[",  "b":[[]]})", 2, 19},
      {R"({"a":"[[[[",  "b":[[]]})", 1, 18},
      {nested(kMaxJsonDepth), kMaxJsonDepth, std::nullopt},
      {nested(kMaxJsonDepth + 1), kMaxJsonDepth, kMaxJsonDepth},
      {"x" + nested(1'500'000), kMaxJsonDepth, kMaxJsonDepth + 1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(findTooDeep(c.text, c.limit), c.at) << c.text.substr(0, 80) << " limit " << c.limit;
  }
  EXPECT_EQ(tooDeepMessage(300),
            "nested deeper than 256 levels at byte 300 (arrays and objects may nest at most 256 "
            "deep)");
  EXPECT_EQ(tooDeepMessageAt("line 3, column 5", 8),
            "nested deeper than 8 levels at line 3, column 5 (arrays and objects may nest at most "
            "8 deep)");
  EXPECT_EQ(tooDeepMessageAt(""),
            "nested deeper than 256 levels (arrays and objects may nest at most 256 deep)");
}

TEST(JsonProblemTest, NamesWhatIsWrongAndWhere) {
  const struct {
    std::string text;
    Kind kind;
    size_t offset;
    std::string detail;
  } cases[] = {
      {R"({"a":[1,2.5e3,-7,"1e400",true,null]})", Kind::kNone, 0, ""},
      {"[1e400]", Kind::kNumberOutOfRange, 1, "1e400"},
      {R"({"x":"1e400","y":-1E+309})", Kind::kNumberOutOfRange, 17, "-1E+309"},
      {"[1e-400, 4.9e-324]", Kind::kNone, 0, ""},  // underflow is zero
      {"[18446744073709551615, -9223372036854775808]", Kind::kNone, 0, ""},
      {"[18446744073709551616]", Kind::kNumberOutOfRange, 1, "18446744073709551616"},
      {"[-9223372036854775809]", Kind::kNumberOutOfRange, 1, "-9223372036854775809"},
      {"[1" + std::string(60, '0') + "e400]", Kind::kNumberOutOfRange, 1,
       "1" + std::string(39, '0') + "..."},
      {"[1e400, x]", Kind::kNumberOutOfRange, 1, "1e400"},
      {nested(kMaxJsonDepth), Kind::kNone, 0, ""},
      {nested(kMaxJsonDepth + 1), Kind::kTooDeep, kMaxJsonDepth, ""},
      {nested(60'000), Kind::kTooDeep, kMaxJsonDepth, ""},
      {"[1,]", Kind::kSyntax, 3, ""},
      {"", Kind::kSyntax, 0, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 80));
    const JsonProblem problem = findJsonProblem(c.text);
    EXPECT_EQ(problem.kind, c.kind) << problem.describe();
    if (c.kind == Kind::kNone) continue;
    EXPECT_EQ(problem.offset, c.offset);
    if (c.kind == Kind::kNumberOutOfRange) {
      EXPECT_EQ(problem.detail, c.detail);
    }
  }
  EXPECT_EQ(findJsonProblem("[1e400]").describe(),
            "number out of range at byte 1: 1e400 (numbers must fit a double, up to about "
            "1.8e308, and integers 64 bits)");
  EXPECT_EQ(
      findJsonProblem("[1,]").describe().rfind("is not valid JSON: [json.exception.parse_error", 0),
      0u);
}

TEST(ParseJsonTest, RefusesUnderTheFieldAndAcceptsUpToTheLimit) {
  const struct {
    std::string text;
    std::string error;  // empty: accepted
  } cases[] = {
      {R"({"a":[1,{"b":"[[["}]})", ""},
      {nested(kMaxJsonDepth), ""},
      {"[99999999999999999999]", ""},  // nlohmann holds it as a double; only the webhook refuses
      {nested(kMaxJsonDepth + 1), "body: " + tooDeepMessage(kMaxJsonDepth)},
      {nested(60'000), "body: " + tooDeepMessage(kMaxJsonDepth)},
      {nested(1'500'000), "body: " + tooDeepMessage(kMaxJsonDepth)},  // 3 MB
      {R"({"n":1e400})",
       "body: number out of range at byte 5: 1e400 (numbers must fit a double, up to about "
       "1.8e308, and integers 64 bits)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 80));
    const auto parsed = parseJson(c.text, "body");
    if (c.error.empty()) {
      EXPECT_TRUE(parsed.ok()) << parsed.error().describe();
    } else {
      ASSERT_FALSE(parsed.ok());
      EXPECT_EQ(parsed.error().describe(), c.error);
    }
  }
  const auto syntax = parseJson("{", "status");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().describe().rfind("status: is not valid JSON: ", 0), 0u);
}

TEST(LongIntegersAsDoublesTest, WritesOnlyIntegersPast64BitsAsDoubles) {
  const struct {
    const char* text;
    std::optional<std::string> want;
  } cases[] = {
      {R"([1,-9223372036854775808,18446744073709551615,1e400,"18446744073709551616"])",
       std::nullopt},
      {"18446744073709551616", "18446744073709551616.0"},
      {R"({"a":[-9223372036854775809,"99999999999999999999",99999999999999999999]})",
       R"({"a":[-9223372036854775809.0,"99999999999999999999",99999999999999999999.0]})"},
      {R"(["\"",123456789012345678901234567890}x)", R"(["\"",123456789012345678901234567890.0}x)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(longIntegersAsDoubles(c.text), c.want) << c.text;
  }
  // What the retry is for: simdjson refuses the integer and reads the double as
  // nlohmann reads the integer.
  const std::string text = R"({"n":18446744073709551616})";
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_NE(parser.parse(text).get(root), simdjson::SUCCESS);
  ASSERT_EQ(parser.parse(*longIntegersAsDoubles(text)).get(root), simdjson::SUCCESS);
  EXPECT_EQ(double(root["n"]), json::parse(text)["n"].get<double>());
}

TEST(DepthLimitedParserTest, SimdjsonRefusesPastTheSameLimitAfterGrowing) {
  auto parser = depthLimitedParser<simdjson::dom::parser>();
  const std::string at_limit = nested(kMaxJsonDepth);
  const std::string past_limit = nested(kMaxJsonDepth + 1);
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(at_limit).get(root), simdjson::SUCCESS);
  EXPECT_EQ(parser.parse(past_limit).get(root), simdjson::DEPTH_ERROR);
  // A body larger than the first capacity reallocates; the limit stays.
  const std::string large = "[" + std::string(1 << 20, ' ') + nested(kMaxJsonDepth - 1) + "]";
  EXPECT_EQ(parser.parse(large).get(root), simdjson::SUCCESS);
  EXPECT_EQ(parser.parse(past_limit).get(root), simdjson::DEPTH_ERROR);
  EXPECT_EQ(parser.max_depth(), kMaxJsonDepth);
}

// Random valid JSON whose depth is known as it is written: strings full of
// brackets, quotes and backslashes (escaped), numbers, literals.
class JsonWriter {
 public:
  explicit JsonWriter(uint32_t seed) : rng_(seed) {}

  // A value at most `budget` deep; returns its depth.
  size_t value(std::string& out, size_t budget) {
    const int pick = pick_(rng_) % (budget == 0 ? 4 : 7);
    switch (pick) {
      case 0:
        out += std::to_string(static_cast<int>(rng_() % 2001) - 1000);
        if (rng_() % 3 == 0) out += "e" + std::to_string(rng_() % 300);
        return 0;
      case 1:
        str(out, "");
        return 0;
      case 2:
        out += (rng_() % 2 == 0) ? "true" : "null";
        return 0;
      case 3:
        out += "-0.5";
        return 0;
      default:
        break;
    }
    const bool object = pick == 6;
    out += object ? '{' : '[';
    size_t deepest = 0;
    const size_t count = rng_() % 4;
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) out += rng_() % 2 == 0 ? "," : " ,\n";
      if (object) {
        str(out, "k" + std::to_string(i));  // distinct keys: a repeated one would drop a member
        out += ':';
      }
      deepest = std::max(deepest, value(out, budget - 1));
    }
    out += object ? '}' : ']';
    return deepest + 1;
  }

 private:
  void str(std::string& out, const std::string& prefix) {
    static constexpr const char* kPieces[] = {"[", "]", "{",   "}",       "\\\"", "\\\\",
                                              "a", " ", "\\n", "\\u005b", ":",    ","};
    out += '"' + prefix;
    const size_t count = rng_() % 6;
    for (size_t i = 0; i < count; ++i) out += kPieces[rng_() % std::size(kPieces)];
    out += '"';
  }

  std::mt19937 rng_;
  std::uniform_int_distribution<int> pick_{0, 1 << 20};
};

TEST(JsonDepthPropertyTest, AgreesWithTheTreeOnRandomValidJson) {
  JsonWriter writer(20240611);
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const size_t depth = writer.value(text, 1 + i % 12);
    SCOPED_TRACE(text);
    const json parsed = json::parse(text, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded());
    ASSERT_EQ(treeDepth(parsed), depth);
    EXPECT_EQ(jsonNestingDepth(text), depth);
    EXPECT_EQ(findTooDeep(text, depth), std::nullopt);
    if (depth > 0) {
      EXPECT_TRUE(findTooDeep(text, depth - 1).has_value());
    }
    EXPECT_EQ(findJsonProblem(text).kind, Kind::kNone);
    // Every prefix is scanned without harm, and never deeper than the whole.
    const size_t cut = text.size() / 2;
    EXPECT_LE(jsonNestingDepth(std::string_view(text).substr(0, cut)), depth);
    (void)findJsonProblem(std::string_view(text).substr(0, cut));
  }
}

// Checks one arbitrary text: the scan never fails, never counts more levels
// than there are brackets, and agrees with the tree when nlohmann accepts it.
// Returns whether it was valid JSON.
bool checkArbitrary(const std::string& text) {
  SCOPED_TRACE(text);
  const size_t depth = jsonNestingDepth(text);
  EXPECT_LE(depth, static_cast<size_t>(std::count(text.begin(), text.end(), '[') +
                                       std::count(text.begin(), text.end(), '{')));
  EXPECT_EQ(findTooDeep(text, depth), std::nullopt);
  const JsonProblem problem = findJsonProblem(text);
  const json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) {
    EXPECT_NE(problem.kind, Kind::kNone);
    EXPECT_FALSE(parseJson(text, "body").ok());
    return false;
  }
  // nlohmann stops reading at a NUL byte outside a string, as at the end;
  // the scan reads on (refusing more, never less).
  const std::string read = text.substr(0, text.find('\0'));
  EXPECT_EQ(jsonNestingDepth(read), treeDepth(parsed));
  EXPECT_GE(depth, treeDepth(parsed));
  return true;
}

TEST(JsonDepthPropertyTest, RandomJsonishBytesNeverCrashAndAgreeWhenValid) {
  std::mt19937 rng(7);
  static constexpr char kAlphabet[] = "[]{}[]{}\"\"\\,: 1e-.a";
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % (i % 2 == 0 ? 40 : 6), ' ');
    for (char& c : text) {
      c = rng() % 16 == 0 ? static_cast<char>(rng() % 256)
                          : kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
    }
    checkArbitrary(text);
  }
}

TEST(JsonDepthPropertyTest, MutatedValidJsonNeverCrashesAndAgreesWhenStillValid) {
  JsonWriter writer(99);
  std::mt19937 rng(11);
  static constexpr char kBytes[] = "[]{}\"\\,:0e";
  size_t still_valid = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    (void)writer.value(text, 1 + i % 8);
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !text.empty(); --edits) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = kBytes[rng() % (sizeof(kBytes) - 1)];
          break;
        case 1:
          text.insert(at, 1, kBytes[rng() % (sizeof(kBytes) - 1)]);
          break;
        default:
          text.erase(at, 1);
          break;
      }
    }
    if (checkArbitrary(text)) ++still_valid;
  }
  EXPECT_GT(still_valid, 200u);  // the comparison with the tree did run
}

}  // namespace
}  // namespace mpshare::platform
