#include "extender/metrics.h"

namespace mpshare::extender {

ExtenderMetrics::ExtenderMetrics(platform::MetricsRegistry& registry)
    : registry_(registry),
      requests_(registry.counter("mpshare_extender_requests_total",
                                 "Extender calls by verb and outcome (ok, invalid_pod, refused, "
                                 "bad_request; error only for a fault of the extender or its "
                                 "binds).")),
      latency_(registry.histogram("mpshare_extender_request_duration_seconds",
                                  "Time to answer an extender call, by verb.",
                                  platform::latencyBuckets())),
      filter_nodes_(registry.counter("mpshare_extender_filter_nodes_total",
                                     "Nodes passed or failed by filter.")),
      binds_(registry.counter("mpshare_extender_binds_total", "Bind outcomes.")),
      reserved_threads_(registry.gauge("mpshare_extender_gpu_reserved_threads_percent",
                                       "Thread percentage reserved per GPU.")),
      reserved_memory_(registry.gauge("mpshare_extender_gpu_reserved_memory_mib",
                                      "Pinned memory reserved per GPU, MiB.")),
      reserved_clients_(
          registry.gauge("mpshare_extender_gpu_reserved_clients", "MPS clients reserved per GPU.")),
      capacity_threads_(registry.gauge("mpshare_extender_gpu_capacity_threads_percent",
                                       "Thread budget per GPU (100 x oversubscription).")),
      capacity_memory_(registry.gauge("mpshare_extender_gpu_capacity_memory_mib",
                                      "Memory budget per GPU, MiB.")),
      capacity_clients_(
          registry.gauge("mpshare_extender_gpu_capacity_clients", "MPS client budget per GPU.")),
      distribution_weight_(registry.gauge(
          "mpshare_extender_pod_distribution_weight",
          "Weight of each typical pod shape the policy measures fragmentation against (sums "
          "to 1), by shape and source (builtin, configured or learned).")),
      distribution_window_(
          registry.gauge("mpshare_extender_pod_distribution_window_pods",
                         "GPU pods in the window the typical pod distribution is learned from.")),
      plan_batches_(registry.counter("mpshare_extender_plan_batches_total",
                                     "Batches of waiting pods planned together (fgd-plus-batch).")),
      plan_pods_(
          registry.counter("mpshare_extender_plan_pods_total",
                           "Waiting pods planned, by result: placed (a node planned) or no_node.")),
      plan_seconds_(registry.gauge("mpshare_extender_plan_last_batch_seconds",
                                   "Time the last batch took to plan.")),
      plan_binds_(registry.counter(
          "mpshare_extender_plan_binds_total",
          "Binds of GPU pods by how they met their plan: followed, elsewhere (another node), "
          "stale (the planned GPUs no longer fit) or unplanned.")) {}

void ExtenderMetrics::planned(size_t pods, size_t placed, double seconds) {
  plan_batches_.inc({});
  plan_pods_.inc({{"result", "placed"}}, static_cast<double>(placed));
  plan_pods_.inc({{"result", "no_node"}}, static_cast<double>(pods - placed));
  plan_seconds_.set({}, seconds);
}

void ExtenderMetrics::planBind(const std::string& outcome) {
  plan_binds_.inc({{"outcome", outcome}});
}

void ExtenderMetrics::request(const std::string& verb, const std::string& outcome, double seconds) {
  requests_.inc({{"verb", verb}, {"outcome", outcome}});
  latency_.observe({{"verb", verb}}, seconds);
}

void ExtenderMetrics::filtered(size_t passed, size_t failed) {
  filter_nodes_.inc({{"result", "passed"}}, static_cast<double>(passed));
  filter_nodes_.inc({{"result", "failed"}}, static_cast<double>(failed));
}

void ExtenderMetrics::bind(const std::string& outcome) { binds_.inc({{"outcome", outcome}}); }

std::string ExtenderMetrics::render(const core::LedgerSnapshot& snapshot,
                                    const std::optional<core::DistributionView>& distribution) {
  // Two scrapes at once would interleave clear() and set(); one at a time.
  std::lock_guard lock(scrape_mutex_);
  for (platform::Gauge* gauge :
       {&reserved_threads_, &reserved_memory_, &reserved_clients_, &capacity_threads_,
        &capacity_memory_, &capacity_clients_, &distribution_weight_, &distribution_window_}) {
    gauge->clear();
  }
  if (distribution) {
    const std::string source(core::distributionSourceName(distribution->source));
    const std::vector<core::PodType> types = distribution->podTypes();
    // podTypes() keeps the shapes' order (every shape has pods, none is dropped).
    for (size_t i = 0; i < types.size() && i < distribution->shapes.size(); ++i) {
      const core::PodShape& shape = distribution->shapes[i].shape;
      platform::Labels labels{{"gpus", std::to_string(shape.gpus)},
                              {"gpu_milli", std::to_string(shape.gpu_milli)},
                              {"gpu_memory_mib", std::to_string(shape.gpu_memory_mib)},
                              {"source", source}};
      // Shapes bound to GPU products (fgd-plus only) are told apart by them.
      if (!shape.products.empty()) {
        std::string products;
        for (const std::string& p : shape.products) products += (products.empty() ? "" : ",") + p;
        labels.emplace("products", std::move(products));
      }
      distribution_weight_.set(labels, types[i].weight);
    }
    distribution_window_.set({}, static_cast<double>(distribution->window_pods));
  }
  for (const core::NodeState& node : snapshot.nodes) {
    for (const core::GpuState& gpu : node.gpus) {
      const platform::Labels labels{{"node", node.name()},
                                    {"gpu", std::to_string(gpu.capacity.index)}};
      reserved_threads_.set(labels, gpu.reserved.threads);
      reserved_memory_.set(labels, static_cast<double>(gpu.reserved.memory_mib));
      reserved_clients_.set(labels, gpu.reserved.clients);
      capacity_threads_.set(labels, gpu.capacity.threads);
      capacity_memory_.set(labels, static_cast<double>(gpu.capacity.memory_mib));
      capacity_clients_.set(labels, gpu.capacity.clients);
    }
  }
  return registry_.render();
}

}  // namespace mpshare::extender
