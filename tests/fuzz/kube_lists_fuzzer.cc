// kubectl get nodes/pods -o yaml|json output for the simulator
// (extender/simulate/kube_lists.h parseNodeList, parsePodList).
// Invariants: no exception escapes; a refused list names the source.

#include <sstream>
#include <string>

#include "extender/simulate/kube_lists.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(mpshare::fuzz::asText(data, size));
  mpshare::fuzz::noThrow("kube list readers", [&] {
    std::istringstream nodes_in(text);
    const auto nodes = mpshare::extender::parseNodeList(nodes_in, "nodes.yaml");
    if (!nodes.ok()) {
      check(nodes.error().describe().find("nodes.yaml") != std::string::npos,
            "a node list error does not name its source: " + nodes.error().describe());
    }
    std::istringstream pods_in(text);
    const auto pods = mpshare::extender::parsePodList(pods_in, "pods.yaml");
    if (!pods.ok()) {
      check(pods.error().describe().find("pods.yaml") != std::string::npos,
            "a pod list error does not name its source: " + pods.error().describe());
    }
  });
  return 0;
}
