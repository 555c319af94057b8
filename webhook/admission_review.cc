#include "webhook/admission_review.h"

#include <optional>

#include "platform/base64.h"
#include "platform/json_limits.h"
#include "platform/json_text.h"
#include "platform/json_view.h"
#include "platform/kube_json.h"

namespace mpshare::webhook {
namespace {

using platform::JsonKind;
using platform::SimdjsonView;

// Bodies up to this size are parsed by a parser kept per thread, whose buffers
// are reused from request to request; a larger one gets a parser of its own,
// freed afterwards, so one large request does not pin its size on every thread.
constexpr size_t kReusedParserBytes = 256 * 1024;

core::Error at(const std::string& path, const std::string& message) {
  return core::invalidArgument(path, message);
}

std::string shown(const SimdjsonView& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

bool present(const std::optional<SimdjsonView>& value) {
  return value && value->kind() != JsonKind::kNull;
}

// simdjson names the kind of error; a second look, which builds no tree and
// throws nothing, says where: a number out of range at byte N, nesting past
// platform::kMaxJsonDepth, or nlohmann's syntax error with its position. Only
// refused bodies take this path.
std::string describeInvalidJson(std::string_view body, simdjson::error_code error) {
  const platform::JsonProblem problem = platform::findJsonProblem(body);
  if (problem.kind != platform::JsonProblem::Kind::kNone) return problem.describe();
  // Bytes after a NUL outside strings: nlohmann takes the NUL for the end.
  return std::string("is not valid JSON: ") + simdjson::error_message(error);
}

// obj[key] when it is a string; nullopt otherwise.
std::optional<std::string_view> stringAt(const SimdjsonView& obj, const char* key) {
  auto value = obj.find(key);
  if (!value || value->kind() != JsonKind::kString) return std::nullopt;
  return value->text();
}

core::Status expectString(const SimdjsonView& obj, const char* key, std::string_view want) {
  auto value = obj.find(key);
  if (!value) return at(key, "is missing; must be \"" + std::string(want) + "\"");
  if (value->kind() != JsonKind::kString || value->text() != want) {
    return at(key, "must be \"" + std::string(want) + "\", got " + shown(*value));
  }
  return {};
}

core::Result<AdmissionRequest> readReview(const SimdjsonView& review) {
  if (review.kind() != JsonKind::kObject) {
    return platform::wrongJsonType("body", "an AdmissionReview object", review);
  }
  if (auto s = expectString(review, "apiVersion", kAdmissionApiVersion); !s) return s.error();
  if (auto s = expectString(review, "kind", kAdmissionKind); !s) return s.error();
  auto request = review.find("request");
  if (!present(request)) return at("request", "is missing");
  if (request->kind() != JsonKind::kObject)
    return platform::wrongJsonType("request", "an object", *request);

  AdmissionRequest out;
  auto uid = request->find("uid");
  if (!present(uid)) return at("request.uid", "is missing");
  if (uid->kind() != JsonKind::kString || uid->text().empty()) {
    return at("request.uid", "must be a non-empty string, got " + shown(*uid));
  }
  out.uid = uid->text();

  auto op = request->find("operation");
  if (!op) return at("request.operation", "is missing; must be CREATE, UPDATE, DELETE or CONNECT");
  const auto operation =
      op->kind() == JsonKind::kString ? core::parseOperation(op->text()) : std::nullopt;
  if (!operation) {
    return at("request.operation", "must be CREATE, UPDATE, DELETE or CONNECT, got " + shown(*op));
  }
  out.operation = *operation;

  auto kind = request->find("kind");
  if (!kind || kind->kind() != JsonKind::kObject) {
    return at("request.kind", "must be an object {group, version, kind}");
  }
  out.is_pod = stringAt(*kind, "group") == "" && stringAt(*kind, "version") == "v1" &&
               stringAt(*kind, "kind") == "Pod";
  if (!out.is_pod || out.operation != core::Operation::kCreate) return out;

  auto object = request->find("object");
  if (!present(object)) return at("request.object", "is missing; a Pod CREATE carries the pod");
  if (object->kind() != JsonKind::kObject)
    return platform::wrongJsonType("request.object", "a Pod object", *object);
  auto pod = platform::podWithVolumesFromSimdjson(object->element());
  if (!pod) return at("request.object." + pod.error().field, pod.error().message);
  out.pod = std::move(pod->pod);
  out.volumes = std::move(pod->volumes);
  return out;
}

core::Result<AdmissionRequest> parseWith(simdjson::dom::parser& parser, std::string_view body) {
  simdjson::dom::element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root); error != simdjson::SUCCESS) {
    return at("body", describeInvalidJson(body, error));
  }
  return readReview(SimdjsonView(root));
}

}  // namespace

core::Result<AdmissionRequest> parseAdmissionReview(std::string_view body) {
  // Both parsers refuse nesting past platform::kMaxJsonDepth themselves (a
  // DEPTH_ERROR, no tree built), so the hot path pays nothing for the limit.
  if (body.size() <= kReusedParserBytes) {
    thread_local simdjson::dom::parser parser =
        platform::depthLimitedParser<simdjson::dom::parser>();
    return parseWith(parser, body);
  }
  auto parser = platform::depthLimitedParser<simdjson::dom::parser>(body.size());
  return parseWith(parser, body);
}

// Written directly, members in key order: the bytes nlohmann's dump gave.
std::string buildAdmissionResponse(std::string_view uid, const core::Decision& decision,
                                   std::string_view patch) {
  std::string out;
  out.reserve(256 + patch.size() * 4 / 3 + decision.message.size());
  out += R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"allowed":)";
  out += decision.allowed ? "true" : "false";
  if (decision.allowed && !patch.empty()) {
    out += R"(,"patch":")";
    platform::appendBase64(out, patch);
    out += R"(","patchType":"JSONPatch")";
  }
  if (!decision.allowed) {
    out += R"(,"status":{"code":400,"message":)";
    platform::appendJsonString(out, decision.message);
    out += R"(,"reason":"BadRequest","status":"Failure"})";
  }
  out += R"(,"uid":)";
  platform::appendJsonString(out, uid);
  if (!decision.warnings.empty()) {
    out += R"(,"warnings":[)";
    for (size_t i = 0; i < decision.warnings.size(); ++i) {
      if (i > 0) out += ',';
      platform::appendJsonString(out, decision.warnings[i]);
    }
    out += ']';
  }
  out += "}}";
  return out;
}

}  // namespace mpshare::webhook
