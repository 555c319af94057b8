// AdmissionReview bodies (webhook/admission_review.h, webhook/review.h).
// Invariants: parsing and reviewing never throw; an accepted review's answer,
// allowed or denied, is JSON echoing the request's uid; every reviewAdmission
// answer is JSON (an AdmissionReview, or {"error": ...} with status 400).

#include <string>

#include "core/mutation.h"
#include "tests/fuzz/fuzz_check.h"
#include "webhook/admission_review.h"
#include "webhook/config.h"
#include "webhook/review.h"

using mpshare::fuzz::check;
using mpshare::fuzz::noThrow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto body = mpshare::fuzz::asText(data, size);
  noThrow("parseAdmissionReview", [&] {
    const auto request = mpshare::webhook::parseAdmissionReview(body);
    if (!request.ok()) {
      check(!request.error().message.empty(), "a refused review without a message");
      return;
    }
    mpshare::core::Decision allowed;
    mpshare::core::Decision denied;
    denied.allowed = false;
    denied.message = "denied";
    for (const auto* decision : {&allowed, &denied}) {
      const std::string answer =
          mpshare::webhook::buildAdmissionResponse(request->uid, *decision, "");
      const auto parsed = nlohmann::json::parse(answer, nullptr, false);
      check(!parsed.is_discarded(), "the answer is not JSON: " + answer);
      check(parsed["response"]["uid"] == request->uid, "the answer does not echo the uid");
    }
  });
  noThrow("reviewAdmission", [&] {
    const auto result = mpshare::webhook::reviewAdmission(body, mpshare::webhook::Config{});
    check(mpshare::fuzz::isJson(result.body),
          "reviewAdmission's answer is not JSON: " + result.body);
    check(result.http_status == 200 || result.http_status == 400,
          "reviewAdmission answered " + std::to_string(result.http_status));
  });
  return 0;
}
