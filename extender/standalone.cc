#include "extender/standalone.h"

#include <utility>

#include "platform/logging.h"

namespace mpshare::extender {

StandaloneService::StandaloneService(ExtenderConfig config, PodLookup& pods, Binder& binder,
                                     ExtenderMetrics* metrics, platform::MetricsRegistry& registry)
    : ExtenderService(std::move(config), pods, binder, metrics),
      refused_counter_(registry.counter(
          "mpshare_extender_learned_nodes_refused_total",
          "Nodes of Nodes-form requests not learned: the standalone extender already "
          "knew extender.maxLearnedNodes from requests.")) {}

void StandaloneService::upsertNode(const core::NodeView& node) {
  // An unmanaged node is only ever removed, so it needs no place.
  if (core::isManagedNode(node, config().inventory) && !admit(node.name)) return;
  ExtenderService::upsertNode(node);
}

bool StandaloneService::admit(const std::string& name) {
  uint64_t refused = 0;
  {
    std::lock_guard lock(mutex_);
    if (!learning_) {
      inventory_.insert(name);
      return true;
    }
    if (inventory_.contains(name) || learned_.contains(name)) return true;
    if (learned_.size() < config().max_learned_nodes) {
      learned_.insert(name);
      return true;
    }
    refused = ++refused_;
  }
  refused_counter_.inc({});
  if (refused == 1 || refused % 10'000 == 0) {
    platform::logWarn(
        "not learning a node from a request: the limit of nodes learned from "
        "requests is reached (raise extender.maxLearnedNodes, or list the nodes "
        "in --nodes)",
        {{"node", name},
         {"limit", std::to_string(config().max_learned_nodes)},
         {"refused", std::to_string(refused)}});
  }
  return false;
}

void StandaloneService::removeNode(const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    learned_.erase(name);
  }
  ExtenderService::removeNode(name);
}

void StandaloneService::startLearning() {
  std::lock_guard lock(mutex_);
  learning_ = true;
}

size_t StandaloneService::learnedNodes() const {
  std::lock_guard lock(mutex_);
  return learned_.size();
}

uint64_t StandaloneService::refusedNodes() const {
  std::lock_guard lock(mutex_);
  return refused_;
}

void MemoryPodLookup::remember(const core::PodView& pod) {
  if (pod.uid.empty() && pod.name.empty()) {
    return;
  }
  // Pods without a UID (hand-written requests) are kept under their key.
  const std::string uid = pod.uid.empty() ? "key:" + pod.key() : pod.uid;
  std::lock_guard lock(mutex_);
  const bool known = by_uid_.contains(uid);
  by_uid_[uid] = pod;
  uid_by_key_[pod.key()] = uid;
  if (!known) {
    order_.push_back(uid);
  }
  // Forgotten UIDs stay in order_ until compacted, so it cannot outgrow the map for long.
  if (order_.size() > 2 * capacity_ + 16) {
    std::erase_if(order_, [&](const std::string& id) { return !by_uid_.contains(id); });
  }
  while (by_uid_.size() > capacity_ && !order_.empty()) {
    const std::string oldest = order_.front();
    order_.pop_front();
    forgetLocked(oldest);
  }
}

std::optional<core::PodView> MemoryPodLookup::find(const std::string& uid,
                                                   const std::string& namespace_name,
                                                   const std::string& name) const {
  std::lock_guard lock(mutex_);
  if (!uid.empty()) {
    if (const auto it = by_uid_.find(uid); it != by_uid_.end()) {
      return it->second;
    }
  }
  const auto key = uid_by_key_.find(namespace_name + "/" + name);
  if (key == uid_by_key_.end()) {
    return std::nullopt;
  }
  const auto it = by_uid_.find(key->second);
  if (it == by_uid_.end() || (!uid.empty() && !it->second.uid.empty() && it->second.uid != uid)) {
    return std::nullopt;  // a different pod with the same name
  }
  return it->second;
}

void MemoryPodLookup::forget(const std::string& uid) {
  std::lock_guard lock(mutex_);
  forgetLocked(uid);
}

void MemoryPodLookup::forgetLocked(const std::string& uid) {
  const auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) {
    return;
  }
  const auto key = uid_by_key_.find(it->second.key());
  if (key != uid_by_key_.end() && key->second == uid) {
    uid_by_key_.erase(key);
  }
  by_uid_.erase(it);
}

core::Status MemoryBinder::bind(const BindRequest& request) {
  std::lock_guard lock(mutex_);
  BindRequest kept = request;
  kept.pod = nullptr;
  bound_[request.pod->key()] = std::move(kept);
  return {};
}

std::map<std::string, BindRequest> MemoryBinder::bound() const {
  std::lock_guard lock(mutex_);
  return bound_;
}

}  // namespace mpshare::extender
