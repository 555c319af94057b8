#pragma once

// One AdmissionReview body in, one answer out: the path shared by
// `mpshare-webhook serve` (POST /mutate) and `mpshare-webhook review` (stdin).

#include <optional>
#include <string>
#include <string_view>

#include "core/mutation.h"
#include "webhook/config.h"

namespace mpshare::webhook {

enum class ReviewOutcome {
  kAllowed,     // allowed, nothing to change
  kPatched,     // allowed with a JSON Patch
  kDenied,      // allowed: false
  kBadRequest,  // not a usable AdmissionReview: HTTP 400
};

// "allowed", "patched", "denied", "bad_request" (the metrics label).
std::string_view outcomeLabel(ReviewOutcome outcome);

struct ReviewResult {
  ReviewOutcome outcome = ReviewOutcome::kAllowed;
  int http_status = 200;
  std::string body;  // response AdmissionReview, or {"error": "..."} for a bad request
  std::string error;  // the bad-request message (also in body)
  std::optional<core::DenialReason> denial;  // set when denied
};

// Parses, decides and answers. Never throws for any input bytes.
// Example: reviewAdmission(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
//   "request":{"uid":"u","operation":"DELETE","kind":{"group":"","version":"v1","kind":"Pod"}}})",
//   config).outcome == ReviewOutcome::kAllowed
ReviewResult reviewAdmission(std::string_view body, const Config& config);

}  // namespace mpshare::webhook
