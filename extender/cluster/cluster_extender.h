#pragma once

// A whole extender wired for cluster mode: the API-server client, node and pod
// reflectors feeding the ledger, Binding-based bind, readiness that waits for
// both caches, metrics and routes. `serve` without --standalone and the
// end-to-end tests build this one object.

#include <memory>
#include <thread>

#include "extender/cluster/api_seams.h"
#include "extender/cluster/cluster_cache.h"
#include "extender/config.h"
#include "extender/metrics.h"
#include "extender/routes.h"
#include "extender/service.h"
#include "platform/kube_client.h"
#include "platform/metrics.h"
#include "platform/reflector.h"

namespace mpshare::extender {

struct ClusterOptions {
  int page_size = 500;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds idle_timeout{90000};
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{30000};
};

// Ready once the node and pod caches have each delivered a full list, i.e. the
// ledger holds every placement the API server knows of.
class ClusterReadiness : public Readiness {
 public:
  ClusterReadiness(const platform::Reflector& nodes, const platform::Reflector& pods)
      : nodes_(nodes), pods_(pods) {}
  [[nodiscard]] bool ready() const override { return nodes_.synced() && pods_.synced(); }
  [[nodiscard]] std::string reason() const override;

 private:
  const platform::Reflector& nodes_;
  const platform::Reflector& pods_;
};

class ClusterExtender {
 public:
  // Connects (lazily: the first list happens on the reflector threads) and
  // starts both reflectors. Fails on a bad TLS configuration.
  static core::Result<std::unique_ptr<ClusterExtender>> start(ExtenderConfig config,
                                                              const platform::KubeConfig& kube,
                                                              ClusterOptions options = {});
  // Stops the reflectors and joins their threads.
  ~ClusterExtender();
  ClusterExtender(const ClusterExtender&) = delete;
  ClusterExtender& operator=(const ClusterExtender&) = delete;

  // Blocks until ready or `timeout`; true when ready.
  bool waitReady(std::chrono::milliseconds timeout) const;

  [[nodiscard]] ExtenderRoutes& routes() { return routes_; }
  // What serve answers with: the routes, except that filter, prioritize and
  // bind get 503 until the ledger is rebuilt. Answering from a half-built
  // ledger would pass nodes that are already full (kube-scheduler treats the
  // 503 as a failed attempt and retries the pod; in sidecar mode no readiness
  // probe holds the scheduler back).
  platform::HttpResponse handle(const platform::HttpRequest& request);
  [[nodiscard]] platform::HttpHandler handler();
  [[nodiscard]] ExtenderService& service() { return service_; }
  [[nodiscard]] const ClusterReadiness& readiness() const { return readiness_; }
  [[nodiscard]] const ClusterCache& cache() const { return cache_; }
  [[nodiscard]] platform::ReflectorStats nodeStats() const { return node_reflector_.stats(); }
  [[nodiscard]] platform::ReflectorStats podStats() const { return pod_reflector_.stats(); }

 private:
  ClusterExtender(ExtenderConfig config, std::unique_ptr<platform::KubeClient> client,
                  const ClusterOptions& options);
  platform::ReflectorOptions reflectorOptions(platform::ResourceQuery query,
                                              const ClusterOptions& options,
                                              const std::string& resource);

  const ExtenderConfig config_;
  std::unique_ptr<platform::KubeClient> client_;
  platform::MetricsRegistry registry_;
  ExtenderMetrics metrics_;
  platform::Counter& overcommits_;
  platform::Counter& lists_;
  platform::Gauge& list_seconds_;
  platform::Counter& watches_;
  platform::Gauge& cache_objects_;
  ApiPodLookup pods_;
  ApiBinder binder_;
  ExtenderService service_;
  ClusterCache cache_;
  platform::Reflector node_reflector_;
  platform::Reflector pod_reflector_;
  ClusterReadiness readiness_;
  ExtenderRoutes routes_;
  std::thread node_thread_;
  std::thread pod_thread_;
};

// The API-server label selector equivalent to the inventory's node selector,
// e.g. {"mpshare.io/mps": "enabled"} -> "mpshare.io/mps=enabled".
std::string labelSelectorOf(const std::map<std::string, std::string>& selector);

}  // namespace mpshare::extender
