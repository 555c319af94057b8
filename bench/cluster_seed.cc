#include "bench/cluster_seed.h"

#include <cstdio>

#include "testing/apiserver/fixtures.h"

namespace mpshare::bench {

std::string nodeName(int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "gpu-%04d", i);
  return name;
}

nlohmann::json placedPod(const std::string& name, const std::string& node, int gpu_index) {
  // 10 % of the threads and 4 GiB: ten such pods fill an 80 GB GPU's client slots.
  return kubetest::makePod({.name = name,
                            .node = node,
                            .phase = "Running",
                            .annotations = {{"mpshare.io/thread-percentage", "10"},
                                            {"mpshare.io/memory-limit", "4Gi"},
                                            {"mpshare.io/gpu-index", std::to_string(gpu_index)}}});
}

void seedCluster(kubetest::FakeStore& store, const ClusterShape& shape) {
  for (int n = 0; n < shape.nodes; ++n) {
    store.create(kubetest::Kind::kNodes, kubetest::makeNode(nodeName(n), shape.gpus_per_node));
  }
  for (int p = 0; p < shape.pods; ++p) {
    char name[32];
    std::snprintf(name, sizeof(name), "w-%05d", p);
    const int node = p % shape.nodes;
    const int gpu = (p / shape.nodes) % shape.gpus_per_node;
    store.create(kubetest::Kind::kPods, placedPod(name, nodeName(node), gpu));
  }
}

}  // namespace mpshare::bench
