#include "platform/json_text.h"

#include <array>
#include <cstdint>

namespace mpshare::platform {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Bytes that cannot be copied as they are: control characters, the quote,
// the backslash, and every byte of a multi-byte UTF-8 sequence (checked).
constexpr std::array<bool, 256> kNeedsCare = [] {
  std::array<bool, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    table[byte] = byte < 0x20 || byte == '"' || byte == '\\' || byte >= 0x80;
  }
  return table;
}();

bool needsCare(unsigned char byte) { return kNeedsCare[byte]; }

void appendEscaped(std::string& out, unsigned char byte) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (byte) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      out += "\\u00";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
  }
}

// How many bytes from text[i] form a valid UTF-8 sequence (Unicode table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF) when positive;
// when not, minus the number of bytes that began one before it broke off
// (-1 for a byte that cannot start a sequence). nlohmann re-reads the byte a
// sequence broke at, so a broken sequence of n good bytes is one U+FFFD and
// the next sequence starts after those n.
int validSequence(std::string_view text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  int length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k < length; ++k) {
    if (i + k >= text.size()) return -k;
    const auto byte = static_cast<unsigned char>(text[i + k]);
    const unsigned char lo = k == 1 ? low : 0x80;
    const unsigned char hi = k == 1 ? high : 0xBF;
    if (byte < lo || byte > hi) return -k;
  }
  return length;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    // Copy the longest plain run in one go: most strings are all plain.
    const char* data = text.data();
    const size_t size = text.size();
    size_t run = i;
    while (run < size && !needsCare(static_cast<unsigned char>(data[run]))) ++run;
    out.append(data + i, run - i);
    i = run;
    if (i == text.size()) break;
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      appendEscaped(out, byte);
      ++i;
      continue;
    }
    const int valid = validSequence(text, i);
    if (valid > 0) {
      out.append(text.data() + i, static_cast<size_t>(valid));
      i += static_cast<size_t>(valid);
    } else {
      out += kReplacement;
      i += static_cast<size_t>(-valid);
    }
  }
  out += '"';
}

std::string jsonString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  appendJsonString(out, text);
  return out;
}

std::string errorJson(std::string_view message) {
  std::string out = R"({"error":)";
  appendJsonString(out, message);
  out += '}';
  return out;
}

}  // namespace mpshare::platform
