#pragma once

// The places where standalone and cluster mode differ, as small interfaces.
// Standalone implementations live in standalone.h; cluster mode supplies its own.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/ledger.h"
#include "core/pending_plan.h"
#include "core/pod.h"
#include "core/result.h"

namespace mpshare::extender {

// Where bind finds the pod it is asked to bind (the bind request carries only
// names and the UID).
class PodLookup {
 public:
  virtual ~PodLookup() = default;
  // Called for every pod seen in filter/prioritize.
  virtual void remember(const core::PodView& pod) = 0;
  // By UID when given, else by namespace/name; nullopt when unknown.
  [[nodiscard]] virtual std::optional<core::PodView> find(const std::string& uid,
                                                          const std::string& namespace_name,
                                                          const std::string& name) const = 0;
  virtual void forget(const std::string& uid) = 0;
};

// A committed placement: what bind hands to the Binder.
struct BindRequest {
  const core::PodView* pod = nullptr;
  std::string node;
  std::vector<int> gpu_indices;  // empty for a pod that asks for no GPU
};

// How a bind is committed once the ledger holds the reservation. Standalone
// records it in memory; cluster mode POSTs a Binding carrying
// mpshare.io/gpu-index. An error makes bind release the reservation and return
// the Error field, so the scheduler retries the pod; kUnavailable means the
// commit may have landed (its outcome is unknown), and bind holds the
// reservation instead, marked unsettled (core/ledger.h).
class Binder {
 public:
  virtual ~Binder() = default;
  virtual core::Status bind(const BindRequest& request) = 0;
};

// Receives node inventory; the extender service implements it.
class InventorySink {
 public:
  virtual ~InventorySink() = default;
  virtual void upsertNode(const core::NodeView& node) = 0;
  virtual void removeNode(const std::string& name) = 0;
};

// Where the node inventory comes from when requests carry only NodeNames:
// a --nodes file in standalone mode, the API-server watch in cluster mode.
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  // Feeds the current nodes into `sink` (and, for a watch, keeps feeding it).
  virtual core::Status start(InventorySink& sink) = 0;
};

// Pods waiting for a node, as the pod watch shows them (cluster mode): a policy
// that plans the queue (fgd-plus-batch, core/pending_plan.h) plans them before
// the scheduler asks. Only GPU pods of the extender's scheduler are fed.
class PendingPodSink {
 public:
  virtual ~PendingPodSink() = default;
  // A pod not bound yet, asking for GPUs, with spec.schedulerName the extender's
  // (added, or changed: the latest view replaces the earlier one).
  virtual void podPending(core::PendingPod pod) = 0;
  // The pod is bound, ended or deleted, or no longer as above.
  virtual void podNotPending(const std::string& uid) = 0;
  // After a full list: every pod not in `uids` is no longer pending.
  virtual void keepOnlyPending(const std::set<std::string>& uids) = 0;
};

// Whether /readyz answers 200: the inventory is loaded (and, in cluster mode,
// the caches have synced).
class Readiness {
 public:
  virtual ~Readiness() = default;
  [[nodiscard]] virtual bool ready() const = 0;
  // A short reason while not ready, e.g. "node cache not synced".
  [[nodiscard]] virtual std::string reason() const { return ready() ? "" : "not ready"; }
};

}  // namespace mpshare::extender
