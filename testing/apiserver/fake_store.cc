#include "testing/apiserver/fake_store.h"

#include <algorithm>
#include <sstream>

namespace mpshare::kubetest {
namespace {

std::vector<std::string> splitComma(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string fieldValue(const json& object, const std::string& field) {
  if (field == "metadata.name") return object["metadata"].value("name", "");
  if (field == "metadata.namespace") return object["metadata"].value("namespace", "");
  if (field == "spec.nodeName")
    return object.contains("spec") ? object["spec"].value("nodeName", "") : "";
  if (field == "status.phase")
    return object.contains("status") ? object["status"].value("phase", "") : "";
  return "";
}

}  // namespace

json statusObject(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"metadata", json::object()},
          {"status", code < 300 ? "Success" : "Failure"},
          {"message", message},
          {"reason", reason},
          {"code", code}};
}

core::Result<Selector> Selector::parse(const std::string& labels, const std::string& fields) {
  Selector selector;
  auto parseOne = [](const std::string& term, bool allow_exists) -> std::optional<Requirement> {
    Requirement r;
    if (auto p = term.find("!="); p != std::string::npos) {
      r.key = term.substr(0, p);
      r.negate = true;
      r.value = term.substr(p + 2);
    } else if (auto q = term.find("=="); q != std::string::npos) {
      r.key = term.substr(0, q);
      r.value = term.substr(q + 2);
    } else if (auto e = term.find('='); e != std::string::npos) {
      r.key = term.substr(0, e);
      r.value = term.substr(e + 1);
    } else if (allow_exists) {
      r.key = term;
      r.exists_only = true;
    } else {
      return std::nullopt;
    }
    return r;
  };
  for (const auto& term : splitComma(labels)) {
    auto r = parseOne(term, true);
    if (!r) return core::invalidArgument("labelSelector", "bad term " + term);
    selector.labels_.push_back(*r);
  }
  for (const auto& term : splitComma(fields)) {
    auto r = parseOne(term, false);
    if (!r) return core::invalidArgument("fieldSelector", "bad term " + term);
    static const std::vector<std::string> kSupported{"metadata.name", "metadata.namespace",
                                                     "spec.nodeName", "status.phase"};
    if (std::find(kSupported.begin(), kSupported.end(), r->key) == kSupported.end()) {
      return core::invalidArgument("fieldSelector", "field label not supported: " + r->key);
    }
    selector.fields_.push_back(*r);
  }
  return selector;
}

bool Selector::matches(const json& object) const {
  const json empty = json::object();
  const json& labels = object["metadata"].contains("labels") ? object["metadata"]["labels"] : empty;
  for (const auto& r : labels_) {
    const bool has = labels.contains(r.key);
    if (r.exists_only) {
      if (!has) return false;
      continue;
    }
    const bool equal = has && labels[r.key] == r.value;
    if (equal == r.negate) return false;
  }
  for (const auto& r : fields_) {
    const bool equal = fieldValue(object, r.key) == r.value;
    if (equal == r.negate) return false;
  }
  return true;
}

std::string FakeStore::keyOf(Kind kind, const json& object) {
  const std::string name = object["metadata"].value("name", "");
  return kind == Kind::kPods ? object["metadata"].value("namespace", "default") + "/" + name : name;
}

int64_t FakeStore::record(Kind kind, const std::string& type, json& object, json previous) {
  ++resource_version_;
  object["metadata"]["resourceVersion"] = std::to_string(resource_version_);
  history_.push_back({resource_version_, kind, type, object, std::move(previous)});
  changed_.notify_all();
  return resource_version_;
}

int64_t FakeStore::create(Kind kind, json object) {
  std::lock_guard lock(mutex_);
  object["apiVersion"] = "v1";
  object["kind"] = kind == Kind::kPods ? "Pod" : "Node";
  json& meta = object["metadata"];
  if (kind == Kind::kPods && !meta.contains("namespace")) meta["namespace"] = "default";
  if (!meta.contains("uid"))
    meta["uid"] = "uid-" + std::to_string(++uid_counter_) + "-" + meta.value("name", "");
  if (!meta.contains("creationTimestamp")) meta["creationTimestamp"] = "2026-11-24T03:00:00Z";
  if (kind == Kind::kPods && !object["status"].contains("phase"))
    object["status"]["phase"] = "Pending";
  const std::string key = keyOf(kind, object);
  const int64_t rv = record(kind, "ADDED", object, nullptr);
  objects_[static_cast<int>(kind)][key] = object;
  return rv;
}

int64_t FakeStore::update(Kind kind, json object) {
  std::lock_guard lock(mutex_);
  const std::string key = keyOf(kind, object);
  auto& objects = objects_[static_cast<int>(kind)];
  auto it = objects.find(key);
  if (it == objects.end()) return 0;
  object["apiVersion"] = "v1";
  object["kind"] = kind == Kind::kPods ? "Pod" : "Node";
  object["metadata"]["uid"] = it->second["metadata"]["uid"];
  const int64_t rv = record(kind, "MODIFIED", object, it->second);
  it->second = object;
  return rv;
}

bool FakeStore::remove(Kind kind, const std::string& key) {
  std::lock_guard lock(mutex_);
  auto& objects = objects_[static_cast<int>(kind)];
  auto it = objects.find(key);
  if (it == objects.end()) return false;
  json last = it->second;
  objects.erase(it);
  record(kind, "DELETED", last, last);
  return true;
}

std::optional<json> FakeStore::get(Kind kind, const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto& objects = objects_[static_cast<int>(kind)];
  auto it = objects.find(key);
  if (it == objects.end()) return std::nullopt;
  return it->second;
}

std::vector<json> FakeStore::list(Kind kind, const Selector& selector,
                                  int64_t* resource_version) const {
  std::lock_guard lock(mutex_);
  std::vector<json> items;
  for (const auto& [key, object] : objects_[static_cast<int>(kind)]) {
    if (selector.matches(object)) items.push_back(object);
  }
  *resource_version = resource_version_;
  return items;
}

bool FakeStore::eventsAfter(Kind kind, int64_t after, std::vector<StoredEvent>& out,
                            int64_t* upto) const {
  std::lock_guard lock(mutex_);
  if (after < compacted_) return false;
  if (upto != nullptr) *upto = resource_version_;
  auto it =
      std::upper_bound(history_.begin(), history_.end(), after,
                       [](int64_t rv, const StoredEvent& e) { return rv < e.resource_version; });
  for (; it != history_.end(); ++it) {
    if (it->kind == kind) out.push_back(*it);
  }
  return true;
}

void FakeStore::waitPast(int64_t after, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return resource_version_ > after; });
}

void FakeStore::compact() {
  std::lock_guard lock(mutex_);
  history_.clear();
  // The resourceVersion is global (other resources' writes move it too): step
  // it, so that every version a client may hold, the newest included, is now
  // too old, while a list from here on starts a valid watch.
  ++resource_version_;
  compacted_ = resource_version_;
  changed_.notify_all();
}

int64_t FakeStore::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

std::vector<json> FakeStore::bindings() const {
  std::lock_guard lock(mutex_);
  return bindings_;
}

ApiAnswer FakeStore::bind(const std::string& namespace_name, const std::string& name,
                          const json& binding) {
  std::lock_guard lock(mutex_);
  const json& meta = binding.contains("metadata") ? binding["metadata"] : json::object();
  if (meta.value("name", "") != name) {
    return {400,
            statusObject(400, "BadRequest", "name in URL does not match name in Binding object")};
  }
  if (!binding.contains("target") || binding["target"].value("name", "").empty()) {
    return {400, statusObject(400, "BadRequest", "Binding.target.name: Required value")};
  }
  auto& pods = objects_[static_cast<int>(Kind::kPods)];
  auto it = pods.find(namespace_name + "/" + name);
  if (it == pods.end())
    return {404, statusObject(404, "NotFound", "pods \"" + name + "\" not found")};
  json& pod = it->second;
  const std::string uid = pod["metadata"].value("uid", "");
  if (meta.contains("uid") && meta["uid"] != uid) {
    return {409, statusObject(409, "Conflict",
                              "Operation cannot be fulfilled on pods/binding \"" + name +
                                  "\": Precondition failed: UID in precondition: " +
                                  meta["uid"].get<std::string>() + ", UID in object meta: " + uid)};
  }
  if (pod["metadata"].contains("deletionTimestamp")) {
    return {409, statusObject(409, "Conflict",
                              "pod " + name + " is being deleted, cannot be assigned to a host")};
  }
  const std::string current = pod["spec"].value("nodeName", "");
  if (!current.empty()) {
    return {409,
            statusObject(409, "Conflict",
                         "Operation cannot be fulfilled on pods/binding \"" + name + "\": pod " +
                             name + " is already assigned to node \"" + current + "\"")};
  }
  json previous = pod;
  pod["spec"]["nodeName"] = binding["target"]["name"];
  if (meta.contains("annotations")) {
    for (const auto& [key, value] : meta["annotations"].items())
      pod["metadata"]["annotations"][key] = value;
  }
  pod["status"]["conditions"].push_back({{"type", "PodScheduled"}, {"status", "True"}});
  record(Kind::kPods, "MODIFIED", pod, std::move(previous));
  bindings_.push_back(binding);
  return {201, statusObject(201, "", "")};
}

ApiAnswer FakeStore::patch(Kind kind, const std::string& key, const json& patch) {
  std::lock_guard lock(mutex_);
  const std::string resource = kind == Kind::kPods ? "pods" : "nodes";
  const std::string name = key.substr(key.find('/') + 1);
  if (!patch.is_object())
    return {400, statusObject(400, "BadRequest", "patch must be a JSON object")};
  auto& objects = objects_[static_cast<int>(kind)];
  auto it = objects.find(key);
  if (it == objects.end())
    return {404, statusObject(404, "NotFound", resource + " \"" + name + "\" not found")};
  json& object = it->second;
  const json meta = patch.contains("metadata") && patch["metadata"].is_object() ? patch["metadata"]
                                                                                : json::object();
  const std::string uid = object["metadata"].value("uid", "");
  if (meta.contains("uid") && meta["uid"] != uid) {
    return {409, statusObject(409, "Conflict",
                              "Operation cannot be fulfilled on " + resource + " \"" + name +
                                  "\": Precondition failed: UID in precondition: " +
                                  meta["uid"].dump() + ", UID in object meta: " + uid)};
  }
  const std::string version = object["metadata"].value("resourceVersion", "");
  if (meta.contains("resourceVersion") && meta["resourceVersion"] != version) {
    return {409,
            statusObject(
                409, "Conflict",
                "Operation cannot be fulfilled on " + resource + " \"" + name +
                    "\": the object has been modified; please apply your changes to the latest "
                    "version and try again")};
  }
  json previous = object;
  json patched = object;
  json body = patch;
  if (body.contains("metadata") && body["metadata"].is_object())
    body["metadata"].erase("resourceVersion");
  patched.merge_patch(body);
  object = std::move(patched);
  record(kind, "MODIFIED", object, std::move(previous));
  json logged = patch;
  logged["key"] = key;
  patches_.push_back(std::move(logged));
  return {200, object};
}

std::vector<json> FakeStore::patches() const {
  std::lock_guard lock(mutex_);
  return patches_;
}

}  // namespace mpshare::kubetest
