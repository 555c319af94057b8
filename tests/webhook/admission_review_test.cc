#include "webhook/admission_review.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "platform/base64.h"
#include "webhook/json_patch.h"
#include "webhook/review.h"

namespace mpshare::webhook {
namespace {

using nlohmann::json;

json validReview() {
  return json::parse(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
    "request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},
    "operation":"CREATE","object":{"metadata":{"name":"p"},"spec":{"containers":[
    {"name":"s","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}}}})");
}

TEST(AdmissionReviewTest, MalformedRequestsNameTheJsonPath) {
  const struct {
    std::string body;
    const char* error;
  } cases[] = {
      {"", "body: is not valid JSON"},
      {"{\"apiVersion\":", "body: is not valid JSON"},
      {"[1,2]", "body: expected an AdmissionReview object, got array"},
      {R"({"kind":"AdmissionReview","request":{}})",
       "apiVersion: is missing; must be \"admission.k8s.io/v1\""},
      {R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"})",
       "apiVersion: must be \"admission.k8s.io/v1\", got \"admission.k8s.io/v1beta1\""},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod"})",
       "kind: must be \"AdmissionReview\", got \"Pod\""},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "request: is missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"x"})",
       "request: expected an object, got string"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})",
       "request.uid: is missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}})",
       "request.uid: must be a non-empty string, got 7"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u"}})",
       "request.operation: is missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"PATCH"}})",
       "request.operation: must be CREATE, UPDATE, DELETE or CONNECT, got \"PATCH\""},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE"}})",
       "request.kind: must be an object"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",
          "kind":{"group":"","version":"v1","kind":"Pod"}}})",
       "request.object: is missing"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",
          "kind":{"group":"","version":"v1","kind":"Pod"},"object":[]}})",
       "request.object: expected a Pod object, got array"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",
          "kind":{"group":"","version":"v1","kind":"Pod"},"object":{"spec":{"containers":[{"name":"s","env":{}}]}}}})",
       "request.object.spec.containers[0].env: expected an array, got object"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",
          "kind":{"group":"","version":"v1","kind":"Pod"},"object":{"spec":{"volumes":{}}}}})",
       "request.object.spec.volumes: expected an array, got object"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE",
          "kind":{"group":"","version":"v1","kind":"Pod"},"object":{"spec":{"hostIPC":"yes"}}}})",
       "request.object.spec.hostIPC: expected a boolean, got string"},
  };
  for (const auto& c : cases) {
    auto parsed = parseAdmissionReview(c.body);
    ASSERT_FALSE(parsed.ok()) << c.body;
    EXPECT_NE(parsed.error().describe().find(c.error), std::string::npos)
        << c.body << "\n got: " << parsed.error().describe() << "\n want: " << c.error;
    const ReviewResult result = reviewAdmission(c.body, Config{});
    EXPECT_EQ(result.http_status, 400);
    EXPECT_EQ(result.outcome, ReviewOutcome::kBadRequest);
    EXPECT_NE(json::parse(result.body)["error"].get<std::string>().find(c.error),
              std::string::npos);
  }
}

TEST(AdmissionReviewTest, NonPodKindsAndOtherOperationsAreAllowedUntouched) {
  json other_kind = validReview();
  other_kind["request"]["kind"] = {{"group", "apps"}, {"version", "v1"}, {"kind", "Deployment"}};
  json delete_op = validReview();
  delete_op["request"]["operation"] = "DELETE";
  delete_op["request"]["object"] = nullptr;
  for (const json& body : {other_kind, delete_op}) {
    const ReviewResult result = reviewAdmission(body.dump(), Config{});
    ASSERT_EQ(result.http_status, 200) << result.body;
    EXPECT_EQ(result.outcome, ReviewOutcome::kAllowed);
    const json response = json::parse(result.body)["response"];
    EXPECT_EQ(response["uid"], "u-1");
    EXPECT_TRUE(response["allowed"].get<bool>());
    EXPECT_FALSE(response.contains("patch"));
    EXPECT_FALSE(response.contains("patchType"));
  }
}

// Bodies over 256 KiB are parsed by a parser of their own rather than the
// one each thread keeps: same answer either way, and the kept one still
// works afterwards.
TEST(AdmissionReviewTest, LargeBodiesReviewLikeSmallOnes) {
  json small = validReview();
  json large = validReview();
  large["request"]["object"]["metadata"]["labels"] = {{"pad", std::string(300 * 1024, 'x')}};
  const ReviewResult small_result = reviewAdmission(small.dump(), Config{});
  const ReviewResult large_result = reviewAdmission(large.dump(), Config{});
  ASSERT_EQ(large_result.http_status, 200) << large_result.error;
  EXPECT_EQ(large_result.body, small_result.body);
  EXPECT_EQ(reviewAdmission(small.dump(), Config{}).body, small_result.body);
}

TEST(AdmissionReviewTest, ResponseCarriesPatchOnlyWhenThereIsOne) {
  core::Decision allowed;
  json empty = json::parse(buildAdmissionResponse("u", allowed, ""));
  EXPECT_EQ(empty, json::parse(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                                   "response":{"uid":"u","allowed":true}})"));
  const json patch = json::parse(R"([{"op":"add","path":"/spec/hostIPC","value":true}])");
  json with = json::parse(buildAdmissionResponse("u", allowed, patch.dump()))["response"];
  EXPECT_EQ(with["patchType"], "JSONPatch");
  const auto patch_text = platform::base64Decode(with["patch"].get<std::string>());
  ASSERT_TRUE(patch_text.ok()) << patch_text.error().describe();
  EXPECT_EQ(json::parse(*patch_text), patch);

  core::Decision denied;
  denied.allowed = false;
  denied.message = "mpshare.io/thread-percentage: must be an integer 1-100, got \"130\"";
  json no = json::parse(buildAdmissionResponse("u", denied, patch.dump()))["response"];
  EXPECT_FALSE(no["allowed"].get<bool>());
  EXPECT_FALSE(no.contains("patch"));
  EXPECT_EQ(no["status"], json::parse(R"({"code":400,"reason":"BadRequest","status":"Failure",
      "message":"mpshare.io/thread-percentage: must be an integer 1-100, got \"130\""})"));
}

TEST(JsonPatchTest, EscapesPointerSegments) {
  EXPECT_EQ(escapePointerSegment("mpshare.io/thread-percentage"), "mpshare.io~1thread-percentage");
  EXPECT_EQ(escapePointerSegment("a~b/c"), "a~0b~1c");
  EXPECT_EQ(escapePointerSegment("plain"), "plain");
}

TEST(JsonPatchTest, AddsWholeArraysWhenAbsentAndAppendsOtherwise) {
  core::PodEdits edits;
  core::ContainerEdit absent;
  absent.index = 0;
  absent.env = {{"A", "1"}, {"B", "2"}};
  absent.mount = core::VolumeMountView{"v", "/p"};
  core::ContainerEdit present;
  present.init = true;
  present.index = 2;
  present.has_env = true;
  present.has_volume_mounts = true;
  present.env = {{"A", "1"}};
  present.mount = core::VolumeMountView{"v", "/p"};
  edits.containers = {absent, present};
  edits.has_volumes = true;
  edits.volume = core::HostPathVolume{"v", "/p"};
  edits.set_host_ipc = true;
  EXPECT_EQ(json::parse(buildPatch(edits)), json::parse(R"([
    {"op":"add","path":"/spec/containers/0/env","value":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
    {"op":"add","path":"/spec/containers/0/volumeMounts","value":[{"name":"v","mountPath":"/p"}]},
    {"op":"add","path":"/spec/initContainers/2/env/-","value":{"name":"A","value":"1"}},
    {"op":"add","path":"/spec/initContainers/2/volumeMounts/-","value":{"name":"v","mountPath":"/p"}},
    {"op":"add","path":"/spec/volumes/-","value":{"name":"v","hostPath":{"path":"/p","type":"Directory"}}},
    {"op":"add","path":"/spec/hostIPC","value":true}])"));
  EXPECT_EQ(buildPatch(core::PodEdits{}), "");
}

}  // namespace
}  // namespace mpshare::webhook
