#include "webhook/review.h"

#include "platform/json_text.h"
#include "webhook/admission_review.h"
#include "webhook/json_patch.h"

namespace mpshare::webhook {

std::string_view outcomeLabel(ReviewOutcome outcome) {
  switch (outcome) {
    case ReviewOutcome::kAllowed:
      return "allowed";
    case ReviewOutcome::kPatched:
      return "patched";
    case ReviewOutcome::kDenied:
      return "denied";
    case ReviewOutcome::kBadRequest:
      return "bad_request";
  }
  return "error";
}

ReviewResult reviewAdmission(std::string_view body, const Config& config) {
  ReviewResult result;
  auto request = parseAdmissionReview(body);
  if (!request) {
    result.outcome = ReviewOutcome::kBadRequest;
    result.http_status = 400;
    result.error = "invalid AdmissionReview: " + request.error().describe();
    result.body = platform::errorJson(result.error);
    return result;
  }
  core::Decision decision;
  if (request->is_pod) {
    decision =
        core::decideAdmission(request->pod, request->volumes, request->operation, config.rules);
  }
  const std::string patch = decision.allowed ? buildPatch(decision.edits) : std::string();
  result.body = buildAdmissionResponse(request->uid, decision, patch);
  if (!decision.allowed) {
    result.outcome = ReviewOutcome::kDenied;
    result.denial = decision.reason;
  } else {
    result.outcome = patch.empty() ? ReviewOutcome::kAllowed : ReviewOutcome::kPatched;
  }
  return result;
}

}  // namespace mpshare::webhook
