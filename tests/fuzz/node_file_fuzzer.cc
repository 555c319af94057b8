// The extender's --nodes file: a NodeList in YAML or JSON (extender/node_file.h).
// Invariants: no exception escapes; every node read has a name; a refused
// file says why.

#include <string>

#include "extender/node_file.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = mpshare::fuzz::asText(data, size);
  mpshare::fuzz::noThrow("parseNodeList", [&] {
    const auto nodes = mpshare::extender::parseNodeList(text);
    if (!nodes.ok()) {
      mpshare::fuzz::check(!nodes.error().describe().empty(),
                           "a refused node list without a message");
      return;
    }
    for (const auto& node : *nodes) {
      mpshare::fuzz::check(!node.name.empty(), "a node without a name was accepted");
    }
  });
  return 0;
}
