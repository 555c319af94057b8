// Walks tests/fixtures/admission/<case>/: request.json is what the API server
// sends, response.json the exact answer expected, patched.json the pod after
// the decoded patch is applied (only for patched cases). Regenerate the golden
// files with MPSHARE_UPDATE_GOLDEN=1 and review the diff.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/base64.h"
#include "tests/support/read_file.h"
#include "webhook/review.h"

namespace mpshare::webhook {
namespace {

using testing_support::readFile;

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/admission";

void writeJson(const fs::path& path, const json& value) {
  std::ofstream(path) << value.dump(2) << "\n";
}

bool updating() { return std::getenv("MPSHARE_UPDATE_GOLDEN") != nullptr; }

TEST(AdmissionGoldenTest, EveryFixtureMatchesAndItsPatchApplies) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (!entry.is_directory()) continue;
    ++cases;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const json request = json::parse(readFile(entry.path() / "request.json"));
    const ReviewResult result = reviewAdmission(request.dump(), Config{});
    ASSERT_EQ(result.http_status, 200) << result.body;
    const json response = json::parse(result.body);

    // The API server's checks on any reply.
    EXPECT_EQ(response["apiVersion"], "admission.k8s.io/v1");
    EXPECT_EQ(response["kind"], "AdmissionReview");
    EXPECT_EQ(response["response"]["uid"], request["request"]["uid"]);
    EXPECT_EQ(response["response"].contains("patch"), response["response"].contains("patchType"));

    std::optional<json> patched;
    if (response["response"].contains("patch")) {
      EXPECT_EQ(response["response"]["patchType"], "JSONPatch");
      const auto patch_text =
          platform::base64Decode(response["response"]["patch"].get<std::string>());
      ASSERT_TRUE(patch_text.ok()) << patch_text.error().describe();
      const json patch = json::parse(*patch_text);
      ASSERT_TRUE(patch.is_array());
      ASSERT_FALSE(patch.empty());
      // Throws if any op does not apply to the pod as sent (e.g. add under a missing env).
      ASSERT_NO_THROW(patched = request["request"]["object"].patch(patch));

      // Reinvocation: the patched pod needs no further change.
      json again = request;
      again["request"]["object"] = *patched;
      const json second = json::parse(reviewAdmission(again.dump(), Config{}).body);
      EXPECT_TRUE(second["response"]["allowed"].get<bool>());
      EXPECT_FALSE(second["response"].contains("patch")) << second.dump();
    }
    if (name.starts_with("deny-")) {
      EXPECT_FALSE(response["response"]["allowed"].get<bool>());
      EXPECT_EQ(response["response"]["status"]["code"], 400);
    } else {
      EXPECT_TRUE(response["response"]["allowed"].get<bool>());
    }

    if (updating()) {
      writeJson(entry.path() / "response.json", response);
      if (patched) writeJson(entry.path() / "patched.json", *patched);
      continue;
    }
    EXPECT_EQ(response, json::parse(readFile(entry.path() / "response.json")));
    const bool has_golden_pod = fs::exists(entry.path() / "patched.json");
    EXPECT_EQ(has_golden_pod, patched.has_value());
    if (patched && has_golden_pod) {
      EXPECT_EQ(*patched, json::parse(readFile(entry.path() / "patched.json")));
    }
  }
  EXPECT_GE(cases, 15);
}

}  // namespace
}  // namespace mpshare::webhook
