#pragma once

// What late binding needs to know about the pods on this node, behind a seam:
// the agent reads them from a node-scoped cache of the API server
// (node/api_pod_directory.h); the demo and tests use an in-memory one.

#include <string>
#include <vector>

#include "core/pod.h"
#include "core/result.h"

namespace mpshare::node {

class PodDirectory {
 public:
  virtual ~PodDirectory() = default;

  // The pod named, as the API server last reported it. kNotFound when it is
  // gone; kUnavailable when it cannot be known right now.
  virtual core::Result<core::PodView> pod(const std::string& namespace_name,
                                          const std::string& name) = 0;

  // Every live pod bound to this node (for choosing a GPU for a pod that
  // arrived without mpshare.io/gpu-index).
  virtual std::vector<core::PodView> podsOnNode() = 0;

  // Writes mpshare.io/gpu-index = `value` on `pod` (uid as precondition), so
  // the extender's ledger counts it where this node put it.
  virtual core::Status annotateGpuIndex(const core::PodView& pod, const std::string& value) = 0;
};

}  // namespace mpshare::node
