#pragma once

// The log lines a test provokes, captured instead of written to stderr, so the
// test can assert on them: platform/logging.h writes to this while it lives.

#include <sstream>
#include <string>
#include <vector>

#include "platform/logging.h"

namespace mpshare::testing_support {

class CapturedLog {
 public:
  CapturedLog() { platform::setLogStream(&stream_); }
  ~CapturedLog() { platform::setLogStream(nullptr); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  // Everything logged so far, as written.
  [[nodiscard]] std::string str() const { return stream_.str(); }
  // One entry a line, without the timestamp that starts it.
  [[nodiscard]] std::vector<std::string> lines() const {
    std::vector<std::string> lines;
    std::istringstream in(stream_.str());
    for (std::string line; std::getline(in, line);)
      lines.push_back(line.substr(line.find(' ') + 1));
    return lines;
  }

 private:
  std::ostringstream stream_;
};

}  // namespace mpshare::testing_support
