// Replays files through the fuzz targets' LLVMFuzzerTestOneInput functions
// without libFuzzer, in the normal (g++) build: every seed corpus file and
// every saved crash (tests/fuzz/regressions/<target>/) stays a test in CI.
//
// usage: mpshare_fuzz_replay DIR...   replays DIR/<target>/** through <target>
//
// Each target's source is compiled with LLVMFuzzerTestOneInput renamed to
// mpshare_fuzz_<target> (tests/fuzz/CMakeLists.txt), so one binary holds all.
// A broken invariant aborts; the file being replayed is printed first.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define MPSHARE_FUZZ_TARGET(name) extern "C" int mpshare_fuzz_##name(const uint8_t*, size_t);
#include "fuzz_targets.inc"
#undef MPSHARE_FUZZ_TARGET

namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  int (*run)(const uint8_t*, size_t);
};

#define MPSHARE_FUZZ_TARGET(name) {#name, &mpshare_fuzz_##name},
constexpr Target kTargets[] = {
#include "fuzz_targets.inc"
};
#undef MPSHARE_FUZZ_TARGET

std::vector<fs::path> filesUnder(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.') {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR...  (replays DIR/<target>/** through each target)\n",
                 argv[0]);
    return 2;
  }
  size_t total = 0;
  for (const Target& target : kTargets) {
    size_t replayed = 0;
    for (int i = 1; i < argc; ++i) {
      for (const fs::path& file : filesUnder(fs::path(argv[i]) / target.name)) {
        std::ifstream in(file, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
        std::fprintf(stderr, "%s < %s\n", target.name, file.c_str());
        std::fflush(stderr);
        target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        ++replayed;
      }
    }
    std::printf("%-18s %zu inputs\n", target.name, replayed);
    total += replayed;
  }
  if (total == 0) {
    std::fprintf(stderr, "no inputs found under the given directories\n");
    return 1;
  }
  std::printf("replayed %zu inputs through %zu targets\n", total, std::size(kTargets));
  return 0;
}
