#include "webhook/review.h"

#include <nlohmann/json.hpp>

#include "platform/json_text.h"
#include "platform/yaml_json.h"
#include "webhook/admission_review.h"
#include "webhook/json_patch.h"

namespace mpshare::webhook {
namespace {

using nlohmann::json;

// The API server serialises every resource amount as a string ("1", "500m");
// a manifest may write `nvidia.com/gpu: 1`, which kubectl converts.
void quantitiesAsStrings(json& pod) {
  json* spec = pod.contains("spec") && pod["spec"].is_object() ? &pod["spec"] : nullptr;
  if (spec == nullptr) return;
  for (const char* list : {"containers", "initContainers"}) {
    if (!spec->contains(list) || !(*spec)[list].is_array()) continue;
    for (json& container : (*spec)[list]) {
      if (!container.is_object() || !container.contains("resources")) continue;
      json& resources = container["resources"];
      if (!resources.is_object()) continue;
      for (const char* kind : {"limits", "requests"}) {
        if (!resources.contains(kind) || !resources[kind].is_object()) continue;
        for (auto& [name, amount] : resources[kind].items()) {
          if (amount.is_number()) amount = amount.dump();
        }
      }
    }
  }
}

// kubectl refuses an annotation value that is not a string; say so here too,
// rather than let the review fail on a type the API server never sends.
core::Status annotationsAreStrings(const json& pod) {
  const json* metadata = pod.contains("metadata") ? &pod["metadata"] : nullptr;
  if (metadata == nullptr || !metadata->is_object() || !metadata->contains("annotations"))
    return {};
  const json& annotations = (*metadata)["annotations"];
  if (annotations.is_null()) return {};
  if (!annotations.is_object()) {
    return core::invalidArgument("metadata.annotations", "must be a mapping of key: \"value\"");
  }
  for (const auto& [key, value] : annotations.items()) {
    if (!value.is_string()) {
      return core::invalidArgument("metadata.annotations." + key,
                                   "must be a string; quote it (" + key + ": \"" +
                                       (value.is_null() ? "" : value.dump()) +
                                       "\"), as kubectl refuses " + value.type_name() + "s there");
    }
  }
  return {};
}

std::string stringAt(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "namespace/name" of the reviewed pod. The parsed pod carries metadata.name and
// metadata.namespace; on CREATE the API server may not have set them yet
// (request.namespace holds the namespace, metadata.generateName the name's
// prefix), so the body is read again, which only a denial pays for.
std::string deniedPodKey(std::string_view body, const core::PodView& pod) {
  std::string namespace_name = pod.namespace_name;
  std::string name = pod.name;
  if (namespace_name.empty() || name.empty()) {
    const json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
    const json* request =
        review.is_object() && review.contains("request") ? &review["request"] : nullptr;
    if (request != nullptr && request->is_object()) {
      if (namespace_name.empty()) namespace_name = stringAt(*request, "namespace");
      if (name.empty()) name = stringAt(*request, "name");
      const auto object = request->find("object");
      if (name.empty() && object != request->end() && object->is_object()) {
        const auto metadata = object->find("metadata");
        if (metadata != object->end() && metadata->is_object()) {
          name = stringAt(*metadata, "generateName");
        }
      }
    }
  }
  return namespace_name + "/" + name;
}

}  // namespace

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
  std::string patch = decision.allowed ? buildPatch(decision.edits) : std::string();
  result.body = buildAdmissionResponse(request->uid, decision, patch);
  result.warnings = std::move(decision.warnings);
  result.uid = std::move(request->uid);
  if (!decision.allowed) {
    result.outcome = ReviewOutcome::kDenied;
    result.pod = deniedPodKey(body, request->pod);
    result.denial = decision.reason;
    result.denial_message = std::move(decision.message);
  } else {
    result.outcome = patch.empty() ? ReviewOutcome::kAllowed : ReviewOutcome::kPatched;
    result.patch = std::move(patch);
  }
  return result;
}

core::Result<std::string> podReviewRequest(std::string_view manifest) {
  auto parsed = platform::yamlToJson(manifest, platform::YamlScalars::kTyped);
  if (!parsed) return parsed.error();
  json pod = std::move(*parsed);
  if (!pod.is_object()) {
    return core::invalidArgument("manifest", "must be a Pod (a mapping with kind: Pod), got " +
                                                 std::string(pod.type_name()));
  }
  const std::string kind = stringAt(pod, "kind");
  if (kind != "Pod") {
    return core::invalidArgument(
        "kind", "must be Pod, got \"" + kind +
                    "\" (review --pod takes a bare Pod manifest; for a workload, review its pod "
                    "template as a Pod)");
  }
  if (!pod.contains("apiVersion")) pod["apiVersion"] = "v1";
  if (stringAt(pod, "apiVersion") != "v1") {
    return core::invalidArgument("apiVersion",
                                 "must be v1 for a Pod, got " + pod["apiVersion"].dump());
  }
  if (pod.contains("metadata") && !pod["metadata"].is_object()) {
    return core::invalidArgument("metadata", "must be a mapping");
  }
  if (auto strings = annotationsAreStrings(pod); !strings) return strings.error();
  quantitiesAsStrings(pod);

  json& metadata = pod["metadata"];
  std::string namespace_name = stringAt(metadata, "namespace");
  if (namespace_name.empty()) namespace_name = "default";
  metadata["namespace"] = namespace_name;  // as the API server fills it in
  std::string name = stringAt(metadata, "name");
  if (name.empty()) name = stringAt(metadata, "generateName");

  const json group_version_kind = {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}};
  const json group_version_resource = {{"group", ""}, {"version", "v1"}, {"resource", "pods"}};
  json review = {{"apiVersion", "admission.k8s.io/v1"},
                 {"kind", "AdmissionReview"},
                 {"request",
                  {{"uid", "mpshare-webhook-review"},
                   {"kind", group_version_kind},
                   {"resource", group_version_resource},
                   {"requestKind", group_version_kind},
                   {"requestResource", group_version_resource},
                   {"name", name},
                   {"namespace", namespace_name},
                   {"operation", "CREATE"},
                   {"userInfo", {{"username", "mpshare-webhook review"}}},
                   {"object", std::move(pod)},
                   {"oldObject", nullptr},
                   {"dryRun", true},
                   {"options", {{"kind", "CreateOptions"}, {"apiVersion", "meta.k8s.io/v1"}}}}}};
  return review.dump();
}

std::string summarizeReview(const ReviewResult& result, std::string_view pod) {
  std::string text(pod);
  switch (result.outcome) {
    case ReviewOutcome::kBadRequest:
      return text + ": not reviewed: " + result.error + "\n";
    case ReviewOutcome::kDenied:
      text += ": denied: " + result.denial_message + "\n";
      break;
    case ReviewOutcome::kAllowed:
      text += ": allowed, unchanged (no GPU, or every change already in place)\n";
      break;
    case ReviewOutcome::kPatched: {
      const json ops = json::parse(result.patch, nullptr, /*allow_exceptions=*/false);
      const size_t count = ops.is_array() ? ops.size() : 0;
      text += ": allowed, with " + std::to_string(count) + (count == 1 ? " change" : " changes") +
              " (the response's base64 patch):\n";
      if (ops.is_array()) {
        for (const json& op : ops) {
          text += "  " + stringAt(op, "op") + " " + stringAt(op, "path");
          if (op.contains("value")) text += " " + op["value"].dump();
          text += "\n";
        }
      }
      break;
    }
  }
  for (const std::string& warning : result.warnings) text += "  warning: " + warning + "\n";
  return text;
}

}  // namespace mpshare::webhook
