#pragma once

// Standalone-mode seams: no API server. Pods are remembered from filter and
// prioritize, binds are kept in memory, nodes come from a NodeList file.

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "extender/seams.h"

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

// Ready once set; standalone sets it after the inventory is loaded.
class ReadyFlag : public Readiness {
 public:
  void set(bool ready) { ready_.store(ready); }
  [[nodiscard]] bool ready() const override { return ready_.load(); }
  [[nodiscard]] std::string reason() const override { return ready() ? "" : "inventory not loaded"; }

 private:
  std::atomic<bool> ready_{false};
};

}  // namespace mpshare::extender
