#pragma once

// mpshare-node's command line, parsed into plain options. Both `--flag value`
// and `--flag=value`; an unknown flag, a missing value or a bad number is an
// error naming the flag and what it takes (the binary exits 2 with it).

#include <string>
#include <vector>

#include "core/result.h"

namespace mpshare::node {

struct ServeOptions {
  std::string node_name;   // required: the Node this agent runs on
  std::string kubeconfig;  // empty: $KUBECONFIG, then the in-cluster service account
  std::string device_plugin_dir = "/var/lib/kubelet/device-plugins";
  std::string pod_resources_socket = "/var/lib/kubelet/pod-resources/kubelet.sock";
  std::string cdi_dir = "/var/run/cdi";
  std::string nvidia_cdi_spec = "/var/run/cdi/nvidia.yaml";
  std::string mps_root = "/run/mpshare/mps";
  std::string inventory_file;  // empty: NVML
  std::string resource_name = "nvidia.com/gpu.shared";
  int clients_per_gpu = 48;  // 1..48, MPS's client limit per device
  std::string metrics_listen = "0.0.0.0:9400";
  std::string mps_control = "nvidia-cuda-mps-control";  // found on PATH
  int reconcile_seconds = 30;
  // Per-pod GPU usage (docs/usage.md): sampled every usage_seconds and on each
  // scrape; 0 turns it off.
  int usage_seconds = 15;
  std::string processes_file;       // empty: NVML; else GPU processes from this file
  std::string proc_root = "/proc";  // where each GPU process's cgroup is read
};

struct InventoryOptions {
  std::string inventory_file;   // empty: NVML
  std::string format = "text";  // text | json
};

// `mpshare-node usage`: the pods come from --pods-file (kubectl get pods -o json)
// or from the API server (--node-name, with --kubeconfig as serve).
struct UsageOptions {
  std::string inventory_file;  // empty: NVML
  std::string processes_file;  // empty: NVML
  std::string proc_root = "/proc";
  std::string pods_file;
  std::string node_name;
  std::string kubeconfig;
  std::string format = "text";  // text | json
};

core::Result<ServeOptions> parseServeOptions(const std::vector<std::string>& args);
core::Result<InventoryOptions> parseInventoryOptions(const std::vector<std::string>& args);
core::Result<UsageOptions> parseUsageOptions(const std::vector<std::string>& args);

// "0.0.0.0:9400" -> {"0.0.0.0", 9400}; the error names `flag`.
core::Result<std::pair<std::string, uint16_t>> parseListenAddress(const std::string& flag,
                                                                  const std::string& text);

}  // namespace mpshare::node
