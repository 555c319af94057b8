#include "platform/kube_watch_stream.h"

#include <cctype>
#include <cstdio>

namespace mpshare::platform {

core::Status JsonObjectSplitter::feed(std::string_view bytes, std::vector<std::string>& out) {
  if (failed_) return core::invalidArgument("watch stream", "splitter already failed");
  for (const char c : bytes) {
    if (depth_ == 0) {
      if (std::isspace(static_cast<unsigned char>(c))) continue;
      if (c != '{') {
        failed_ = true;
        char shown[8];
        std::snprintf(shown, sizeof(shown), "0x%02x", static_cast<unsigned char>(c));
        return core::invalidArgument("watch stream",
                                     std::string("expected '{' between events, got byte ") + shown);
      }
    }
    current_.push_back(c);
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        out.push_back(std::move(current_));
        current_.clear();
      }
    }
  }
  return {};
}

}  // namespace mpshare::platform
