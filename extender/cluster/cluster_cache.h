#pragma once

// Cluster-mode caches: the managed nodes and the live GPU pods placed on nodes,
// kept current by two reflectors and folded into the extender's ledger.
//
//  - node ADDED/MODIFIED -> inventory upsert; node DELETED or unlabelled -> drop
//    (the ledger releases what was on it);
//  - a placed, live GPU pod -> recorded in the ledger from mpshare.io/gpu-index,
//    or as a whole-GPU user of GPUs 0..n-1 when it has no usable index (placed
//    by something else); an overcommit is logged and counted, never refused;
//  - a pod that ends (Succeeded, Failed, deleted) -> its reservation is released;
//  - a reservation bind took for a pod a relist lacks -> released if taken
//    before the list began, else once a bookmark comes before the pod does;
//  - a reservation held unsettled (its bind's outcome unknown, core/ledger.h)
//    -> recorded as placed when the watch or a list shows the pod placed,
//    released when the pod ends, or when a list that began after it was
//    marked shows the pod still unbound.
//  - a GPU pod of the extender's scheduler waiting for a node -> reported to the
//    pending-pod sink (extender/seams.h) for the plan of the queue; reported no
//    longer pending once bound, ended, deleted, being deleted or changed so it
//    no longer qualifies; a full list keeps only the pending pods it holds.
//
// The ledger must not depend on the order events arrive in: a relist after a
// fault, a restart and an uninterrupted watch all have to end in the same
// state, overcommit flags included. So every change to a node's pods re-records
// all placed pods of that node in one canonical order: pods with a usable
// gpu-index first (the placements mpshare made), oldest first, then the pods
// placed by something else, oldest first. Whoever comes last in that order is
// the one that pushed a GPU over budget and is flagged and reported.
// Pods seen before their node are kept and recorded when the node arrives.

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/ledger.h"
#include "extender/config.h"
#include "extender/seams.h"
#include "platform/metrics.h"
#include "platform/reflector.h"

namespace mpshare::extender {

// Called when a recorded pod pushes a GPU over budget: pod key, node, GPU ordinal.
using OvercommitReporter =
    std::function<void(const std::string& pod, const std::string& node, int gpu)>;
// Called for each placed GPU pod when it is first cached (UID, demand): the
// ledger's pods count towards the typical-pod distribution.
using PlacedPodObserver = std::function<void(const std::string& uid, const core::Demand& demand)>;

class ClusterCache {
 public:
  // `sink` receives node upserts/removals (the extender service); `ledger` is the
  // service's ledger. Both must outlive the cache.
  // `objects`, when given, is kept at the cache's size:
  // {resource="nodes"} = nodes reported, {resource="pods"} = placed GPU pods.
  // `pending`, when given, hears of the GPU pods with spec.schedulerName
  // config.plan.scheduler_name that wait for a node; it is called on the thread
  // that feeds podSink() (the pod reflector's), never under the cache's lock,
  // and must outlive the cache.
  ClusterCache(const ExtenderConfig& config, InventorySink& sink, core::Ledger& ledger,
               OvercommitReporter overcommit, platform::Gauge* objects = nullptr,
               PlacedPodObserver observe = nullptr, PendingPodSink* pending = nullptr);

  platform::ReflectorSink& nodeSink() { return nodes_; }
  platform::ReflectorSink& podSink() { return pods_; }

  [[nodiscard]] size_t podCount() const;

 private:
  // Both take a list page by page: what a relist is building lives here
  // (reflector thread only), the cache itself under the cache's mutex.
  class NodeSink : public platform::ReflectorSink {
   public:
    explicit NodeSink(ClusterCache& cache) : cache_(cache) {}
    void beginList() override { listed_.clear(); }
    void listPage(std::vector<nlohmann::json>& items) override { addPage(items); }
    void endList() override;
    void replace(const std::vector<nlohmann::json>& items) override;
    void apply(const std::string& type, const nlohmann::json& object) override;

   private:
    void addPage(const std::vector<nlohmann::json>& items);
    ClusterCache& cache_;
    std::set<std::string> listed_;  // names
  };
  // What a pod event means for the pending-pod sink: `pod` set = pending as
  // that, nullopt = no longer pending. Worked out under the cache's lock and
  // delivered, in order, after it is released.
  struct PendingChange {
    std::string uid;
    std::optional<core::PendingPod> pod;
  };
  using PendingChanges = std::vector<PendingChange>;

  class PodSink : public platform::ReflectorSink {
   public:
    explicit PodSink(ClusterCache& cache) : cache_(cache) {}
    void beginList() override;
    void listPage(std::vector<nlohmann::json>& items) override { addPage(items); }
    void endList() override;
    void replace(const std::vector<nlohmann::json>& items) override;
    void apply(const std::string& type, const nlohmann::json& object) override;
    void bookmark() override;

   private:
    void addPage(const std::vector<nlohmann::json>& items);
    ClusterCache& cache_;
    std::set<std::string> listed_;   // UIDs
    std::set<std::string> touched_;  // nodes to rebuild once the list is complete
    std::set<std::string> held_;     // UIDs holding a reservation when the list began
    // Of those, the ones unsettled then: UID -> stamp (core::Reservation::unsettled).
    std::map<std::string, uint64_t> unsettled_;
    // Reservations taken while the last list was read, of pods it did not
    // have and the watch has not shown since: live, or gone before the list.
    std::set<std::string> unconfirmed_;
    std::set<std::string> listed_pending_;  // UIDs of the pending pods the list holds
  };

  // What the ledger needs of a placed pod, worked out once when the pod changes
  // (a PodView with every container is several times larger).
  struct PlacedPod {
    core::ReserveRequest request;
    bool from_annotation = false;  // counted from a usable mpshare.io/gpu-index
    std::string created;           // metadata.creationTimestamp (RFC 3339 sorts as text)
  };

  // All under mutex_. The *Pod functions return the node whose pods changed ("" if none).
  void upsertNodeLocked(const nlohmann::json& object);
  void removeNodeLocked(const std::string& name);
  // Also notes in `changes` what the event means for the pending-pod sink.
  std::string upsertPodLocked(const std::string& type, const nlohmann::json& object,
                              PendingChanges& changes);
  std::string removePodLocked(const std::string& uid);
  // Re-records every placed pod of `node` in canonical order and reports new overcommits.
  void rebuildNodeLocked(const std::string& node);
  PlacedPod placedPodOf(const core::PodView& pod) const;
  void publishSizesLocked();
  // Notes that `uid` is now `pod` (pending) or not pending; a pod never
  // reported pending is not reported as no longer pending.
  void notePendingLocked(const std::string& uid, std::optional<core::PendingPod> pod,
                         PendingChanges& changes);
  // Outside the lock, on the pod reflector's thread.
  void deliverPending(PendingChanges& changes);

  const ExtenderConfig& config_;
  InventorySink& sink_;
  core::Ledger& ledger_;
  OvercommitReporter overcommit_;
  platform::Gauge* objects_;
  PlacedPodObserver observe_;
  PendingPodSink* pending_;
  NodeSink nodes_{*this};
  PodSink pods_{*this};

  mutable std::mutex mutex_;
  std::set<std::string> node_names_;                           // every node the node watch reported
  std::map<std::string, PlacedPod> placed_;                    // UID -> live, placed GPU pod
  std::map<std::string, std::set<std::string>> pods_on_node_;  // node -> UIDs in placed_
  std::set<std::string>
      overcommitted_;  // UIDs reported over budget; reported again only after fitting
  std::set<std::string> pending_uids_;  // UIDs the pending-pod sink holds as pending
};

}  // namespace mpshare::extender
