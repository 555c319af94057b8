// Bind bodies from kube-scheduler (extender/wire.h parseBindingArgs).
// Invariants: no exception; an accepted body names a pod and a node; the bind
// answer carrying any error text read from it is JSON.

#include <string>

#include "extender/wire.h"
#include "tests/fuzz/fuzz_check.h"

using mpshare::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto body = mpshare::fuzz::asText(data, size);
  mpshare::fuzz::noThrow("parseBindingArgs", [&] {
    const auto args = mpshare::extender::parseBindingArgs(body);
    if (!args.ok()) {
      const std::string answer = mpshare::extender::renderBindingResult(args.error().describe());
      check(mpshare::fuzz::isJson(answer), "the bind error answer is not JSON: " + answer);
      return;
    }
    const std::string answer = mpshare::extender::renderBindingResult(
        "cannot bind " + args->pod_name + " to " + args->node);
    check(mpshare::fuzz::isJson(answer), "the bind answer is not JSON: " + answer);
  });
  return 0;
}
