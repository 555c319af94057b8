#include "extender/cluster/cluster_extender.h"

namespace mpshare::extender {

std::string labelSelectorOf(const std::map<std::string, std::string>& selector) {
  std::string text;
  for (const auto& [key, value] : selector) text += (text.empty() ? "" : ",") + key + "=" + value;
  return text;
}

std::string ClusterReadiness::reason() const {
  if (!nodes_.synced()) return "node cache not synced";
  if (!pods_.synced()) return "pod cache not synced";
  return "";
}

core::Result<std::unique_ptr<ClusterExtender>> ClusterExtender::start(
    ExtenderConfig config, const platform::KubeConfig& kube, ClusterOptions options) {
  auto client = platform::KubeClient::create(kube);
  if (!client) return client.error();
  return std::unique_ptr<ClusterExtender>(
      new ClusterExtender(std::move(config), std::move(*client), options));
}

platform::ReflectorOptions ClusterExtender::reflectorOptions(platform::ResourceQuery query,
                                                             const ClusterOptions& options,
                                                             const std::string& resource) {
  platform::ReflectorOptions r;
  r.observe = [this, resource](const std::string& call, const std::string& outcome,
                               double seconds) {
    if (call == "list") {
      lists_.inc({{"resource", resource}, {"outcome", outcome}});
      if (outcome == "ok") list_seconds_.set({{"resource", resource}}, seconds);
    } else {
      watches_.inc({{"resource", resource}, {"end", outcome}});
    }
  };
  r.query = std::move(query);
  r.page_size = options.page_size;
  r.watch_timeout_seconds = options.watch_timeout_seconds;
  r.idle_timeout = options.idle_timeout;
  r.backoff_initial = options.backoff_initial;
  r.backoff_max = options.backoff_max;
  return r;
}

ClusterExtender::ClusterExtender(ExtenderConfig config,
                                 std::unique_ptr<platform::KubeClient> client,
                                 const ClusterOptions& options)
    : config_(std::move(config)),
      client_(std::move(client)),
      metrics_(registry_),
      overcommits_(
          registry_.counter("mpshare_extender_overcommits_total",
                            "Pods found pushing a GPU over budget (placed outside mpshare or "
                            "recorded from annotations that no longer fit), by node and GPU.")),
      lists_(registry_.counter(
          "mpshare_extender_apiserver_lists_total",
          "Full lists of a watched collection (start and every relist), by outcome.")),
      list_seconds_(registry_.gauge("mpshare_extender_apiserver_last_list_seconds",
                                    "Duration of the last successful list, every page included.")),
      watches_(registry_.counter(
          "mpshare_extender_apiserver_watches_total",
          "Watch streams ended, by how: closed (timeout), expired (410, relist), "
          "unauthorized (401), failed (network, stall, 5xx; rewatch after backoff).")),
      cache_objects_(
          registry_.gauge("mpshare_extender_cache_objects",
                          "Objects in the cluster cache: managed nodes, placed GPU pods.")),
      pods_(*client_),
      binder_(*client_),
      service_(config_, pods_, binder_, &metrics_),
      cache_(
          config_, service_, service_.ledger(),
          [this](const std::string&, const std::string& node, int gpu) {
            overcommits_.inc({{"node", node}, {"gpu", std::to_string(gpu)}});
          },
          &cache_objects_,
          [this](const std::string& uid, const core::Demand& demand) {
            service_.observePod(uid, demand);
          },
          service_.pendingSink()),
      // Nodes: only the selected ones. Pods: every live pod; the cache keeps the
      // placed GPU pods (a field selector cannot say "placed or annotated").
      node_reflector_(
          *client_, cache_.nodeSink(),
          reflectorOptions({"/api/v1/nodes", labelSelectorOf(config_.inventory.node_selector), ""},
                           options, "nodes")),
      pod_reflector_(
          *client_, cache_.podSink(),
          reflectorOptions({"/api/v1/pods", "", "status.phase!=Succeeded,status.phase!=Failed"},
                           options, "pods")),
      readiness_(node_reflector_, pod_reflector_),
      routes_(service_, readiness_) {
  node_thread_ = std::thread([this] { node_reflector_.run(); });
  pod_thread_ = std::thread([this] { pod_reflector_.run(); });
}

ClusterExtender::~ClusterExtender() {
  node_reflector_.stop();
  pod_reflector_.stop();
  node_thread_.join();
  pod_thread_.join();
}

platform::HttpResponse ClusterExtender::handle(const platform::HttpRequest& request) {
  const std::string& prefix = config_.url_prefix;
  const bool verb = request.method == "POST" && request.path.size() > prefix.size() &&
                    request.path.compare(0, prefix.size() + 1, prefix + "/") == 0;
  if (verb && !readiness_.ready()) {
    return {503, "application/json",
            nlohmann::json{
                {"error", "mpshare-extender is still rebuilding its ledger from the API server (" +
                              readiness_.reason() + "); retry"}}
                .dump()};
  }
  return routes_.handle(request);
}

platform::HttpHandler ClusterExtender::handler() {
  return [this](const platform::HttpRequest& request) { return handle(request); };
}

bool ClusterExtender::waitReady(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!readiness_.ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace mpshare::extender
