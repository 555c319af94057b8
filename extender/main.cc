// mpshare-extender: the kube-scheduler extender. main() only dispatches
// subcommands; each lives in its own file.
#include <iostream>
#include <string>

#include "extender/serve_command.h"
#include "extender/simulate/simulate_command.h"

namespace {

constexpr const char* kUsage = R"(usage:
  mpshare-extender serve --listen ADDR:PORT [--tls-cert FILE --tls-key FILE [--client-ca FILE]]
                         [--config FILE] [--kubeconfig FILE | --standalone [--nodes FILE]]
      Serve POST {urlPrefix}/filter, /prioritize, /bind and GET /healthz, /readyz,
      /metrics, /state. By default (cluster mode) nodes and pods are watched and
      pods bound through the API server found in --kubeconfig FILE, else
      $KUBECONFIG, else the in-cluster service account.
      --standalone: no API server; nodes come from the requests (Nodes form) or
      from --nodes (a NodeList in YAML or JSON); binds are kept in memory.
  mpshare-extender simulate ...
      Replay a pod trace or kubectl lists through the placement policies
      (`mpshare-extender simulate --help`).
  mpshare-extender --help
)";

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "serve") {
    return mpshare::extender::runServeCommand(argc, argv);
  }
  if (command == "simulate") {
    return mpshare::extender::runSimulateCommand(argc, argv);
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << (command.empty() ? "missing subcommand" : "unknown subcommand " + command) << "\n"
            << kUsage;
  return 2;
}
