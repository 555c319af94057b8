#pragma once

// A pure, incremental parser for a watch response's body: the stream of
// concatenated JSON objects that Beast's parser hands over de-chunked. It
// accepts bytes split at any point (a TCP read, a TLS record, a chunk) and
// never assumes an event lines up with a chunk, so it can be fed random
// splits in tests.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mpshare::platform {

// Splits a byte stream of JSON objects ({...}{...} with optional whitespace or
// newlines between them) into one string per complete object.
// Example: feed("{\"a\":1}\n{\"b\"") -> ["{\"a\":1}"]; feed(":2}") -> ["{\"b\":2}"].
class JsonObjectSplitter {
 public:
  // Appends every object completed by `bytes` to `out`. A byte outside an object
  // that is not whitespace is an error naming it; the splitter is then unusable.
  core::Status feed(std::string_view bytes, std::vector<std::string>& out);
  // True while part of an object has been seen but not its end (a stream cut
  // here lost an event).
  [[nodiscard]] bool midObject() const { return depth_ > 0; }

 private:
  std::string current_;
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
  bool failed_ = false;
};

}  // namespace mpshare::platform
