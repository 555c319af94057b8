#pragma once

// Shared by the fuzz targets in this folder. Each target is one
// LLVMFuzzerTestOneInput: libFuzzer drives it in the clang build (run.sh), and
// replay_main.cc drives the same function over the seed corpora and saved
// crashes in the normal build (CTest fuzz_regressions). A broken invariant
// aborts, which both libFuzzer and the replay report as a failure.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

// Every target defines it; declared here for -Wmissing-declarations. The
// replay build renames it per target (mpshare_fuzz_<target>).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace mpshare::fuzz {

inline std::string_view asText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Stops the run with `what` on stderr: an invariant does not hold.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void check(bool holds, const std::string& what) {
  if (!holds) fail(what);
}

// True when `text` is one JSON document (nlohmann's parser, no exceptions).
inline bool isJson(std::string_view text) {
  return !nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false).is_discarded();
}

// Runs `body`; an exception escaping the adapter under test breaks the
// "parsers answer with a Result, never throw" rule.
template <typename Body>
void noThrow(const char* what, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    fail(std::string(what) + " threw: " + e.what());
  } catch (...) {
    fail(std::string(what) + " threw a non-std exception");
  }
}

}  // namespace mpshare::fuzz
