#include "platform/base64.h"

#include <openssl/evp.h>

namespace mpshare::platform {
namespace {

bool isBase64Character(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// No field: the caller knows which input it decoded and names it.
core::Error notBase64(const std::string& what) {
  return core::invalidArgument("", "is not valid base64: " + what);
}

}  // namespace

void appendBase64(std::string& out, std::string_view bytes) {
  const size_t start = out.size();
  // EVP_EncodeBlock writes a NUL after the text: room for it, then cut it off.
  out.resize(start + (bytes.size() + 2) / 3 * 4 + 1);
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(start + static_cast<size_t>(written));
}

std::string base64Encode(std::string_view bytes) {
  std::string out;
  appendBase64(out, bytes);
  return out;
}

core::Result<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return notBase64("length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  // EVP_DecodeBlock skips whitespace and takes '=' anywhere; the checks are ours.
  const size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  for (size_t i = 0; i + padding < text.size(); ++i) {
    if (!isBase64Character(text[i])) {
      return notBase64(std::string("not a base64 character '") + text[i] + "' at " +
                       std::to_string(i) + " (allowed: A-Z a-z 0-9 + / and = at the end)");
    }
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (decoded < 0) return notBase64("OpenSSL refused it");
  // EVP_DecodeBlock counts the zero bytes that the padding stands for.
  out.resize(static_cast<size_t>(decoded) - padding);
  return out;
}

}  // namespace mpshare::platform
