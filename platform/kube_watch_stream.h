#pragma once

// Pure, incremental parsers for a watch response: the HTTP/1.1 chunked transfer
// coding, and the stream of concatenated JSON objects inside it. Both accept
// bytes split at any point (a TCP read, a TLS record, a chunk) and never assume
// an event lines up with a chunk, so they can be fed random splits in tests.

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

// Decodes Transfer-Encoding: chunked (RFC 9112 section 7.1), ignoring chunk
// extensions and trailers. Example: feed("5\r\nhello\r\n0\r\n\r\n") -> "hello", done.
class ChunkedDecoder {
 public:
  // Appends decoded payload to `out`. Errors on a malformed size line.
  core::Status feed(std::string_view bytes, std::string& out);
  // The terminating zero-size chunk (and trailer) has been read.
  [[nodiscard]] bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  std::string line_;
  size_t remaining_ = 0;
};

}  // namespace mpshare::platform
