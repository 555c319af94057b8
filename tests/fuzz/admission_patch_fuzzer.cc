// The whole review path (tests/webhook/admission_fuzz_entry.h): beyond what
// admission_review checks, a 200 answer's JSON Patch applies to the pod it
// was computed for, and patch and patchType come together.

#include "tests/fuzz/fuzz_check.h"
#include "tests/webhook/admission_fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string broken = mpshare::webhook::testing::checkReviewInvariants(data, size);
  if (!broken.empty()) mpshare::fuzz::fail(broken);
  return 0;
}
