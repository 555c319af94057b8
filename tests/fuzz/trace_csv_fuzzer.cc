// The Alibaba GPU-sharing trace's CSV files (extender/simulate/trace.h
// parseNodeCsv, parsePodCsv).
// Invariants: no exception escapes; a refused file names the source.

#include <sstream>
#include <string>

#include "extender/simulate/trace.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(mpshare::fuzz::asText(data, size));
  mpshare::fuzz::noThrow("trace CSV readers", [&] {
    std::istringstream nodes_in(text);
    const auto nodes = mpshare::extender::parseNodeCsv(nodes_in, "nodes.csv");
    if (!nodes.ok()) {
      check(nodes.error().describe().find("nodes.csv") != std::string::npos,
            "a node CSV error does not name its source: " + nodes.error().describe());
    }
    std::istringstream pods_in(text);
    const auto pods = mpshare::extender::parsePodCsv(pods_in, "pods.csv");
    if (!pods.ok()) {
      check(pods.error().describe().find("pods.csv") != std::string::npos,
            "a pod CSV error does not name its source: " + pods.error().describe());
    }
  });
  return 0;
}
