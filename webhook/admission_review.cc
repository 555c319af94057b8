#include "webhook/admission_review.h"

#include <optional>

#include "platform/kube_json.h"

namespace mpshare::webhook {
namespace {

using nlohmann::json;

core::Error at(const std::string& path, const std::string& message) {
  return core::invalidArgument(path, message);
}

std::string shown(const json& j) {
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

core::Error wrongType(const std::string& path, const char* expected, const json& got) {
  return at(path, std::string("expected ") + expected + ", got " + got.type_name());
}

// The volumeMounts of each container, and spec.volumes / spec.hostIPC: the state
// daemon access edits. Shapes were partly checked by podFromJson already.
core::Result<core::PodVolumes> volumesOf(const json& pod) {
  core::PodVolumes out;
  auto spec_it = pod.find("spec");
  if (spec_it == pod.end() || !spec_it->is_object()) return out;
  const json& spec = *spec_it;
  if (auto ipc = spec.find("hostIPC"); ipc != spec.end() && !ipc->is_null()) {
    if (!ipc->is_boolean()) return wrongType("request.object.spec.hostIPC", "a boolean", *ipc);
    out.host_ipc = ipc->get<bool>();
  }
  if (auto vols = spec.find("volumes"); vols != spec.end() && !vols->is_null()) {
    if (!vols->is_array()) return wrongType("request.object.spec.volumes", "an array", *vols);
    out.has_volumes = true;
    for (size_t i = 0; i < vols->size(); ++i) {
      const json& v = (*vols)[i];
      const std::string path = "request.object.spec.volumes[" + std::to_string(i) + "]";
      if (!v.is_object()) return wrongType(path, "an object", v);
      auto name = v.find("name");
      if (name == v.end() || !name->is_string()) return at(path + ".name", "must be a string");
      std::string host_path;
      if (auto hp = v.find("hostPath"); hp != v.end() && hp->is_object()) {
        if (auto p = hp->find("path"); p != hp->end() && p->is_string()) host_path = *p;
      }
      out.host_paths[name->get<std::string>()] = host_path;
    }
  }
  for (const bool init : {false, true}) {
    const char* key = init ? "initContainers" : "containers";
    auto list = spec.find(key);
    if (list == spec.end() || !list->is_array()) continue;
    for (size_t i = 0; i < list->size(); ++i) {
      const json& c = (*list)[i];
      if (!c.is_object()) continue;
      auto mounts = c.find("volumeMounts");
      if (mounts == c.end() || mounts->is_null()) continue;
      const std::string path = std::string("request.object.spec.") + key + "[" +
                               std::to_string(i) + "].volumeMounts";
      if (!mounts->is_array()) return wrongType(path, "an array", *mounts);
      core::ContainerMounts& cm = out.containers[{init, static_cast<int>(i)}];
      cm.has_volume_mounts = true;
      for (const auto& m : *mounts) {
        if (!m.is_object()) return wrongType(path + "[]", "an object", m);
        core::VolumeMountView view;
        if (auto n = m.find("name"); n != m.end() && n->is_string()) view.name = *n;
        if (auto p = m.find("mountPath"); p != m.end() && p->is_string()) view.mount_path = *p;
        cm.mounts.push_back(std::move(view));
      }
    }
  }
  return out;
}

// obj[key] when it is a string; nullopt otherwise (never throws, unlike json::value).
std::optional<std::string> stringAt(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

core::Status expectString(const json& obj, const char* key, const std::string& path,
                          std::string_view want) {
  auto it = obj.find(key);
  if (it == obj.end()) return at(path, "is missing; must be \"" + std::string(want) + "\"");
  if (!it->is_string() || it->get<std::string>() != want) {
    return at(path, "must be \"" + std::string(want) + "\", got " + shown(*it));
  }
  return {};
}

}  // namespace

core::Result<AdmissionRequest> parseAdmissionReview(std::string_view body) {
  json review;
  try {
    review = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    return at("body", std::string("is not valid JSON: ") + e.what());
  }
  if (!review.is_object()) return wrongType("body", "an AdmissionReview object", review);
  if (auto s = expectString(review, "apiVersion", "apiVersion", kAdmissionApiVersion); !s) {
    return s.error();
  }
  if (auto s = expectString(review, "kind", "kind", kAdmissionKind); !s) return s.error();
  auto req_it = review.find("request");
  if (req_it == review.end() || req_it->is_null()) return at("request", "is missing");
  json& request = *req_it;
  if (!request.is_object()) return wrongType("request", "an object", request);

  AdmissionRequest out;
  auto uid = request.find("uid");
  if (uid == request.end() || uid->is_null()) return at("request.uid", "is missing");
  if (!uid->is_string() || uid->get_ref<const std::string&>().empty()) {
    return at("request.uid", "must be a non-empty string, got " + shown(*uid));
  }
  out.uid = uid->get<std::string>();

  auto op = request.find("operation");
  if (op == request.end()) {
    return at("request.operation", "is missing; must be CREATE, UPDATE, DELETE or CONNECT");
  }
  const auto operation = op->is_string() ? core::parseOperation(op->get<std::string>())
                                         : std::nullopt;
  if (!operation) {
    return at("request.operation", "must be CREATE, UPDATE, DELETE or CONNECT, got " + shown(*op));
  }
  out.operation = *operation;

  auto kind = request.find("kind");
  if (kind == request.end() || !kind->is_object()) {
    return at("request.kind", "must be an object {group, version, kind}");
  }
  out.is_pod = stringAt(*kind, "group") == "" && stringAt(*kind, "version") == "v1" &&
               stringAt(*kind, "kind") == "Pod";
  if (!out.is_pod || out.operation != core::Operation::kCreate) return out;

  auto object = request.find("object");
  if (object == request.end() || object->is_null()) {
    return at("request.object", "is missing; a Pod CREATE carries the pod");
  }
  if (!object->is_object()) return wrongType("request.object", "a Pod object", *object);
  auto pod = platform::podFromJson(*object);
  if (!pod) return at("request.object." + pod.error().field, pod.error().message);
  auto volumes = volumesOf(*object);
  if (!volumes) return volumes.error();
  out.pod = std::move(*pod);
  out.volumes = std::move(*volumes);
  out.object = std::move(*object);
  return out;
}

std::string buildAdmissionResponse(const std::string& uid, const core::Decision& decision,
                                   const json& patch) {
  json response = {{"uid", uid}, {"allowed", decision.allowed}};
  if (!decision.allowed) {
    response["status"] = {{"code", 400},
                          {"reason", "BadRequest"},
                          {"status", "Failure"},
                          {"message", decision.message}};
  } else if (patch.is_array() && !patch.empty()) {
    response["patchType"] = "JSONPatch";
    response["patch"] = base64Encode(patch.dump());
  }
  if (!decision.warnings.empty()) response["warnings"] = decision.warnings;
  json review = {{"apiVersion", kAdmissionApiVersion},
                 {"kind", kAdmissionKind},
                 {"response", std::move(response)}};
  return review.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace mpshare::webhook
