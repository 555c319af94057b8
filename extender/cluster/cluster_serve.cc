#include "extender/cluster/cluster_serve.h"

#include <iostream>

#include "extender/cluster/cluster_extender.h"
#include "platform/logging.h"

namespace mpshare::extender {

int runClusterServe(const ServeOptions& options, const ExtenderConfig& config,
                    const platform::StopSignals& stop_signals) {
  auto kube = platform::resolveKubeConfig(options.kubeconfig);
  if (!kube) {
    std::cerr << "mpshare-extender serve: " << kube.error().describe() << "\n";
    return 2;
  }
  auto extender = ClusterExtender::start(config, *kube);
  if (!extender) {
    std::cerr << "mpshare-extender serve: " << extender.error().describe() << "\n";
    return 2;
  }
  std::unique_ptr<platform::HttpServer> server;
  try {
    // Serving starts at once so /healthz answers; /readyz and the verbs answer
    // 503 until the caches have synced and the ledger holds every placement.
    server = platform::startHttpServer(options.server, (*extender)->handler());
  } catch (const std::exception& e) {
    std::cerr << "mpshare-extender serve: " << e.what() << "\n";
    return 1;
  }
  platform::logInfo("mpshare-extender serving",
                    {{"listen", options.server.host + ":" + std::to_string(server->port())},
                     {"tls", options.server.tls ? "on" : "off"},
                     {"apiserver", kube->server.host + ":" + std::to_string(kube->server.port)},
                     {"mode", "cluster"}});
  const int signal_number = stop_signals.wait();
  platform::logInfo("mpshare-extender stopping", {{"signal", std::to_string(signal_number)}});
  server->stop();
  return 0;
}

}  // namespace mpshare::extender
