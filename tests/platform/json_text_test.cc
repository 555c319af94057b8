// platform::appendJsonString must write exactly the bytes nlohmann's
// dump(-1, ' ', false, replace) writes, so answers do not change with the way
// they are built: table cases for each escape, then random byte strings
// (invalid UTF-8 included) compared byte for byte.

#include "platform/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace mpshare::platform {
namespace {

std::string nlohmannDump(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

TEST(JsonTextTest, EscapesAsJsonRequires) {
  const struct {
    std::string in;
    const char* out;
  } cases[] = {
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"a\"b\\c", R"("a\"b\\c")"},
      {"\b\f\n\r\t", R"("\b\f\n\r\t")"},
      {std::string("\x00\x01\x1f", 3), R"("\u0000\u0001\u001f")"},
      {"\x7f", "\"\x7f\""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      {"\xff", "\"\xef\xbf\xbd\""},    // never a UTF-8 byte
      {"\xc3", "\"\xef\xbf\xbd\""},    // cut short at the end
      {"\xc3(", "\"\xef\xbf\xbd(\""},  // broken: the next byte is read again
      {"\xe0\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},                  // overlong
      {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},                  // a surrogate
      {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},  // > U+10FFFF
  };
  for (const auto& c : cases) {
    EXPECT_EQ(jsonString(c.in), c.out) << c.in;
    EXPECT_EQ(jsonString(c.in), nlohmannDump(c.in)) << c.in;
  }
}

TEST(JsonTextTest, AppendsToWhatIsThere) {
  std::string out = "[";
  appendJsonString(out, "a");
  out += ',';
  appendJsonString(out, "b\n");
  EXPECT_EQ(out, R"(["a","b\n")");
}

// Strings drawn mostly from bytes where UTF-8 decoding has edges (lead bytes,
// continuation bytes, the bounds of tables 3-7), so broken sequences of every
// length come up often.
TEST(JsonTextTest, RandomBytesMatchNlohmannByteForByte) {
  const unsigned char kEdges[] = {0x00, 0x1f, 0x20, '"',  '\\', 'a',  0x7f, 0x80, 0x8f, 0x90,
                                  0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec,
                                  0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};
  std::mt19937 rng(20261125);
  for (int i = 0; i < 200000; ++i) {
    std::string text(rng() % 12, '\0');
    for (auto& c : text) {
      c = static_cast<char>(rng() % 4 == 0 ? rng() : kEdges[rng() % sizeof(kEdges)]);
    }
    ASSERT_EQ(jsonString(text), nlohmannDump(text)) << "iteration " << i;
  }
}

}  // namespace
}  // namespace mpshare::platform
