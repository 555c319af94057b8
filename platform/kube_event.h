#pragma once

// A core/v1 Event about a pod, the kind `kubectl describe pod` lists under
// Events. Built here as plain JSON so its shape is testable without a server;
// KubeClient::createEvent() posts it.

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace mpshare::platform {

struct PodEvent {
  std::string namespace_name;
  std::string pod_name;
  std::string pod_uid;
  std::string type = "Warning";  // Normal or Warning, the two types Kubernetes knows
  std::string reason;            // UpperCamelCase, e.g. "MpsDoubleCapped"
  std::string message;           // cut to 1024 bytes, the API server's limit
  std::string component;         // source.component and reportingComponent, e.g. "mpshare-node"
  std::string host;              // source.host and reportingInstance: the node
};

// The v1.Event: metadata.generateName "<pod>.", involvedObject naming the pod
// by uid, firstTimestamp = lastTimestamp = `now` (RFC 3339, seconds), count 1.
nlohmann::json podEventJson(const PodEvent& event, std::chrono::system_clock::time_point now);

}  // namespace mpshare::platform
