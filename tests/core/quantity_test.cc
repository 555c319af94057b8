#include "core/quantity.h"

#include <gtest/gtest.h>

namespace mpshare::core {
namespace {

struct MibCase {
  const char* text;
  int64_t mib;
};

TEST(QuantityTest, FloorsToWholeMiB) {
  const MibCase cases[] = {
      {"4Gi", 4096},      {"1.5Gi", 1536},    {"512Mi", 512},      {"8G", 7629},
      {"1048576", 1},     {"1048575", 0},     {"1e9", 953},        {"1E9", 953},
      {"2048Ki", 2},      {"1Ti", 1048576},   {".5Gi", 512},       {"1.Gi", 1024},
      {"+4Gi", 4096},     {"0.25Ti", 262144}, {"1000000k", 953},   {"1e+9", 953},
      {"3000000000m", 2}, {"0001Gi", 1024},   {"1.50000Gi", 1536}, {"16Ei", 17179869184LL * 1024},
  };
  for (const auto& c : cases) {
    auto q = parseQuantity(c.text);
    ASSERT_TRUE(q.ok()) << c.text << ": " << q.error().describe();
    EXPECT_EQ(q->floorDiv(kMiB), c.mib) << c.text;
  }
}

TEST(QuantityTest, RejectsMalformedWithReason) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"Gi", "start with a number"},
      {"4GB", "unknown suffix \"GB\""},
      {"4 Gi", "unknown suffix"},
      {"1.2.3", "more than one '.'"},
      {"4gi", "unknown suffix"},
      {"1e", "unknown suffix"},
      {"1e1.5", "exponent must be an integer"},
      {"--1", "start with a number"},
      {"1234567890123456789012345", "significant digits"},
  };
  for (const auto& c : cases) {
    auto q = parseQuantity(c.text);
    ASSERT_FALSE(q.ok()) << c.text;
    EXPECT_NE(q.error().message.find(c.reason), std::string::npos)
        << c.text << " -> " << q.error().message;
  }
}

TEST(QuantityTest, SignAndZero) {
  EXPECT_TRUE(parseQuantity("-1Gi")->isNegative());
  EXPECT_FALSE(parseQuantity("-1Gi")->floorDiv(kMiB).has_value());
  EXPECT_TRUE(parseQuantity("0")->isZero());
  EXPECT_TRUE(parseQuantity("-0")->isZero());
  EXPECT_FALSE(parseQuantity("-0")->isNegative());
}

TEST(QuantityTest, ExactInteger) {
  EXPECT_EQ(parseQuantity("2")->exactInteger(), 2);
  EXPECT_EQ(parseQuantity("2000m")->exactInteger(), 2);
  EXPECT_EQ(parseQuantity("1e3")->exactInteger(), 1000);
  EXPECT_EQ(parseQuantity("-3")->exactInteger(), -3);
  EXPECT_FALSE(parseQuantity("500m")->exactInteger().has_value());
  EXPECT_FALSE(parseQuantity("1.5")->exactInteger().has_value());
}

TEST(QuantityTest, HugeValuesDoNotOverflow) {
  auto q = parseQuantity("999999999999999999999999E");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->floorDiv(kMiB).has_value());
  EXPECT_FALSE(parseQuantity("1e31").ok());
}

}  // namespace
}  // namespace mpshare::core
