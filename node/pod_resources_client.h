#pragma once

// The kubelet's PodResources API (v1, docs: gpu-pinning.md section 3): which
// pod and container hold a set of device IDs. At PreStartContainer time the
// allocation is already recorded, so List maps the request's slots to exactly
// one container, which the device plugin cannot learn any other way.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"

namespace mpshare::node {

// One container's devices of one resource, as List reported them.
struct ContainerDevices {
  std::string namespace_name;
  std::string pod_name;
  std::string container_name;
  std::string resource_name;
  std::vector<std::string> device_ids;

  bool operator==(const ContainerDevices&) const = default;
};

struct ContainerRef {
  std::string namespace_name;
  std::string pod_name;
  std::string container_name;

  bool operator==(const ContainerRef&) const = default;
};

class PodResourcesClient {
 public:
  // `socket_path`: "/var/lib/kubelet/pod-resources/kubelet.sock". Nothing is
  // dialled until the first list().
  explicit PodResourcesClient(std::string socket_path,
                              std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~PodResourcesClient();

  PodResourcesClient(const PodResourcesClient&) = delete;
  PodResourcesClient& operator=(const PodResourcesClient&) = delete;

  // Every container's devices, one entry per container and resource that has
  // devices. Thread-safe. A kubelet restart replaces the socket (a new inode):
  // after an UNAVAILABLE answer the channel is rebuilt and the call tried once
  // more. Errors are kUnavailable and name the socket:
  // "/var/lib/kubelet/pod-resources/kubelet.sock: List failed (UNAVAILABLE: ...)".
  core::Result<std::vector<ContainerDevices>> list();

  [[nodiscard]] const std::string& socketPath() const { return socket_path_; }

 private:
  struct Connection;
  std::shared_ptr<Connection> connection();
  void dropConnection(const std::shared_ptr<Connection>& failed);

  const std::string socket_path_;
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::shared_ptr<Connection> connection_;
};

// The one container whose devices of `resource_name` include every one of
// `device_ids`. Several containers of one pod may match (the kubelet hands an
// init container's devices on to a later container of the same pod); the pod
// is what matters, so the first listed is returned. Errors:
//   kNotFound: "no container holds slot-003, slot-004"
//   kConflict: containers of two pods claim the same IDs (a kubelet bug).
// Example: {ns/p/c: nvidia.com/gpu.shared [slot-003]}, "nvidia.com/gpu.shared",
// {"slot-003"} -> {ns, p, c}.
core::Result<ContainerRef> findContainerHolding(const std::vector<ContainerDevices>& containers,
                                                const std::string& resource_name,
                                                const std::vector<std::string>& device_ids);

}  // namespace mpshare::node
