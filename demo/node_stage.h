#pragma once

// The demo's third stage: mpshare-node on a fake 2-GPU node. Its device plugin
// serves on a unix socket; the demo plays the kubelet over gRPC (options,
// ListAndWatch, Allocate, PreStartContainer) for two pods the extender bound
// to that node, and shows which GPU each pod's slot spec hands its container.

#include <ostream>
#include <string>
#include <vector>

#include "demo/extender_stage.h"

namespace mpshare::demo {

struct NodeStageFiles {
  std::string node;         // "gpu-l4"
  std::string inventory;    // mpshare-node --inventory file of that node
  std::string nvidia_spec;  // NVIDIA's CDI spec of that node
};

// Returns the number of containers whose spec names their pod's GPU. Throws
// std::runtime_error when a file or a call fails.
int runNodeStage(const std::vector<BoundPod>& bound, const NodeStageFiles& files,
                 std::ostream& out);

}  // namespace mpshare::demo
