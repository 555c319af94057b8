#pragma once

// One fuzz input through the whole review path (parse, decide, patch, answer),
// with the invariants every answer must keep. Shared by the libFuzzer target
// (clang builds) and the seeded-mutation gtest that CI runs everywhere.

#include <cstddef>
#include <cstdint>
#include <string>

namespace mpshare::webhook::testing {

// Empty when the invariants hold, else what broke. Invariants: no exception;
// 400 answers carry {"error": ...}; 200 answers are an AdmissionReview echoing
// request.uid, with patch iff patchType, and a patch that applies to the pod.
std::string checkReviewInvariants(const uint8_t* data, size_t size);

}  // namespace mpshare::webhook::testing
