#include "testing/apiserver/fixtures.h"

#include <fstream>
#include <stdexcept>

namespace mpshare::kubetest {

nlohmann::json loadFixture(const std::string& file) {
  const std::string path = std::string(MPSHARE_SOURCE_DIR) + "/tests/fixtures/kube/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing fixture " + path);
  return nlohmann::json::parse(in);
}

nlohmann::json makePod(const PodSpec& spec) {
  static const nlohmann::json kTemplate = loadFixture("pod.json");
  nlohmann::json pod = kTemplate;
  auto& meta = pod["metadata"];
  meta.erase("uid");
  meta.erase("resourceVersion");
  meta["name"] = spec.name;
  meta["namespace"] = spec.namespace_name;
  meta["annotations"] = spec.annotations;
  if (!spec.node.empty()) pod["spec"]["nodeName"] = spec.node;
  pod["status"]["phase"] = spec.phase;
  auto& resources = pod["spec"]["containers"][0]["resources"];
  if (spec.gpus == 0) {
    resources["limits"].erase("nvidia.com/gpu");
    resources["requests"].erase("nvidia.com/gpu");
  } else {
    resources["limits"]["nvidia.com/gpu"] = std::to_string(spec.gpus);
    resources["requests"]["nvidia.com/gpu"] = std::to_string(spec.gpus);
  }
  return pod;
}

nlohmann::json makeNode(const std::string& name, int gpus, int memory_mib, int replicas) {
  static const nlohmann::json kTemplate = loadFixture("node.json");
  nlohmann::json node = kTemplate;
  node["metadata"].erase("uid");
  node["metadata"].erase("resourceVersion");
  node["metadata"]["name"] = name;
  auto& labels = node["metadata"]["labels"];
  labels["kubernetes.io/hostname"] = name;
  labels["nvidia.com/gpu.count"] = std::to_string(gpus);
  labels["nvidia.com/gpu.memory"] = std::to_string(memory_mib);
  labels["nvidia.com/gpu.replicas"] = std::to_string(replicas);
  return node;
}

}  // namespace mpshare::kubetest
