#include "platform/kube_json.h"

#include <nlohmann/json.hpp>

namespace mpshare::platform {
namespace {

using nlohmann::json;

const char* typeName(const json& j) { return j.type_name(); }

core::Error wrongType(const std::string& path, const char* expected, const json& got) {
  return core::invalidArgument(path, std::string("expected ") + expected + ", got " + typeName(got));
}

// obj[key] when present and not null, else nullptr.
const json* member(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

core::Status readString(const json& obj, const char* key, const std::string& path, std::string* out) {
  const json* v = member(obj, key);
  if (v == nullptr) return {};
  if (!v->is_string()) return wrongType(path + "." + key, "a string", *v);
  *out = v->get<std::string>();
  return {};
}

// A map of string to string (labels, annotations, resource lists). Resource
// quantities may arrive as JSON numbers from hand-written clients; accept those.
core::Status readStringMap(const json& obj, const char* key, const std::string& path,
                           std::map<std::string, std::string>* out, bool* present = nullptr) {
  const json* v = member(obj, key);
  if (present != nullptr) *present = v != nullptr;
  if (v == nullptr) return {};
  if (!v->is_object()) return wrongType(path + "." + key, "an object", *v);
  for (const auto& [k, value] : v->items()) {
    if (value.is_string()) {
      (*out)[k] = value.get<std::string>();
    } else if (value.is_number()) {
      (*out)[k] = value.dump();
    } else {
      return wrongType(path + "." + key + "." + k, "a string", value);
    }
  }
  return {};
}

core::Status readContainers(const json& spec, const char* key, bool init, core::PodView* pod) {
  const json* list = member(spec, key);
  if (list == nullptr) return {};
  const std::string list_path = std::string("spec.") + key;
  if (!list->is_array()) return wrongType(list_path, "an array", *list);
  int index = 0;
  for (const auto& c : *list) {
    const std::string path = list_path + "[" + std::to_string(index) + "]";
    if (!c.is_object()) return wrongType(path, "an object", c);
    core::ContainerView view;
    view.index = index++;
    if (auto s = readString(c, "name", path, &view.name); !s) return s;
    std::string restart_policy;
    if (auto s = readString(c, "restartPolicy", path, &restart_policy); !s) return s;
    view.kind = !init                       ? core::ContainerKind::kRegular
                : restart_policy == "Always" ? core::ContainerKind::kSidecar
                                             : core::ContainerKind::kInit;
    if (const json* res = member(c, "resources")) {
      if (!res->is_object()) return wrongType(path + ".resources", "an object", *res);
      if (auto s = readStringMap(*res, "limits", path + ".resources", &view.limits); !s) return s;
      if (auto s = readStringMap(*res, "requests", path + ".resources", &view.requests); !s) return s;
    }
    if (const json* env = member(c, "env")) {
      if (!env->is_array()) return wrongType(path + ".env", "an array", *env);
      view.has_env = true;
      int env_index = 0;
      for (const auto& e : *env) {
        const std::string env_path = path + ".env[" + std::to_string(env_index++) + "]";
        if (!e.is_object()) return wrongType(env_path, "an object", e);
        core::EnvVar var;
        if (auto s = readString(e, "name", env_path, &var.name); !s) return s;
        if (member(e, "valueFrom") == nullptr) {
          std::string value;
          if (auto s = readString(e, "value", env_path, &value); !s) return s;
          var.value = value;  // an absent value is the empty string in Kubernetes
        }
        view.env.push_back(std::move(var));
      }
    }
    pod->containers.push_back(std::move(view));
  }
  return {};
}

core::PodPhase phaseOf(const std::string& phase) {
  if (phase == "Running") return core::PodPhase::kRunning;
  if (phase == "Succeeded") return core::PodPhase::kSucceeded;
  if (phase == "Failed") return core::PodPhase::kFailed;
  if (phase == "Unknown") return core::PodPhase::kUnknown;
  return core::PodPhase::kPending;
}

}  // namespace

core::Result<core::PodView> podFromJson(const json& pod) {
  if (!pod.is_object()) return wrongType("pod", "an object", pod);
  core::PodView view;
  if (const json* meta = member(pod, "metadata")) {
    if (!meta->is_object()) return wrongType("metadata", "an object", *meta);
    if (auto s = readString(*meta, "name", "metadata", &view.name); !s) return s.error();
    if (auto s = readString(*meta, "namespace", "metadata", &view.namespace_name); !s) return s.error();
    if (auto s = readString(*meta, "uid", "metadata", &view.uid); !s) return s.error();
    if (auto s = readStringMap(*meta, "annotations", "metadata", &view.annotations,
                               &view.has_annotations);
        !s) {
      return s.error();
    }
    if (auto s = readStringMap(*meta, "labels", "metadata", &view.labels); !s) return s.error();
    view.deleting = member(*meta, "deletionTimestamp") != nullptr;
  }
  if (const json* spec = member(pod, "spec")) {
    if (!spec->is_object()) return wrongType("spec", "an object", *spec);
    if (auto s = readString(*spec, "nodeName", "spec", &view.node_name); !s) return s.error();
    if (auto s = readString(*spec, "schedulerName", "spec", &view.scheduler_name); !s) {
      return s.error();
    }
    if (auto s = readContainers(*spec, "containers", false, &view); !s) return s.error();
    if (auto s = readContainers(*spec, "initContainers", true, &view); !s) return s.error();
  }
  if (const json* status = member(pod, "status")) {
    if (!status->is_object()) return wrongType("status", "an object", *status);
    std::string phase;
    if (auto s = readString(*status, "phase", "status", &phase); !s) return s.error();
    view.phase = phaseOf(phase);
  }
  return view;
}

core::Result<core::NodeView> nodeFromJson(const json& node) {
  if (!node.is_object()) return wrongType("node", "an object", node);
  core::NodeView view;
  const json* meta = member(node, "metadata");
  if (meta == nullptr) return core::invalidArgument("metadata", "is missing");
  if (!meta->is_object()) return wrongType("metadata", "an object", *meta);
  if (auto s = readString(*meta, "name", "metadata", &view.name); !s) return s.error();
  if (view.name.empty()) return core::invalidArgument("metadata.name", "is missing");
  if (auto s = readStringMap(*meta, "labels", "metadata", &view.labels); !s) return s.error();
  view.deleting = member(*meta, "deletionTimestamp") != nullptr;
  return view;
}

}  // namespace mpshare::platform
