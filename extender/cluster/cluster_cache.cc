#include "extender/cluster/cluster_cache.h"

#include "core/annotations.h"
#include "core/demand.h"
#include "extender/cluster/api_seams.h"
#include "platform/kube_json.h"
#include "platform/logging.h"

namespace mpshare::extender {

ClusterCache::ClusterCache(const ExtenderConfig& config, InventorySink& sink, core::Ledger& ledger,
                           OvercommitReporter overcommit)
    : config_(config), sink_(sink), ledger_(ledger), overcommit_(std::move(overcommit)) {}

size_t ClusterCache::nodeCount() const {
  std::lock_guard lock(mutex_);
  return node_names_.size();
}

size_t ClusterCache::podCount() const {
  std::lock_guard lock(mutex_);
  return placed_.size();
}

void ClusterCache::NodeSink::replace(const std::vector<nlohmann::json>& items) {
  std::lock_guard lock(cache_.mutex_);
  std::set<std::string> listed;
  for (const auto& item : items) {
    listed.insert(item["metadata"].value("name", ""));
    cache_.upsertNodeLocked(item);
  }
  const std::set<std::string> known = cache_.node_names_;
  for (const auto& name : known) {
    if (!listed.count(name)) cache_.removeNodeLocked(name);
  }
}

void ClusterCache::NodeSink::apply(const std::string& type, const nlohmann::json& object) {
  std::lock_guard lock(cache_.mutex_);
  if (type == "DELETED") {
    cache_.removeNodeLocked(object["metadata"].value("name", ""));
  } else {
    cache_.upsertNodeLocked(object);
  }
}

void ClusterCache::PodSink::replace(const std::vector<nlohmann::json>& items) {
  std::lock_guard lock(cache_.mutex_);
  std::set<std::string> listed;
  for (const auto& item : items) {
    listed.insert(item["metadata"].value("uid", ""));
    cache_.upsertPodLocked("MODIFIED", item);
  }
  std::vector<std::string> gone;
  for (const auto& [uid, pod] : cache_.placed_) {
    if (!listed.count(uid)) gone.push_back(uid);
  }
  for (const auto& uid : gone) cache_.removePodLocked(uid);
}

void ClusterCache::PodSink::apply(const std::string& type, const nlohmann::json& object) {
  std::lock_guard lock(cache_.mutex_);
  cache_.upsertPodLocked(type, object);
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
  // its labels) count again.
  for (const auto& [uid, pod] : placed_) {
    if (pod.node_name == node->name) recordLocked(pod);
  }
}

void ClusterCache::removeNodeLocked(const std::string& name) {
  node_names_.erase(name);
  sink_.removeNode(name);
}

void ClusterCache::upsertPodLocked(const std::string& type, const nlohmann::json& object) {
  auto pod = platform::podFromJson(object);
  if (!pod) {
    platform::logWarn("ignoring malformed pod", {{"error", pod.error().describe()}});
    return;
  }
  const bool ended = type == "DELETED" || pod->phase == core::PodPhase::kSucceeded ||
                     pod->phase == core::PodPhase::kFailed;
  if (ended) {
    removePodLocked(pod->uid);
    return;
  }
  // Not placed yet: a bind may be in flight with its reservation taken; leave it.
  if (pod->node_name.empty()) return;
  auto demand = core::demandOf(*pod, config_.demand);
  if (demand.ok() && !demand->has_value()) return;  // asks for no GPU
  placed_[pod->uid] = *pod;
  recordLocked(*pod);
}

void ClusterCache::removePodLocked(const std::string& uid) {
  placed_.erase(uid);
  overcommitted_.erase(uid);
  ledger_.release(uid);
}

void ClusterCache::recordLocked(const core::PodView& pod) {
  auto demand = core::demandOf(pod, config_.demand);
  const auto annotation = pod.annotations.find(std::string(core::kGpuIndexAnnotation));
  std::optional<std::vector<int>> indices;
  if (annotation != pod.annotations.end()) indices = parseGpuIndices(annotation->second);
  core::Demand counted;
  if (demand.ok() && demand->has_value() && indices && static_cast<int>(indices->size()) == (*demand)->gpus) {
    counted = **demand;
  } else {
    // Placed by something else (or unreadable): assume it holds whole GPUs,
    // the first ones on the node, so the budget errs on the safe side.
    counted.gpus = demand.ok() && demand->has_value() ? (*demand)->gpus : 1;
    indices = std::vector<int>();
    for (int i = 0; i < counted.gpus; ++i) indices->push_back(i);
  }
  auto recorded = ledger_.record(core::ReserveRequest{pod.uid, pod.key(), pod.node_name, *indices, counted});
  if (!recorded) return;  // node not managed (or not seen yet)
  if (recorded->overcommitted && !overcommitted_.count(pod.uid)) {
    overcommitted_.insert(pod.uid);
    for (const int gpu : recorded->gpu_indices) {
      platform::logWarn("GPU overcommitted by a pod placed outside mpshare",
                        {{"pod", pod.key()}, {"node", pod.node_name}, {"gpu", std::to_string(gpu)},
                         {"demand", counted.describe()}});
      if (overcommit_) overcommit_(pod.key(), pod.node_name, gpu);
    }
  } else if (!recorded->overcommitted) {
    overcommitted_.erase(pod.uid);
  }
}

}  // namespace mpshare::extender
