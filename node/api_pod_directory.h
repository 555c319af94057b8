#pragma once

// PodDirectory over the API server: a reflector keeps every pod with
// spec.nodeName=<this node> in memory (list + watch, one connection), so a
// container start costs a map lookup, not a GET. A pod the watch has not
// delivered yet (bound a moment ago) is fetched with one GET.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "node/pod_containers.h"
#include "node/pod_directory.h"
#include "platform/kube_client.h"
#include "platform/reflector.h"

namespace mpshare::node {

class ApiPodDirectory : public PodDirectory {
 public:
  // `client` must outlive the directory. Nothing runs until start().
  ApiPodDirectory(platform::KubeClient& client, std::string node_name,
                  platform::ReflectorOptions options = {});
  ~ApiPodDirectory() override;
  ApiPodDirectory(const ApiPodDirectory&) = delete;
  ApiPodDirectory& operator=(const ApiPodDirectory&) = delete;

  // Starts the reflector thread.
  void start();
  void stop();
  // True once the first list has arrived.
  [[nodiscard]] bool synced() const { return reflector_.synced(); }
  [[nodiscard]] size_t size() const;

  core::Result<core::PodView> pod(const std::string& namespace_name,
                                  const std::string& name) override;
  std::vector<core::PodView> podsOnNode() override;
  core::Status annotateGpuIndex(const core::PodView& pod, const std::string& value) override;

  // Every live pod of the node with its running containers' runtime IDs (for
  // tracing a GPU process's cgroup to its container).
  std::vector<NodePod> nodePods() const;

 private:
  class Sink : public platform::ReflectorSink {
   public:
    explicit Sink(ApiPodDirectory& owner) : owner_(owner) {}
    void replace(const std::vector<nlohmann::json>& items) override;
    void apply(const std::string& type, const nlohmann::json& object) override;

   private:
    ApiPodDirectory& owner_;
  };
  // Stores the pod (or drops it when it ended or left the node). `container_ids`
  // replaces the pod's known container IDs unless null (an update without status).
  void put(const core::PodView& pod, const std::map<std::string, std::string>* container_ids);

  platform::KubeClient& client_;
  std::string node_name_;
  Sink sink_{*this};
  platform::Reflector reflector_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, core::PodView> pods_;                                // by "namespace/name"
  std::map<std::string, std::map<std::string, std::string>> container_ids_;  // by "namespace/name"
};

}  // namespace mpshare::node
