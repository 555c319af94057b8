#pragma once

// Standard base64 decoding for tests that read a patch back.

#include <stdexcept>
#include <string>
#include <string_view>

namespace mpshare::webhook::testing {

// Decodes padded standard base64; throws std::invalid_argument on anything else,
// so a test also catches a response that is not strictly padded.
inline std::string base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) throw std::invalid_argument("base64 length not a multiple of 4");
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    throw std::invalid_argument(std::string("not a base64 character: ") + c);
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool pad2 = text[i + 2] == '=';
    const bool pad3 = text[i + 3] == '=';
    if ((pad2 && !pad3) || ((pad2 || pad3) && i + 4 != text.size())) {
      throw std::invalid_argument("misplaced base64 padding");
    }
    const int n = (value(text[i]) << 18) | (value(text[i + 1]) << 12) |
                  (pad2 ? 0 : value(text[i + 2]) << 6) | (pad3 ? 0 : value(text[i + 3]));
    out += static_cast<char>((n >> 16) & 0xff);
    if (!pad2) out += static_cast<char>((n >> 8) & 0xff);
    if (!pad3) out += static_cast<char>(n & 0xff);
  }
  return out;
}

}  // namespace mpshare::webhook::testing
