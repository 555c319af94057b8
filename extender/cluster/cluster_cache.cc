#include "extender/cluster/cluster_cache.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>

#include "core/annotations.h"
#include "core/demand.h"
#include "core/gpu_models.h"
#include "extender/cluster/api_seams.h"
#include "platform/kube_json.h"
#include "platform/logging.h"

namespace mpshare::extender {
namespace {

std::string createdOf(const nlohmann::json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  const auto created = meta->find("creationTimestamp");
  return created != meta->end() && created->is_string() ? created->get<std::string>() : "";
}

std::string nameOf(const nlohmann::json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  return meta->value("name", "");
}

std::string uidOf(const nlohmann::json& object) {
  const auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  const auto uid = meta->find("uid");
  return uid != meta->end() && uid->is_string() ? uid->get<std::string>() : "";
}

// spec.priority, which admission resolves from the pod's PriorityClass; absent
// (or not an integer) counts as 0, as kube-scheduler's queue takes it.
int priorityOf(const nlohmann::json& object) {
  const auto spec = object.find("spec");
  if (spec == object.end() || !spec->is_object()) return 0;
  const auto priority = spec->find("priority");
  if (priority == spec->end() || !priority->is_number_integer()) return 0;
  return static_cast<int>(std::clamp<std::int64_t>(priority->get<std::int64_t>(),
                                                   std::numeric_limits<int>::min(),
                                                   std::numeric_limits<int>::max()));
}

// The pod as the plan of the queue sees it, when it waits for a node from the
// extender's scheduler and asks for GPUs; nullopt for any other pod. A pod
// being deleted is not scheduled any more, and one whose annotations cannot be
// read cannot be planned (filter answers it with the error).
std::optional<core::PendingPod> pendingOf(const core::PodView& pod, bool ended,
                                          const nlohmann::json& object,
                                          const ExtenderConfig& config) {
  if (ended || pod.deleting || !pod.node_name.empty() || pod.uid.empty()) return std::nullopt;
  if (pod.scheduler_name != config.plan.scheduler_name) return std::nullopt;
  auto demand = core::demandOf(pod, config.demand);
  if (!demand.ok() || !demand->has_value()) return std::nullopt;
  return core::PendingPod{.uid = pod.uid,
                          .key = pod.key(),
                          .demand = **demand,
                          .products = core::gpuProductsOf(pod),
                          .priority = priorityOf(object),
                          .created = createdOf(object)};
}

// The same pod counted as a whole-GPU user of GPUs 0..n-1: what is assumed when
// its own gpu-index cannot be used.
core::ReserveRequest asWholeGpus(core::ReserveRequest request) {
  const int gpus = std::max(1, request.demand.gpus);
  core::Demand whole;
  whole.gpus = gpus;
  whole.cpu_milli = request.demand.cpu_milli;
  whole.host_memory_mib = request.demand.host_memory_mib;
  request.demand = whole;
  request.gpu_indices.clear();
  for (int i = 0; i < gpus; ++i) request.gpu_indices.push_back(i);
  return request;
}

struct Overcommit {
  std::string uid;
  std::string pod;
  int gpu = 0;
  std::string demand;
  bool from_annotation = false;
};

}  // namespace

ClusterCache::ClusterCache(const ExtenderConfig& config, InventorySink& sink, core::Ledger& ledger,
                           OvercommitReporter overcommit, platform::Gauge* objects,
                           PlacedPodObserver observe, PendingPodSink* pending)
    : config_(config),
      sink_(sink),
      ledger_(ledger),
      overcommit_(std::move(overcommit)),
      objects_(objects),
      observe_(std::move(observe)),
      pending_(pending) {}

void ClusterCache::publishSizesLocked() {
  if (objects_ == nullptr) return;
  objects_->set({{"resource", "nodes"}}, static_cast<double>(node_names_.size()));
  objects_->set({{"resource", "pods"}}, static_cast<double>(placed_.size()));
}

size_t ClusterCache::podCount() const {
  std::lock_guard lock(mutex_);
  return placed_.size();
}

void ClusterCache::notePendingLocked(const std::string& uid, std::optional<core::PendingPod> pod,
                                     PendingChanges& changes) {
  if (pending_ == nullptr || uid.empty()) return;
  if (pod) {
    pending_uids_.insert(uid);
    changes.push_back({uid, std::move(pod)});
  } else if (pending_uids_.erase(uid) != 0) {
    // Every placed pod's events come here too: only the ones reported pending go on.
    changes.push_back({uid, std::nullopt});
  }
}

void ClusterCache::deliverPending(PendingChanges& changes) {
  if (pending_ == nullptr) return;
  for (auto& change : changes) {
    if (change.pod) {
      pending_->podPending(std::move(*change.pod));
    } else {
      pending_->podNotPending(change.uid);
    }
  }
}

void ClusterCache::NodeSink::addPage(const std::vector<nlohmann::json>& items) {
  std::lock_guard lock(cache_.mutex_);
  for (const auto& item : items) {
    listed_.insert(nameOf(item));
    cache_.upsertNodeLocked(item);
  }
}

void ClusterCache::NodeSink::endList() {
  std::lock_guard lock(cache_.mutex_);
  const std::set<std::string> known = cache_.node_names_;
  for (const auto& name : known) {
    if (!listed_.count(name)) cache_.removeNodeLocked(name);
  }
  listed_.clear();
  cache_.publishSizesLocked();
}

void ClusterCache::NodeSink::replace(const std::vector<nlohmann::json>& items) {
  beginList();
  addPage(items);
  endList();
}

void ClusterCache::NodeSink::apply(const std::string& type, const nlohmann::json& object) {
  std::lock_guard lock(cache_.mutex_);
  if (type == "DELETED") {
    cache_.removeNodeLocked(nameOf(object));
  } else {
    cache_.upsertNodeLocked(object);
  }
  cache_.publishSizesLocked();
}

void ClusterCache::PodSink::beginList() {
  listed_.clear();
  touched_.clear();
  held_.clear();
  unconfirmed_.clear();  // held now: this list decides
  unsettled_.clear();
  listed_pending_.clear();
  cache_.ledger_.read([&](const core::LedgerState& state) {
    for (const auto& [uid, reservation] : state.reservations()) {
      held_.insert(uid);
      if (reservation.unsettled != 0) unsettled_[uid] = reservation.unsettled;
    }
  });
}

void ClusterCache::PodSink::addPage(const std::vector<nlohmann::json>& items) {
  PendingChanges changes;
  {
    std::lock_guard lock(cache_.mutex_);
    for (const auto& item : items) {
      const auto meta = item.find("metadata");
      if (meta != item.end() && meta->is_object()) listed_.insert(meta->value("uid", ""));
      touched_.insert(cache_.upsertPodLocked("MODIFIED", item, changes));
    }
  }
  for (const auto& change : changes) {
    if (change.pod) listed_pending_.insert(change.uid);
  }
  cache_.deliverPending(changes);
}

void ClusterCache::PodSink::endList() {
  std::unique_lock lock(cache_.mutex_);
  std::vector<std::string> gone;
  for (const auto& [uid, pod] : cache_.placed_) {
    if (!listed_.count(uid)) gone.push_back(uid);
  }
  for (const auto& uid : gone) touched_.insert(cache_.removePodLocked(uid));
  // A reservation bind took for a pod that is no longer live at all (deleted
  // or finished while the watch was down, so its events were never seen)
  // would otherwise hold its GPU share for ever. Pending pods are listed, so
  // binds in flight for existing pods keep theirs. Only reservations held
  // before the list began count: the list is a snapshot from when it began, so
  // a pod created and bound since is missing from it and still live, and its
  // share released here would be free to give away twice until the watch
  // brings the pod in. Such a pod's ADDED event comes on the watch before any
  // bookmark does; one bound and deleted before the snapshot never shows up,
  // and the first bookmark releases its share.
  std::vector<std::string> stale;
  std::vector<std::string> not_landed;
  cache_.ledger_.read([&](const core::LedgerState& state) {
    for (const auto& [uid, reservation] : state.reservations()) {
      if (cache_.placed_.count(uid)) continue;
      // A share held because its bind's outcome was unknown when this list
      // began: a Binding is committed or refused before its reply, so this
      // list, read after that, is authoritative. Listed unbound, the Binding
      // did not land. The stamp is compared so that a retry of the same pod
      // since then (in flight, or unknown again) keeps its share.
      if (listed_.count(uid)) {
        const auto seen = unsettled_.find(uid);
        if (seen != unsettled_.end() && seen->second == reservation.unsettled) {
          not_landed.push_back(uid);
          touched_.insert(reservation.node);
        }
        continue;
      }
      if (held_.count(uid)) {
        stale.push_back(uid);
        touched_.insert(reservation.node);  // its pods' overcommit flags may clear
      } else {
        unconfirmed_.insert(uid);
      }
    }
  });
  for (const auto& uid : stale) {
    platform::logInfo("releasing the reservation of a pod that no longer exists", {{"uid", uid}});
    cache_.ledger_.release(uid);
  }
  for (const auto& uid : not_landed) {
    platform::logInfo("releasing the share of a bind that did not land", {{"uid", uid}});
    cache_.ledger_.release(uid);
  }
  touched_.erase("");
  // Each node is rebuilt once, after all its pods are known, not once per pod.
  for (const auto& node : touched_) cache_.rebuildNodeLocked(node);
  listed_.clear();
  touched_.clear();
  held_.clear();
  unsettled_.clear();
  cache_.publishSizesLocked();
  // Pending pods deleted while the watch was down never had their DELETED
  // event; the list is the whole truth about which pods wait.
  if (cache_.pending_ == nullptr) return;
  cache_.pending_uids_ = listed_pending_;
  lock.unlock();
  cache_.pending_->keepOnlyPending(listed_pending_);
  listed_pending_.clear();
}

void ClusterCache::PodSink::replace(const std::vector<nlohmann::json>& items) {
  beginList();
  addPage(items);
  endList();
}

void ClusterCache::PodSink::apply(const std::string& type, const nlohmann::json& object) {
  const auto meta = object.find("metadata");
  if (meta != object.end() && meta->is_object()) unconfirmed_.erase(meta->value("uid", ""));
  PendingChanges changes;
  {
    std::lock_guard lock(cache_.mutex_);
    const std::string node = cache_.upsertPodLocked(type, object, changes);
    if (!node.empty()) cache_.rebuildNodeLocked(node);
    cache_.publishSizesLocked();
  }
  cache_.deliverPending(changes);
}

void ClusterCache::PodSink::bookmark() {
  if (unconfirmed_.empty()) return;
  std::lock_guard lock(cache_.mutex_);
  for (const auto& uid : unconfirmed_) {
    const auto reservation = cache_.ledger_.reservation(uid);
    if (cache_.placed_.count(uid) || !reservation) continue;
    platform::logInfo("releasing the reservation of a pod that no longer exists", {{"uid", uid}});
    cache_.ledger_.release(uid);
    cache_.rebuildNodeLocked(reservation->node);  // its pods' overcommit flags may clear
  }
  unconfirmed_.clear();
}

void ClusterCache::upsertNodeLocked(const nlohmann::json& object) {
  auto node = platform::nodeFromJson(object);
  if (!node) {
    platform::logWarn("ignoring malformed node", {{"error", node.error().describe()}});
    return;
  }
  node_names_.insert(node->name);
  // The service decides: selected and well-labelled -> inventory, else dropped.
  sink_.upsertNode(*node);
  // Pods already placed there (seen before the node, or released when it lost
  // its labels or GPUs) count again.
  rebuildNodeLocked(node->name);
}

void ClusterCache::removeNodeLocked(const std::string& name) {
  node_names_.erase(name);
  // The ledger drops the node's reservations; its pods stay cached in case the
  // node comes back.
  sink_.removeNode(name);
}

ClusterCache::PlacedPod ClusterCache::placedPodOf(const core::PodView& pod) const {
  PlacedPod placed;
  placed.request.uid = pod.uid;
  placed.request.pod_key = pod.key();
  placed.request.node = pod.node_name;
  auto demand = core::demandOf(pod, config_.demand);
  const auto annotation = pod.annotations.find(std::string(core::kGpuIndexAnnotation));
  std::optional<std::vector<int>> indices;
  if (annotation != pod.annotations.end()) {
    if (auto parsed = core::parseGpuIndices(annotation->second)) indices = std::move(*parsed);
  }
  if (demand.ok() && demand->has_value() && indices &&
      static_cast<int>(indices->size()) == (*demand)->gpus) {
    placed.request.demand = **demand;
    placed.request.gpu_indices = *indices;
    placed.from_annotation = true;
    return placed;
  }
  // Placed by something else (or unreadable): assume it holds whole GPUs, the
  // first ones on the node, so the budget errs on the safe side.
  placed.request.demand.gpus = demand.ok() && demand->has_value() ? (*demand)->gpus : 1;
  placed.request = asWholeGpus(placed.request);
  return placed;
}

std::string ClusterCache::upsertPodLocked(const std::string& type, const nlohmann::json& object,
                                          PendingChanges& changes) {
  auto pod = platform::podFromJson(object);
  if (!pod) {
    platform::logWarn("ignoring malformed pod", {{"error", pod.error().describe()}});
    notePendingLocked(uidOf(object), std::nullopt, changes);  // nothing to plan
    return "";
  }
  const bool ended = type == "DELETED" || pod->phase == core::PodPhase::kSucceeded ||
                     pod->phase == core::PodPhase::kFailed;
  if (pending_ != nullptr) {
    notePendingLocked(pod->uid, pendingOf(*pod, ended, object, config_), changes);
  }
  if (ended) return removePodLocked(pod->uid);
  // Not placed yet: a bind may be in flight with its reservation taken; leave it.
  if (pod->node_name.empty()) return "";
  auto demand = core::demandOf(*pod, config_.demand);
  if (demand.ok() && !demand->has_value()) {
    // Asks for no GPU (annotations can change): nothing of ours to count.
    return placed_.count(pod->uid) ? removePodLocked(pod->uid) : "";
  }
  PlacedPod placed = placedPodOf(*pod);
  placed.created = createdOf(object);
  std::string previous_node;
  if (const auto it = placed_.find(pod->uid); it != placed_.end()) {
    previous_node = it->second.request.node;
  }
  if (!previous_node.empty() && previous_node != pod->node_name) {
    // spec.nodeName never changes in Kubernetes; a new node means a new pod.
    removePodLocked(pod->uid);
    rebuildNodeLocked(previous_node);
  }
  if (observe_ && previous_node.empty() && demand.ok() && demand->has_value()) {
    observe_(pod->uid, **demand);
  }
  pods_on_node_[pod->node_name].insert(pod->uid);
  placed_[pod->uid] = std::move(placed);
  return pod->node_name;
}

std::string ClusterCache::removePodLocked(const std::string& uid) {
  overcommitted_.erase(uid);
  const auto it = placed_.find(uid);
  if (it == placed_.end()) {
    // Never cached as placed (an ended pod): at most a reservation a bind took.
    ledger_.release(uid);
    return "";
  }
  const std::string node = it->second.request.node;
  placed_.erase(it);
  if (auto on = pods_on_node_.find(node); on != pods_on_node_.end()) {
    on->second.erase(uid);
    if (on->second.empty()) pods_on_node_.erase(on);
  }
  ledger_.release(uid);
  return node;
}

void ClusterCache::rebuildNodeLocked(const std::string& node) {
  const auto on = pods_on_node_.find(node);
  if (on == pods_on_node_.end()) return;
  std::vector<const PlacedPod*> pods;
  for (const auto& uid : on->second) pods.push_back(&placed_.at(uid));
  std::vector<Overcommit> over;
  std::set<std::string> fitting;
  ledger_.write([&](core::LedgerState& state) {
    for (const PlacedPod* pod : pods) state.release(pod->request.uid);
    const core::NodeState* known = state.node(node);
    if (known == nullptr) return;  // not managed (or not seen yet): nothing to count
    // An index the node does not have (relabelled, fewer GPUs) cannot be used.
    const auto usable = [&](const PlacedPod& pod) {
      return pod.from_annotation &&
             std::all_of(pod.request.gpu_indices.begin(), pod.request.gpu_indices.end(),
                         [&](int index) { return known->gpu(index) != nullptr; });
    };
    std::vector<std::tuple<bool, std::string, std::string, const PlacedPod*>> order;
    for (const PlacedPod* pod : pods)
      order.emplace_back(!usable(*pod), pod->created, pod->request.uid, pod);
    std::sort(order.begin(), order.end());
    for (const auto& [foreign, created, uid, pod] : order) {
      const core::ReserveRequest request = foreign ? asWholeGpus(pod->request) : pod->request;
      auto recorded = state.record(request);
      if (!recorded) continue;  // more GPUs asked for than the node has: it cannot run there
      if (!recorded->overcommitted) {
        fitting.insert(uid);
        continue;
      }
      for (const int gpu : recorded->gpu_indices) {
        const core::GpuState* state_gpu = state.node(node)->gpu(gpu);
        if (state_gpu != nullptr && !state_gpu->withinBudget()) {
          over.push_back({uid, request.pod_key, gpu, request.demand.describe(), !foreign});
        }
      }
    }
  });
  for (const auto& uid : fitting) overcommitted_.erase(uid);
  std::set<std::string> reported;
  for (const Overcommit& o : over) {
    if (overcommitted_.count(o.uid)) continue;  // reported when it first happened
    reported.insert(o.uid);
    platform::logWarn("GPU overcommitted",
                      {{"pod", o.pod},
                       {"node", node},
                       {"gpu", std::to_string(o.gpu)},
                       {"demand", o.demand},
                       {"counted_from", o.from_annotation ? "mpshare.io/gpu-index"
                                                          : "whole GPU (placed outside mpshare)"}});
    if (overcommit_) overcommit_(o.pod, node, o.gpu);
  }
  overcommitted_.insert(reported.begin(), reported.end());
}

}  // namespace mpshare::extender
