#pragma once

// A synthetic cluster for the cluster-mode benchmark and the stand-alone test
// API server: `nodes` managed nodes with `gpus_per_node` GPUs each and `pods`
// running pods spread round-robin over them, each bound the way mpshare binds
// (thread and memory limits plus mpshare.io/gpu-index), so every pod is
// counted from its annotation and nothing is over budget.

#include <string>

#include "testing/apiserver/fake_store.h"

namespace mpshare::bench {

struct ClusterShape {
  int nodes = 1000;
  int pods = 10000;
  int gpus_per_node = 8;
};

// Node "gpu-0000".."gpu-0999"; pod "w-00000".. in namespace "ml".
void seedCluster(kubetest::FakeStore& store, const ClusterShape& shape);

// The name of node `i` and a running pod placed on it with mpshare's annotations.
std::string nodeName(int i);
nlohmann::json placedPod(const std::string& name, const std::string& node, int gpu_index);

}  // namespace mpshare::bench
