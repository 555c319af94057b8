#include "tests/webhook/admission_fuzz_entry.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base64.h"
#include "webhook/review.h"

namespace mpshare::webhook::testing {

using nlohmann::json;

namespace {

// True when some object of `text` names a key twice. JSON leaves duplicate
// names to the parser: the webhook's reader keeps the first, nlohmann::json
// the last, and the API server never sends them, so the uid check below only
// holds for documents without them.
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
 public:
  bool found = false;

  bool start_object(std::size_t /*size*/) override {
    keys_.emplace_back();
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool key(string_t& name) override {
    if (!keys_.back().insert(name).second) found = true;
    return !found;
  }
  bool null() override { return true; }
  bool boolean(bool /*value*/) override { return true; }
  bool number_integer(number_integer_t /*value*/) override { return true; }
  bool number_unsigned(number_unsigned_t /*value*/) override { return true; }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return true; }
  bool string(string_t& /*value*/) override { return true; }
  bool binary(binary_t& /*value*/) override { return true; }
  bool start_array(std::size_t /*size*/) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

 private:
  std::vector<std::set<std::string>> keys_;
};

bool hasDuplicateKeys(std::string_view text) {
  DuplicateKeyFinder finder;
  json::sax_parse(text, &finder);
  return finder.found;
}

}  // namespace

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
    if (!hasDuplicateKeys(body) && response.at("uid") != request.at("request").at("uid"))
      return "uid not echoed";
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
