// platform/base64: RFC 4648's test vectors both ways, and a strict decoder that
// names what it refused (a patch or kubeconfig field that is not padded
// standard base64 must not decode to something else).

#include "platform/base64.h"

#include <gtest/gtest.h>

#include <random>

namespace mpshare::platform {
namespace {

TEST(Base64Test, Rfc4648VectorsBothWays) {
  const struct {
    std::string bytes;
    std::string text;
  } cases[] = {{"", ""},
               {"f", "Zg=="},
               {"fo", "Zm8="},
               {"foo", "Zm9v"},
               {"foob", "Zm9vYg=="},
               {"fooba", "Zm9vYmE="},
               {"foobar", "Zm9vYmFy"},
               {"\xff\xfe\xfd", "//79"},
               {std::string("\0\0", 2), "AAA="}};
  for (const auto& c : cases) {
    EXPECT_EQ(base64Encode(c.bytes), c.text) << c.text;
    const auto decoded = base64Decode(c.text);
    ASSERT_TRUE(decoded.ok()) << c.text << ": " << decoded.error().describe();
    EXPECT_EQ(*decoded, c.bytes) << c.text;
  }
}

TEST(Base64Test, AppendsAfterWhatIsThere) {
  std::string out = R"({"patch":")";
  appendBase64(out, "foob");
  EXPECT_EQ(out, R"({"patch":"Zm9vYg==)");
}

TEST(Base64Test, RandomBytesRoundTrip) {
  std::mt19937 rng(4648);
  for (int size = 0; size < 200; ++size) {
    std::string bytes(static_cast<size_t>(size), '\0');
    for (char& b : bytes) b = static_cast<char>(rng() & 0xff);
    const std::string text = base64Encode(bytes);
    EXPECT_EQ(text.size(), (bytes.size() + 2) / 3 * 4);
    const auto decoded = base64Decode(text);
    ASSERT_TRUE(decoded.ok()) << decoded.error().describe();
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base64Test, DecoderRefusesAllButPaddedStandardBase64) {
  const struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"Zg", "is not valid base64: length 2 is not a multiple of 4"},
      {"Zg=", "is not valid base64: length 3 is not a multiple of 4"},
      {"Zm9v\nYg==", "is not valid base64: length 9 is not a multiple of 4"},
      {"Zm9 ",
       "is not valid base64: not a base64 character ' ' at 3 "
       "(allowed: A-Z a-z 0-9 + / and = at the end)"},
      {"Zm-_",
       "is not valid base64: not a base64 character '-' at 2 "
       "(allowed: A-Z a-z 0-9 + / and = at the end)"},
      {"Z=9v",
       "is not valid base64: not a base64 character '=' at 1 "
       "(allowed: A-Z a-z 0-9 + / and = at the end)"},
      {"Zg==Zg==",
       "is not valid base64: not a base64 character '=' at 2 "
       "(allowed: A-Z a-z 0-9 + / and = at the end)"},
      {"====",
       "is not valid base64: not a base64 character '=' at 0 "
       "(allowed: A-Z a-z 0-9 + / and = at the end)"},
  };
  for (const auto& c : cases) {
    const auto decoded = base64Decode(c.text);
    ASSERT_FALSE(decoded.ok()) << c.text;
    EXPECT_EQ(decoded.error().describe(), c.error) << c.text;
  }
}

}  // namespace
}  // namespace mpshare::platform
