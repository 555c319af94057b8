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
#include <set>
#include <string>
#include <string_view>
#include <vector>

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

// True when some object in `text` (one JSON document) names a key twice.
// RFC 8259 leaves duplicates to the parser: nlohmann keeps the last value,
// simdjson's on-demand lookup finds the first, so two readers may both be
// right and still disagree. kube-scheduler and the API server never send such
// documents (Go's encoder writes each field once).
inline bool hasDuplicateKeys(std::string_view text) {
  struct Keys : nlohmann::json_sax<nlohmann::json> {
    std::vector<std::set<std::string>> open;
    bool duplicate = false;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override {
      open.emplace_back();
      return true;
    }
    bool key(string_t& name) override {
      if (!open.back().insert(name).second) duplicate = true;
      return !duplicate;
    }
    bool end_object() override {
      open.pop_back();
      return true;
    }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
      return false;
    }
  } keys;
  nlohmann::json::sax_parse(text, &keys, nlohmann::json::input_format_t::json, /*strict=*/true);
  return keys.duplicate;
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
