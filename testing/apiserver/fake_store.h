#pragma once

// The storage half of the test API server: pods and nodes as the API server
// keeps them (JSON objects, one global resourceVersion counter, an event history
// that can be compacted so old versions answer 410), label/field selectors, and
// the Binding subresource with its precondition and conflict rules.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace mpshare::kubetest {

using nlohmann::json;

enum class Kind { kPods, kNodes };

struct StoredEvent {
  int64_t resource_version = 0;
  Kind kind = Kind::kPods;
  std::string type;  // ADDED, MODIFIED, DELETED
  json object;
  json previous;  // state before the change; null for ADDED
};

// labelSelector (k=v, k==v, k!=v, k) and fieldSelector (metadata.name,
// metadata.namespace, spec.nodeName, status.phase with = == !=), comma = AND.
class Selector {
 public:
  static core::Result<Selector> parse(const std::string& labels, const std::string& fields);
  [[nodiscard]] bool matches(const json& object) const;

 private:
  struct Requirement {
    std::string key;
    bool negate = false;
    bool exists_only = false;
    std::string value;
  };
  std::vector<Requirement> labels_;
  std::vector<Requirement> fields_;
};

// An HTTP answer: status and a Kubernetes object body (a Status on errors).
struct ApiAnswer {
  int status = 200;
  json body;
};

// A Status object as the API server writes it, e.g. status(409, "Conflict", "...").
json statusObject(int code, const std::string& reason, const std::string& message);

class FakeStore {
 public:
  // Create, replace, delete; each bumps the resourceVersion and records an event.
  // create() fills uid, creationTimestamp and (pods) status.phase when missing.
  int64_t create(Kind kind, json object);
  int64_t update(Kind kind, json object);
  bool remove(Kind kind, const std::string& key);  // key: "ns/name" for pods, name for nodes
  std::optional<json> get(Kind kind, const std::string& key) const;

  // All matching objects sorted by key, and the resourceVersion they are at.
  std::vector<json> list(Kind kind, const Selector& selector, int64_t* resource_version) const;
  // Events of `kind` after `after`; false when that version was compacted (410).
  // `upto` receives the version the answer is complete up to.
  bool eventsAfter(Kind kind, int64_t after, std::vector<StoredEvent>& out,
                   int64_t* upto = nullptr) const;
  // Waits until the resourceVersion passes `after` or the deadline.
  void waitPast(int64_t after, std::chrono::steady_clock::time_point deadline) const;
  void notifyAll() const { changed_.notify_all(); }
  // Forgets the history: watches from any version issued so far get 410.
  void compact();

  // POST .../pods/{name}/binding.
  ApiAnswer bind(const std::string& namespace_name, const std::string& name, const json& binding);

  // PATCH (merge patch, RFC 7386) of a pod ("ns/name") or node. A uid or
  // resourceVersion in the patch's metadata is a precondition: 409 when it
  // differs from the stored object's, as the API server answers.
  ApiAnswer patch(Kind kind, const std::string& key, const json& patch);

  [[nodiscard]] int64_t resourceVersion() const;
  [[nodiscard]] std::vector<json> bindings() const;
  // Every PATCH body accepted, in order, with "key" added.
  [[nodiscard]] std::vector<json> patches() const;

 private:
  int64_t record(Kind kind, const std::string& type, json& object, json previous);
  static std::string keyOf(Kind kind, const json& object);

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::string, json> objects_[2];
  std::vector<StoredEvent> history_;
  int64_t resource_version_ = 1000;
  int64_t compacted_ = 0;  // watches from a version below this get 410
  int64_t uid_counter_ = 0;
  std::vector<json> bindings_;
  std::vector<json> patches_;
};

}  // namespace mpshare::kubetest
