// mpshare-node: the node agent. Wiring only; see node/serve_command.h.
//   mpshare-node serve --node-name NAME [flags]
//   mpshare-node inventory [--inventory FILE] [--format text|json]
//   mpshare-node usage (--pods-file FILE | --node-name NAME) [flags]

#include <iostream>
#include <string>
#include <vector>

#include "node/serve_command.h"
#include "node/usage_command.h"
#include "platform/logging.h"

namespace {

constexpr const char* kUsage = R"(usage:
  mpshare-node serve --node-name NAME [--kubeconfig FILE]
                     [--device-plugin-dir DIR] [--pod-resources-socket PATH]
                     [--cdi-dir DIR] [--nvidia-cdi-spec FILE] [--mps-root DIR]
                     [--inventory FILE] [--resource-name NAME] [--clients-per-gpu N]
                     [--metrics-listen ADDR:PORT] [--mps-control PATH] [--reconcile-seconds N]
                     [--usage-seconds N] [--processes-file FILE] [--proc-root DIR]
      Kubelet device plugin for RESOURCE (default nvidia.com/gpu.shared): advertises
      GPUs x N slots (N = --clients-per-gpu, 1-48, default 48), binds each slot to the
      GPU in its pod's mpshare.io/gpu-index when the container starts (a CDI spec per
      slot in --cdi-dir, default /var/run/cdi, built from --nvidia-cdi-spec, default
      /var/run/cdi/nvidia.yaml), runs one MPS control daemon per GPU under --mps-root
      (default /run/mpshare/mps/<uuid>/), and labels the node with its GPUs.
      Defaults: --device-plugin-dir /var/lib/kubelet/device-plugins,
      --pod-resources-socket /var/lib/kubelet/pod-resources/kubelet.sock,
      --metrics-listen 0.0.0.0:9400 (GET /metrics, /healthz), --reconcile-seconds 30.
      GPUs come from NVML (libnvidia-ml.so.1) unless --inventory names a file:
        gpus:
          - {index: 0, uuid: GPU-..., product: NVIDIA-H100-80GB-HBM3, memoryMiB: 81559}
      API server credentials: --kubeconfig, $KUBECONFIG, or the pod's service account.
      Per-pod GPU usage (docs/usage.md) is sampled every --usage-seconds (default 15)
      and on each scrape (0: off): GPU processes from NVML unless --processes-file names a file,
      each process's pod from <--proc-root>/<pid>/cgroup (default /proc).
  mpshare-node inventory [--inventory FILE] [--format text|json]
      Print the node's GPUs as the agent sees them (NVML unless --inventory).
  mpshare-node usage (--pods-file FILE | --node-name NAME [--kubeconfig FILE])
                     [--inventory FILE] [--processes-file FILE] [--proc-root DIR]
                     [--format text|json]
      Print each pod's GPU usage against its slice: threads, memory used / limit,
      SM utilization, MPS clients, and pods whose caps apply more than once.
      Pods from FILE (kubectl get pods -o json) or from the API server.
  mpshare-node --help | --version
)";

bool wantsHelp(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") return true;
  }
  return false;
}

int usageError(const mpshare::core::Error& error) {
  std::cerr << "mpshare-node: " << error.describe() << "\n\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (args[0] == "--version") {
    std::cout << "mpshare-node " << MPSHARE_VERSION << "\n";
    return 0;
  }
  if (wantsHelp(args)) {
    std::cout << kUsage;
    return 0;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "serve") {
    auto options = mpshare::node::parseServeOptions(rest);
    if (!options) return usageError(options.error());
    return mpshare::node::runServe(*options);
  }
  if (args[0] == "inventory") {
    auto options = mpshare::node::parseInventoryOptions(rest);
    if (!options) return usageError(options.error());
    return mpshare::node::runInventory(*options, std::cout, std::cerr);
  }
  if (args[0] == "usage") {
    auto options = mpshare::node::parseUsageOptions(rest);
    if (!options) return usageError(options.error());
    return mpshare::node::runUsage(*options, std::cout, std::cerr);
  }
  return usageError(mpshare::core::invalidArgument(
      args[0], "unknown command (serve, inventory, usage, --help, --version)"));
}
