#include "platform/yaml_json.h"

#include <gtest/gtest.h>

#include "platform/json_limits.h"

namespace mpshare::platform {
namespace {

using nlohmann::json;

constexpr std::string_view kNode = R"(
metadata:
  name: gpu-a
  labels:
    nvidia.com/gpu.count: 8
    nvidia.com/gpu.memory: "81559"
spec:
  unschedulable: false
  taints: ~
)";

TEST(YamlJsonTest, StringsModeKeepsEveryScalarAString) {
  auto document = yamlToJson(kNode, YamlScalars::kStrings);
  ASSERT_TRUE(document.ok()) << document.error().describe();
  EXPECT_EQ(document->at("metadata").at("labels").at("nvidia.com/gpu.count"), json("8"));
  EXPECT_EQ(document->at("metadata").at("labels").at("nvidia.com/gpu.memory"), json("81559"));
  EXPECT_EQ(document->at("spec").at("unschedulable"), json("false"));
}

TEST(YamlJsonTest, TypedModeConvertsPlainScalarsLikeKubectlAndKeepsQuotedOnes) {
  auto document = yamlToJson(kNode, YamlScalars::kTyped);
  ASSERT_TRUE(document.ok()) << document.error().describe();
  EXPECT_EQ(document->at("metadata").at("labels").at("nvidia.com/gpu.count"), json(8));
  EXPECT_EQ(document->at("metadata").at("labels").at("nvidia.com/gpu.memory"), json("81559"));
  EXPECT_EQ(document->at("spec").at("unschedulable"), json(false));
  EXPECT_TRUE(document->at("spec").at("taints").is_null());
  EXPECT_EQ(document->at("metadata").at("name"), json("gpu-a"));
}

TEST(YamlJsonTest, IntegersTooLargeForInt64StayDigits) {
  auto document = yamlToJson("size: 123456789012345678901234567890\n", YamlScalars::kTyped);
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(document->at("size"), json("123456789012345678901234567890"));
}

TEST(YamlJsonTest, JsonReadsAsYaml) {
  auto document = yamlToJson(R"({"items": [{"a": "1"}, {"b": 2}]})", YamlScalars::kTyped);
  ASSERT_TRUE(document.ok());
  EXPECT_EQ(*document, json::parse(R"({"items": [{"a": "1"}, {"b": 2}]})"));
}

TEST(YamlJsonTest, MalformedYamlIsAnErrorWithItsPosition) {
  auto document = yamlToJson("items: [\n  a: b\n", YamlScalars::kStrings);
  ASSERT_FALSE(document.ok());
  EXPECT_EQ(document.error().message.rfind("is not valid YAML or JSON", 0), 0u)
      << document.error().message;
  EXPECT_NE(document.error().message.find("line"), std::string::npos) << document.error().message;
}

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A mapping `depth` deep in block style: "a:\n  a:\n    a: x\n".
std::string blockNested(size_t depth) {
  std::string text;
  for (size_t i = 0; i < depth; ++i) {
    text += std::string(2 * i, ' ') + (i + 1 < depth ? "a:\n" : "a: x\n");
  }
  return text;
}

TEST(YamlJsonTest, NestingPastTheJsonLimitIsRefusedAtAnyDepth) {
  const struct {
    const char* name;
    std::string text;
    std::string error;  // empty: accepted
  } cases[] = {
      {"flow, at the limit", nested(kMaxJsonDepth), ""},
      {"flow, one past", nested(kMaxJsonDepth + 1), tooDeepMessageAt("line 1, column 257")},
      {"block, at the limit", blockNested(kMaxJsonDepth), ""},
      {"block, one past", blockNested(kMaxJsonDepth + 1), tooDeepMessageAt("line 257, column 513")},
      // yaml-cpp's own guard stops its recursive parser at 2,000 levels.
      {"flow, 60,000 deep", nested(60'000), tooDeepMessageAt("")},
      {"brackets in a string", "\"" + nested(60'000) + "\"", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (const YamlScalars scalars : {YamlScalars::kStrings, YamlScalars::kTyped}) {
      const auto document = yamlToJson(c.text, scalars);
      if (c.error.empty()) {
        EXPECT_TRUE(document.ok()) << document.error().describe();
      } else {
        ASSERT_FALSE(document.ok());
        EXPECT_EQ(document.error().message, c.error);
      }
    }
  }
}

TEST(YamlJsonTest, AliasesThatMultiplyAreRefusedAndPlainOnesKept) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {  // 10^9 values from about 400 bytes
    const std::string prev = "*a" + std::to_string(i - 1);
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) bomb += (j > 0 ? ", " : "") + prev;
    bomb += "]\n";
  }
  const auto refused = yamlToJson(bomb, YamlScalars::kStrings);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(
      refused.error().message.rfind("expands to more values than its size allows, at line ", 0), 0u)
      << refused.error().message;

  const auto kept = yamlToJson("base: &b {x: 1}\nfirst: *b\nsecond: *b\n", YamlScalars::kTyped);
  ASSERT_TRUE(kept.ok()) << kept.error().describe();
  EXPECT_EQ(kept->at("second"), json({{"x", 1}}));
}

}  // namespace
}  // namespace mpshare::platform
