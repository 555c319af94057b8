#pragma once

// PodDirectory kept in memory: the demo's node stage (no API server) and tests.
// annotateGpuIndex writes into the stored pod, as the API server would.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/annotations.h"
#include "node/pod_directory.h"

namespace mpshare::node {

class MemoryPodDirectory : public PodDirectory {
 public:
  void put(const core::PodView& pod) {
    std::lock_guard lock(mutex_);
    pods_[pod.key()] = pod;
  }
  void remove(const std::string& key) {
    std::lock_guard lock(mutex_);
    pods_.erase(key);
  }
  // Every annotateGpuIndex call, as "namespace/name=value".
  [[nodiscard]] std::vector<std::string> annotations() const {
    std::lock_guard lock(mutex_);
    return annotated_;
  }

  core::Result<core::PodView> pod(const std::string& namespace_name,
                                  const std::string& name) override {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(namespace_name + "/" + name);
    if (it == pods_.end())
      return core::Error{core::ErrorCode::kNotFound, namespace_name + "/" + name, "pod not found"};
    return it->second;
  }

  std::vector<core::PodView> podsOnNode() override {
    std::lock_guard lock(mutex_);
    std::vector<core::PodView> pods;
    for (const auto& [key, pod] : pods_) pods.push_back(pod);
    return pods;
  }

  core::Status annotateGpuIndex(const core::PodView& pod, const std::string& value) override {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(pod.key());
    if (it == pods_.end() || it->second.uid != pod.uid) {
      return core::Error{core::ErrorCode::kConflict, pod.key(), "pod was replaced"};
    }
    it->second.annotations[std::string(core::kGpuIndexAnnotation)] = value;
    annotated_.push_back(pod.key() + "=" + value);
    return {};
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, core::PodView> pods_;
  std::vector<std::string> annotated_;
};

}  // namespace mpshare::node
