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
        return core::invalidArgument("watch stream", std::string("expected '{' between events, got byte ") +
                                                         shown);
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

core::Status ChunkedDecoder::feed(std::string_view bytes, std::string& out) {
  size_t i = 0;
  while (i < bytes.size() && state_ != State::kDone) {
    switch (state_) {
      case State::kSize:
      case State::kTrailer:
      case State::kDataEnd: {
        const char c = bytes[i++];
        if (c != '\n') {
          line_.push_back(c);
          if (line_.size() > 1024) return core::invalidArgument("chunked body", "line longer than 1024 bytes");
          continue;
        }
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        std::string line = std::move(line_);
        line_.clear();
        if (state_ == State::kDataEnd) {
          if (!line.empty()) return core::invalidArgument("chunked body", "missing CRLF after chunk data");
          state_ = State::kSize;
        } else if (state_ == State::kTrailer) {
          if (line.empty()) state_ = State::kDone;
        } else {
          const auto semicolon = line.find(';');
          const std::string hex = line.substr(0, semicolon);
          if (hex.empty() || hex.size() > 15 ||
              hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
            return core::invalidArgument("chunked body", "bad chunk size line \"" + line + "\"");
          }
          remaining_ = std::stoull(hex, nullptr, 16);
          state_ = remaining_ == 0 ? State::kTrailer : State::kData;
        }
        break;
      }
      case State::kData: {
        const size_t take = std::min(remaining_, bytes.size() - i);
        out.append(bytes.substr(i, take));
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDataEnd;
        break;
      }
      case State::kDone:
        break;
    }
  }
  return {};
}

}  // namespace mpshare::platform
