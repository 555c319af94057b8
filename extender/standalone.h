#pragma once

// Standalone-mode seams: no API server. Pods are remembered from filter and
// prioritize, binds are kept in memory, nodes come from a NodeList file and
// from Nodes-form requests, up to a bound.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "extender/seams.h"
#include "extender/service.h"
#include "platform/metrics.h"

namespace mpshare::extender {

// Remembers the most recent `capacity` pods by UID and by namespace/name;
// the oldest are forgotten first so memory stays bounded.
class MemoryPodLookup : public PodLookup {
 public:
  explicit MemoryPodLookup(size_t capacity = 50000) : capacity_(capacity) {}
  void remember(const core::PodView& pod) override;
  [[nodiscard]] std::optional<core::PodView> find(const std::string& uid,
                                                  const std::string& namespace_name,
                                                  const std::string& name) const override;
  void forget(const std::string& uid) override;

 private:
  void forgetLocked(const std::string& uid);

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::map<std::string, core::PodView> by_uid_;
  std::map<std::string, std::string> uid_by_key_;
  std::deque<std::string> order_;  // UIDs, oldest first (may hold forgotten ones)
};

// Keeps every bind in memory: pod key -> "node/GPU indices".
class MemoryBinder : public Binder {
 public:
  core::Status bind(const BindRequest& request) override;
  [[nodiscard]] std::map<std::string, BindRequest> bound() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, BindRequest> bound_;  // by pod key; .pod is cleared
};

// The service of a standalone extender, which learns the nodes of Nodes-form
// requests into its inventory: at most config.max_learned_nodes of them, so a
// stream of requests naming new nodes cannot grow memory and /metrics without
// bound (2,000 filters of 20 new nodes each once took 1.92 GB). Past the
// bound a new node is not learned: filter fails it as unknown, the refusal is
// logged (the first, then every 10,000th) and counted in
// mpshare_extender_learned_nodes_refused_total. Known nodes still update; a
// learned node that stops being managed frees its place. Nodes fed before
// startLearning() (the --nodes file) do not count.
class StandaloneService : public ExtenderService {
 public:
  // `pods`, `binder` and `registry` must outlive the service; `metrics` may be null.
  StandaloneService(ExtenderConfig config, PodLookup& pods, Binder& binder,
                    ExtenderMetrics* metrics, platform::MetricsRegistry& registry);

  void upsertNode(const core::NodeView& node) override;
  void removeNode(const std::string& name) override;

  // Every node upserted from now on, not seen before, counts as learned.
  void startLearning();
  [[nodiscard]] size_t learnedNodes() const;
  [[nodiscard]] uint64_t refusedNodes() const;

 private:
  // Whether `name` may enter the inventory; records it as learned if so.
  bool admit(const std::string& name);

  platform::Counter& refused_counter_;
  mutable std::mutex mutex_;
  bool learning_ = false;
  std::set<std::string> inventory_;  // fed before startLearning()
  std::set<std::string> learned_;    // from requests, at most max_learned_nodes
  uint64_t refused_ = 0;
};

// Ready once set; standalone sets it after the inventory is loaded.
class ReadyFlag : public Readiness {
 public:
  void set(bool ready) { ready_.store(ready); }
  [[nodiscard]] bool ready() const override { return ready_.load(); }
  [[nodiscard]] std::string reason() const override {
    return ready() ? "" : "inventory not loaded";
  }

 private:
  std::atomic<bool> ready_{false};
};

}  // namespace mpshare::extender
