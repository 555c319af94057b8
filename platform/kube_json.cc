#include "platform/kube_json.h"

#include "platform/json_view.h"

namespace mpshare::platform {
namespace {

// The readers are written once over a JSON view (platform/json_view.h) and
// instantiated for nlohmann::json and simdjson's DOM at the bottom.

// obj[key] when present and not null, else nullopt.
template <typename View>
std::optional<View> member(const View& obj, std::string_view key) {
  auto found = obj.find(key);
  if (!found || found->kind() == JsonKind::kNull) return std::nullopt;
  return found;
}

template <typename View>
core::Status readString(const View& obj, const char* key, const std::string& path,
                        std::string* out) {
  auto v = member(obj, key);
  if (!v) return {};
  if (v->kind() != JsonKind::kString) return wrongJsonType(path + "." + key, "a string", *v);
  *out = v->text();
  return {};
}

// A map of string to string (labels, annotations, resource lists). Resource
// quantities may arrive as JSON numbers from hand-written clients; accept those.
template <typename View>
core::Status readStringMap(const View& obj, const char* key, const std::string& path,
                           std::map<std::string, std::string>* out, bool* present = nullptr) {
  auto v = member(obj, key);
  if (present != nullptr) *present = v.has_value();
  if (!v) return {};
  if (v->kind() != JsonKind::kObject) return wrongJsonType(path + "." + key, "an object", *v);
  return v->forEachMember([&](std::string_view k, const View& value) -> core::Status {
    if (value.kind() == JsonKind::kString) {
      (*out)[std::string(k)] = value.text();
    } else if (value.kind() == JsonKind::kNumber) {
      (*out)[std::string(k)] = value.numberText();
    } else {
      return wrongJsonType(path + "." + key + "." + std::string(k), "a string", value);
    }
    return {};
  });
}

template <typename View>
core::Status readEnv(const View& env, const std::string& path, core::ContainerView* view) {
  if (env.kind() != JsonKind::kArray) return wrongJsonType(path + ".env", "an array", env);
  view->has_env = true;
  return env.forEachElement([&](size_t index, const View& e) -> core::Status {
    const std::string env_path = path + ".env[" + std::to_string(index) + "]";
    if (e.kind() != JsonKind::kObject) return wrongJsonType(env_path, "an object", e);
    core::EnvVar var;
    if (auto s = readString(e, "name", env_path, &var.name); !s) return s;
    if (!member(e, "valueFrom")) {
      std::string value;
      if (auto s = readString(e, "value", env_path, &value); !s) return s;
      var.value = std::move(value);  // an absent value is the empty string in Kubernetes
    }
    view->env.push_back(std::move(var));
    return {};
  });
}

template <typename View>
core::Status readMounts(const View& mounts, const std::string& path, core::ContainerMounts* out) {
  if (mounts.kind() != JsonKind::kArray)
    return wrongJsonType(path + ".volumeMounts", "an array", mounts);
  out->has_volume_mounts = true;
  return mounts.forEachElement([&](size_t index, const View& m) -> core::Status {
    const std::string mount_path = path + ".volumeMounts[" + std::to_string(index) + "]";
    if (m.kind() != JsonKind::kObject) return wrongJsonType(mount_path, "an object", m);
    core::VolumeMountView view;
    if (auto s = readString(m, "name", mount_path, &view.name); !s) return s;
    if (auto s = readString(m, "mountPath", mount_path, &view.mount_path); !s) return s;
    out->mounts.push_back(std::move(view));
    return {};
  });
}

// spec.volumes: each volume's name, and its hostPath.path ("" for another kind).
template <typename View>
core::Status readVolumes(const View& volumes, core::PodVolumes* out) {
  if (volumes.kind() != JsonKind::kArray) return wrongJsonType("spec.volumes", "an array", volumes);
  out->has_volumes = true;
  return volumes.forEachElement([&](size_t index, const View& v) -> core::Status {
    const std::string path = "spec.volumes[" + std::to_string(index) + "]";
    if (v.kind() != JsonKind::kObject) return wrongJsonType(path, "an object", v);
    auto name = member(v, "name");
    if (!name) return core::invalidArgument(path + ".name", "is missing");
    if (name->kind() != JsonKind::kString) return wrongJsonType(path + ".name", "a string", *name);
    std::string host_path;
    if (auto host = member(v, "hostPath")) {
      if (host->kind() != JsonKind::kObject)
        return wrongJsonType(path + ".hostPath", "an object", *host);
      if (auto s = readString(*host, "path", path + ".hostPath", &host_path); !s) return s;
    }
    out->host_paths[std::string(name->text())] = std::move(host_path);
    return {};
  });
}

// `volumes` null: the containers only, as the extender and mpshare-node read pods.
template <typename View>
core::Status readContainers(const View& spec, const char* key, bool init, core::PodView* pod,
                            core::PodVolumes* volumes) {
  auto list = member(spec, key);
  if (!list) return {};
  const std::string list_path = std::string("spec.") + key;
  if (list->kind() != JsonKind::kArray) return wrongJsonType(list_path, "an array", *list);
  return list->forEachElement([&](size_t index, const View& c) -> core::Status {
    const std::string path = list_path + "[" + std::to_string(index) + "]";
    if (c.kind() != JsonKind::kObject) return wrongJsonType(path, "an object", c);
    core::ContainerView view;
    view.index = static_cast<int>(index);
    if (auto s = readString(c, "name", path, &view.name); !s) return s;
    std::string restart_policy;
    if (auto s = readString(c, "restartPolicy", path, &restart_policy); !s) return s;
    view.kind = !init                        ? core::ContainerKind::kRegular
                : restart_policy == "Always" ? core::ContainerKind::kSidecar
                                             : core::ContainerKind::kInit;
    if (auto res = member(c, "resources")) {
      if (res->kind() != JsonKind::kObject)
        return wrongJsonType(path + ".resources", "an object", *res);
      if (auto s = readStringMap(*res, "limits", path + ".resources", &view.limits); !s) return s;
      if (auto s = readStringMap(*res, "requests", path + ".resources", &view.requests); !s)
        return s;
    }
    if (auto env = member(c, "env")) {
      if (auto s = readEnv(*env, path, &view); !s) return s;
    }
    if (auto mounts = member(c, "volumeMounts"); mounts && volumes != nullptr) {
      auto& container_mounts = volumes->containers[{init, static_cast<int>(index)}];
      if (auto s = readMounts(*mounts, path, &container_mounts); !s) return s;
    }
    pod->containers.push_back(std::move(view));
    return {};
  });
}

// One term's matchExpressions or matchFields: each requirement's key,
// operator and values, as sent.
template <typename View>
core::Status readRequirements(const View& term, const char* key, const std::string& path,
                              std::vector<core::NodeSelectorRequirement>* out) {
  auto list = member(term, key);
  if (!list) return {};
  const std::string list_path = path + "." + key;
  if (list->kind() != JsonKind::kArray) return wrongJsonType(list_path, "an array", *list);
  return list->forEachElement([&](size_t index, const View& r) -> core::Status {
    const std::string req_path = list_path + "[" + std::to_string(index) + "]";
    if (r.kind() != JsonKind::kObject) return wrongJsonType(req_path, "an object", r);
    core::NodeSelectorRequirement requirement;
    if (auto s = readString(r, "key", req_path, &requirement.key); !s) return s;
    if (auto s = readString(r, "operator", req_path, &requirement.op); !s) return s;
    if (auto values = member(r, "values")) {
      if (values->kind() != JsonKind::kArray)
        return wrongJsonType(req_path + ".values", "an array of strings", *values);
      auto read = values->forEachElement([&](size_t i, const View& v) -> core::Status {
        if (v.kind() != JsonKind::kString) {
          return wrongJsonType(req_path + ".values[" + std::to_string(i) + "]", "a string", v);
        }
        requirement.values.emplace_back(v.text());
        return {};
      });
      if (!read) return read;
    }
    out->push_back(std::move(requirement));
    return {};
  });
}

// spec.affinity's required node affinity: the terms a node must match one of.
// Preferred terms (wishes) and pod (anti-)affinity (about other pods, not node
// labels) are not read.
template <typename View>
core::Status readRequiredNodeTerms(const View& spec, std::vector<core::NodeSelectorTerm>* out) {
  std::string path = "spec";
  std::optional<View> at = spec;
  for (const char* key :
       {"affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"}) {
    at = member(*at, key);
    path += std::string(".") + key;
    if (!at) return {};
    if (at->kind() != JsonKind::kObject) return wrongJsonType(path, "an object", *at);
  }
  auto terms = member(*at, "nodeSelectorTerms");
  if (!terms) return {};
  path += ".nodeSelectorTerms";
  if (terms->kind() != JsonKind::kArray) return wrongJsonType(path, "an array", *terms);
  return terms->forEachElement([&](size_t index, const View& t) -> core::Status {
    const std::string term_path = path + "[" + std::to_string(index) + "]";
    if (t.kind() != JsonKind::kObject) return wrongJsonType(term_path, "an object", t);
    core::NodeSelectorTerm term;
    if (auto s = readRequirements(t, "matchExpressions", term_path, &term.match_expressions); !s)
      return s;
    if (auto s = readRequirements(t, "matchFields", term_path, &term.match_fields); !s) return s;
    out->push_back(std::move(term));
    return {};
  });
}

core::PodPhase phaseOf(const std::string& phase) {
  if (phase == "Running") return core::PodPhase::kRunning;
  if (phase == "Succeeded") return core::PodPhase::kSucceeded;
  if (phase == "Failed") return core::PodPhase::kFailed;
  if (phase == "Unknown") return core::PodPhase::kUnknown;
  return core::PodPhase::kPending;
}

template <typename View>
core::Result<core::PodView> readPod(const View& pod, core::PodVolumes* volumes = nullptr) {
  if (pod.kind() != JsonKind::kObject) return wrongJsonType("pod", "an object", pod);
  core::PodView view;
  if (auto meta = member(pod, "metadata")) {
    if (meta->kind() != JsonKind::kObject) return wrongJsonType("metadata", "an object", *meta);
    if (auto s = readString(*meta, "name", "metadata", &view.name); !s) return s.error();
    if (auto s = readString(*meta, "namespace", "metadata", &view.namespace_name); !s)
      return s.error();
    if (auto s = readString(*meta, "uid", "metadata", &view.uid); !s) return s.error();
    if (auto s = readStringMap(*meta, "annotations", "metadata", &view.annotations,
                               &view.has_annotations);
        !s) {
      return s.error();
    }
    if (auto s = readStringMap(*meta, "labels", "metadata", &view.labels); !s) return s.error();
    view.deleting = member(*meta, "deletionTimestamp").has_value();
  }
  if (auto spec = member(pod, "spec")) {
    if (spec->kind() != JsonKind::kObject) return wrongJsonType("spec", "an object", *spec);
    if (auto s = readString(*spec, "nodeName", "spec", &view.node_name); !s) return s.error();
    if (auto s = readStringMap(*spec, "nodeSelector", "spec", &view.node_selector); !s) {
      return s.error();
    }
    if (auto s = readString(*spec, "schedulerName", "spec", &view.scheduler_name); !s) {
      return s.error();
    }
    if (auto s = readRequiredNodeTerms(*spec, &view.required_node_terms); !s) return s.error();
    if (auto s = readContainers(*spec, "containers", false, &view, volumes); !s) return s.error();
    if (auto s = readContainers(*spec, "initContainers", true, &view, volumes); !s) {
      return s.error();
    }
    if (volumes != nullptr) {
      if (auto ipc = member(*spec, "hostIPC")) {
        if (ipc->kind() != JsonKind::kBoolean)
          return wrongJsonType("spec.hostIPC", "a boolean", *ipc);
        volumes->host_ipc = ipc->boolean();
      }
      if (auto list = member(*spec, "volumes")) {
        if (auto s = readVolumes(*list, volumes); !s) return s.error();
      }
    }
  }
  if (auto status = member(pod, "status")) {
    if (status->kind() != JsonKind::kObject) return wrongJsonType("status", "an object", *status);
    std::string phase;
    if (auto s = readString(*status, "phase", "status", &phase); !s) return s.error();
    view.phase = phaseOf(phase);
  }
  return view;
}

template <typename View>
core::Result<core::NodeView> readNode(const View& node) {
  if (node.kind() != JsonKind::kObject) return wrongJsonType("node", "an object", node);
  core::NodeView view;
  auto meta = member(node, "metadata");
  if (!meta) return core::invalidArgument("metadata", "is missing");
  if (meta->kind() != JsonKind::kObject) return wrongJsonType("metadata", "an object", *meta);
  if (auto s = readString(*meta, "name", "metadata", &view.name); !s) return s.error();
  if (view.name.empty()) return core::invalidArgument("metadata.name", "is missing");
  if (auto s = readStringMap(*meta, "labels", "metadata", &view.labels); !s) return s.error();
  view.deleting = member(*meta, "deletionTimestamp").has_value();
  return view;
}

}  // namespace

core::Result<core::PodView> podFromJson(const nlohmann::json& pod) {
  return readPod(NlohmannView(pod));
}

core::Result<core::PodView> podFromSimdjson(const simdjson::dom::element& pod) {
  return readPod(SimdjsonView(pod));
}

core::Result<PodWithVolumes> podWithVolumesFromSimdjson(const simdjson::dom::element& pod) {
  PodWithVolumes out;
  auto view = readPod(SimdjsonView(pod), &out.volumes);
  if (!view) return view.error();
  out.pod = std::move(*view);
  return out;
}

core::Result<core::NodeView> nodeFromJson(const nlohmann::json& node) {
  return readNode(NlohmannView(node));
}

core::Result<core::NodeView> nodeFromSimdjson(const simdjson::dom::element& node) {
  return readNode(SimdjsonView(node));
}

}  // namespace mpshare::platform
