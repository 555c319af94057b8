#pragma once

// The seam between the kubelet-facing device plugin (node/device_plugin_server.h)
// and the rest of the agent: which slots exist and are healthy, and what to do
// before a container holding some of them starts. The gRPC server knows nothing
// of GPUs, pods or CDI; tests drive it with a fake backend.

#include <string>
#include <vector>

#include "core/result.h"

namespace mpshare::node {

struct SlotHealth {
  std::string id;  // "slot-003"
  bool healthy = true;

  bool operator==(const SlotHealth&) const = default;
};

class SlotBackend {
 public:
  virtual ~SlotBackend() = default;

  // Every slot the node advertises, in slot order, with its health now.
  // Called for each ListAndWatch message; must be cheap and thread-safe.
  [[nodiscard]] virtual std::vector<SlotHealth> slots() const = 0;

  // PreStartContainer for one container's device IDs (already validated as
  // slots of this node). OK when the container may start; an error's describe()
  // becomes the gRPC status message the kubelet shows on the pod.
  // Called concurrently for different containers; the kubelet's deadline is 30 s.
  virtual core::Status preStart(const std::vector<std::string>& device_ids) = 0;
};

}  // namespace mpshare::node
