#pragma once

// Builders for pods and nodes from the recorded API-server payloads in
// tests/fixtures/kube/, so tests vary only what they are about.

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace mpshare::kubetest {

// tests/fixtures/kube/<file> parsed; throws when missing.
nlohmann::json loadFixture(const std::string& file);

struct PodSpec {
  std::string name{};
  std::string namespace_name = "ml";
  std::string node{};  // spec.nodeName; empty = pending
  std::string phase = "Pending";
  std::map<std::string, std::string> annotations{};  // replaces the fixture's
  int gpus = 1;                                      // nvidia.com/gpu limit; 0 = not a GPU pod
};

// A pod like the API server returns it, without uid/resourceVersion (the store adds them).
nlohmann::json makePod(const PodSpec& spec);

// A managed node with `gpus` GPUs of `memory_mib` and `replicas` clients each.
nlohmann::json makeNode(const std::string& name, int gpus = 2, int memory_mib = 81559,
                        int replicas = 10);

}  // namespace mpshare::kubetest
