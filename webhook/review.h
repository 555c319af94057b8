#pragma once

// One AdmissionReview body in, one answer out: the path shared by
// `mpshare-webhook serve` (POST /mutate) and `mpshare-webhook review` (stdin),
// and the wrapping that lets `review --pod FILE` check a bare Pod manifest.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mutation.h"
#include "core/result.h"
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
  std::string body;   // response AdmissionReview, or {"error": "..."} for a bad request
  std::string error;  // the bad-request message (also in body)
  std::optional<core::DenialReason> denial;  // set when denied
  std::string denial_message;                // set when denied (also in body)
  std::string patch;                         // the JSON Patch, plain; empty unless patched
  std::vector<std::string> warnings;         // admission warnings (also in body)
  std::string uid;                           // request.uid; empty for a bad request
  // Who was denied, for the log: "namespace/name", or "namespace/generateName"
  // while the API server has not named the pod yet (CREATE of a Deployment's
  // pods). Filled only when denied, so admitted pods pay nothing for it.
  std::string pod;
};

// Parses, decides and answers. Never throws for any input bytes.
// Example: reviewAdmission(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
//   "request":{"uid":"u","operation":"DELETE","kind":{"group":"","version":"v1","kind":"Pod"}}})",
//   config).outcome == ReviewOutcome::kAllowed
ReviewResult reviewAdmission(std::string_view body, const Config& config);

// What the API server would send the webhook when `manifest` is created: the
// Pod (one YAML or JSON document, as given to kubectl apply) wrapped in an
// admission.k8s.io/v1 AdmissionReview with operation CREATE, its namespace
// ("default" when the manifest names none) and dryRun true. Resource amounts
// written as numbers (`nvidia.com/gpu: 1`) become the strings the API server
// sends. Errors name the field: `kind: must be Pod, got "Deployment" ...`,
// `metadata.annotations.mpshare.io/thread-percentage: must be a string ...`.
// Example: podReviewRequest("kind: Pod\napiVersion: v1\nmetadata: {name: p}\n")
//   -> {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{...}}
core::Result<std::string> podReviewRequest(std::string_view manifest);

// A person's summary of `result` for `pod` ("ml/infer-small"): the verdict, the
// warnings, and the patch one operation a line. Example:
//   ml/infer-small: allowed, with 3 changes:
//     add /spec/containers/0/env {"name":...}
std::string summarizeReview(const ReviewResult& result, std::string_view pod);

}  // namespace mpshare::webhook
