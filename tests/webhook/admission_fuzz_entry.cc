#include "tests/webhook/admission_fuzz_entry.h"

#include <nlohmann/json.hpp>
#include <string_view>

#include "platform/base64.h"
#include "webhook/review.h"

namespace mpshare::webhook::testing {

using nlohmann::json;

std::string checkReviewInvariants(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ReviewResult result;
  try {
    result = reviewAdmission(body, Config{});
  } catch (const std::exception& e) {
    return std::string("reviewAdmission threw: ") + e.what();
  }
  try {
    const json answer = json::parse(result.body);
    if (result.http_status == 400) {
      if (!answer.contains("error") || !answer["error"].is_string())
        return "400 without error text";
      return "";
    }
    if (result.http_status != 200) return "unexpected status " + std::to_string(result.http_status);
    const json request = json::parse(body);  // it was accepted, so it parses
    const json& response = answer.at("response");
    if (answer.at("apiVersion") != "admission.k8s.io/v1" ||
        answer.at("kind") != "AdmissionReview") {
      return "wrong apiVersion/kind in answer";
    }
    if (response.at("uid") != request.at("request").at("uid")) return "uid not echoed";
    if (response.contains("patch") != response.contains("patchType"))
      return "patch without patchType";
    if (response.contains("patch")) {
      const auto patch_text = platform::base64Decode(response["patch"].get<std::string>());
      if (!patch_text) return "patch is not padded base64: " + patch_text.error().describe();
      const json patch = json::parse(*patch_text);
      (void)request["request"]["object"].patch(patch);  // throws if it does not apply
    }
  } catch (const std::exception& e) {
    return std::string("invariant check failed: ") + e.what() + "\nanswer: " + result.body;
  }
  return "";
}

}  // namespace mpshare::webhook::testing
