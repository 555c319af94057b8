#pragma once

// Whole-file reads for tests. A missing fixture throws (GoogleTest reports it as
// a failure naming the path) instead of reading as an empty string that some
// assertion might still accept.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mpshare::testing_support {

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace mpshare::testing_support
