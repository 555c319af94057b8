#pragma once

// Cluster-mode caches: the managed nodes and the live GPU pods placed on nodes,
// kept current by two reflectors and folded into the extender's ledger.
//
//  - node ADDED/MODIFIED -> inventory upsert; node DELETED or unlabelled -> drop
//    (the ledger releases what was on it);
//  - a placed, live GPU pod -> recorded in the ledger from mpshare.io/gpu-index,
//    or as a whole-GPU user of GPUs 0..n-1 when it has no usable index (placed
//    by something else); an overcommit is logged and counted, never refused;
//  - a pod that ends (Succeeded, Failed, deleted) -> its reservation is released.
// Pods seen before their node are kept and recorded when the node arrives, so
// the ledger after a (re)list does not depend on which list finished first.

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "core/ledger.h"
#include "core/pod.h"
#include "extender/config.h"
#include "extender/seams.h"
#include "platform/reflector.h"

namespace mpshare::extender {

// Called when a recorded pod pushes a GPU over budget: pod key, node, GPU ordinal.
using OvercommitReporter = std::function<void(const std::string& pod, const std::string& node, int gpu)>;

class ClusterCache {
 public:
  // `sink` receives node upserts/removals (the extender service); `ledger` is the
  // service's ledger. Both must outlive the cache.
  ClusterCache(const ExtenderConfig& config, InventorySink& sink, core::Ledger& ledger,
               OvercommitReporter overcommit);

  platform::ReflectorSink& nodeSink() { return nodes_; }
  platform::ReflectorSink& podSink() { return pods_; }

  [[nodiscard]] size_t nodeCount() const;
  [[nodiscard]] size_t podCount() const;

 private:
  class NodeSink : public platform::ReflectorSink {
   public:
    explicit NodeSink(ClusterCache& cache) : cache_(cache) {}
    void replace(const std::vector<nlohmann::json>& items) override;
    void apply(const std::string& type, const nlohmann::json& object) override;

   private:
    ClusterCache& cache_;
  };
  class PodSink : public platform::ReflectorSink {
   public:
    explicit PodSink(ClusterCache& cache) : cache_(cache) {}
    void replace(const std::vector<nlohmann::json>& items) override;
    void apply(const std::string& type, const nlohmann::json& object) override;

   private:
    ClusterCache& cache_;
  };

  // Both under mutex_.
  void upsertNodeLocked(const nlohmann::json& object);
  void removeNodeLocked(const std::string& name);
  void upsertPodLocked(const std::string& type, const nlohmann::json& object);
  void removePodLocked(const std::string& uid);
  void recordLocked(const core::PodView& pod);

  const ExtenderConfig& config_;
  InventorySink& sink_;
  core::Ledger& ledger_;
  OvercommitReporter overcommit_;
  NodeSink nodes_{*this};
  PodSink pods_{*this};

  mutable std::mutex mutex_;
  std::set<std::string> node_names_;                  // every node the node watch reported
  std::map<std::string, core::PodView> placed_;       // UID -> live, placed GPU pod
  std::set<std::string> overcommitted_;               // UIDs already reported
};

}  // namespace mpshare::extender
