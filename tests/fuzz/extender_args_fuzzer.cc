// Filter and prioritize bodies from kube-scheduler (extender/wire.h).
// Invariants: no exception; the simdjson path (parseExtenderArgs) and the
// nlohmann path (parseExtenderArgsGeneral) agree on accepting a body and on the
// pod and node names read, unless the body names a key twice (the two parsers
// then read different values, both allowed: fuzz_check.h); a filter answer
// for an accepted body is JSON.

#include <string>

#include "extender/wire.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto body = mpshare::fuzz::asText(data, size);
  mpshare::fuzz::noThrow("parseExtenderArgs", [&] {
    const auto fast = mpshare::extender::parseExtenderArgs(body);
    const auto general = mpshare::extender::parseExtenderArgsGeneral(body);
    const bool comparable = !mpshare::fuzz::hasDuplicateKeys(body);
    if (comparable && fast.ok() != general.ok()) {
      mpshare::fuzz::fail(fast.ok() ? "only the general path refused: " + general.error().describe()
                                    : "only the fast path refused: " + fast.error().describe());
    }
    if (!fast.ok()) return;
    mpshare::extender::FilterResult result;
    result.passed = fast->node_names;
    const std::string answer = mpshare::extender::renderFilterResult(result, *fast);
    check(mpshare::fuzz::isJson(answer), "the filter answer is not JSON: " + answer);
    if (!comparable || !general.ok()) return;
    check(fast->pod.key() == general->pod.key(),
          "pod read differently: " + fast->pod.key() + " vs " + general->pod.key());
    check(fast->node_names == general->node_names, "node names read differently");
    check(fast->pod.containers.size() == general->pod.containers.size(),
          "containers read differently");
  });
  return 0;
}
