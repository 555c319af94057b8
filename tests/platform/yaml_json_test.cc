#include "platform/yaml_json.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mpshare::platform
