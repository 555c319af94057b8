// libFuzzer target (clang only): build with the webhook_admission_fuzzer target,
// run e.g. `webhook_admission_fuzzer -max_total_time=60 tests/fixtures/admission/*/`.

#include <cstdio>
#include <cstdlib>

#include "tests/webhook/admission_fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string broken = mpshare::webhook::testing::checkReviewInvariants(data, size);
  if (!broken.empty()) {
    std::fprintf(stderr, "%s\n", broken.c_str());
    std::abort();
  }
  return 0;
}
