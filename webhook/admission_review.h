#pragma once

// admission.k8s.io/v1 AdmissionReview on the wire: parsing the API server's
// request (errors name the JSON path) and building the response it accepts
// (echoed apiVersion/kind/uid, patchType only with a patch, padded base64 from
// platform/base64.h).
// This is the webhook's hot path: the request is parsed with simdjson and the
// answer written directly, both several times faster than a nlohmann::json
// document (docs/benchmarks.md).

#include <string>
#include <string_view>

#include "core/mutation.h"
#include "core/pod.h"
#include "core/result.h"

namespace mpshare::webhook {

inline constexpr std::string_view kAdmissionApiVersion = "admission.k8s.io/v1";
inline constexpr std::string_view kAdmissionKind = "AdmissionReview";

// The parts of a request the rules read.
struct AdmissionRequest {
  std::string uid;
  core::Operation operation = core::Operation::kCreate;
  bool is_pod = false;  // request.kind is core/v1 Pod (else allowed untouched)
  core::PodView pod;    // filled when is_pod and the operation carries an object
  core::PodVolumes volumes;
};

// Parses an AdmissionReview body. Errors name the JSON path and what was wrong:
// `request.uid: is missing`, `apiVersion: must be "admission.k8s.io/v1", got "v1beta1"`,
// `request.object.spec.containers[0].env: expected an array, got object`.
// Limits that hold for any body: `body: nested deeper than 256 levels at byte
// 4123 (...)` (platform::kMaxJsonDepth) and `body: number out of range at byte
// 57: 1e400 (...)`, even in a field never read; neither throws.
// Example: parseAdmissionReview(R"({"apiVersion":"admission.k8s.io/v1",
//   "kind":"AdmissionReview","request":{"uid":"u1","operation":"DELETE",...}})")
core::Result<AdmissionRequest> parseAdmissionReview(std::string_view body);

// The response AdmissionReview for `uid`. A non-empty `patch` (JSON Patch text,
// as buildPatch writes it) is sent base64-encoded with patchType JSONPatch; a
// denial carries status {code: 400, reason: BadRequest, status: Failure, message}
// and no patch.
std::string buildAdmissionResponse(std::string_view uid, const core::Decision& decision,
                                   std::string_view patch);

}  // namespace mpshare::webhook
