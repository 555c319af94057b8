#pragma once

// mpshare-node's Prometheus metrics. PreStart outcomes and latency are
// counted by a SlotBackend wrapper; slot and daemon gauges are refreshed
// from the live state just before each scrape, so they are never stale.
//
//   mpshare_node_prestart_total{outcome="bound"|"refused"|"unavailable"}
//   mpshare_node_prestart_seconds (histogram)
//   mpshare_node_slots{state="healthy"|"unhealthy"}
//   mpshare_node_slots_bound
//   mpshare_node_gpus
//   mpshare_node_mps_daemon_up{gpu, uuid}
//   mpshare_node_mps_daemon_restarts_total{gpu, uuid}
//   mpshare_node_registrations_total
//   mpshare_node_cdi_specs_removed_total

#include <functional>
#include <string>

#include "node/slot_backend.h"
#include "platform/metrics.h"

namespace mpshare::node {

class AgentMetrics {
 public:
  explicit AgentMetrics(platform::MetricsRegistry& registry);

  // A backend that counts and times every PreStart of `inner` (not owned).
  [[nodiscard]] std::unique_ptr<SlotBackend> instrument(SlotBackend& inner);

  void registered() { registrations_.inc({}); }
  void specsRemoved(int count) { specs_removed_.inc({}, count); }
  void daemonRestarted(int gpu, const std::string& uuid) {
    daemon_restarts_.inc({{"gpu", std::to_string(gpu)}, {"uuid", uuid}});
  }
  // Fills the gauges from the state now; call before render().
  void refresh(const std::vector<SlotHealth>& slots, int bound, int gpus,
               const std::function<void(platform::Gauge&)>& daemons);

 private:
  class Instrumented;
  platform::Counter& prestarts_;
  platform::Histogram& prestart_seconds_;
  platform::Gauge& slots_;
  platform::Gauge& slots_bound_;
  platform::Gauge& gpus_;
  platform::Gauge& daemon_up_;
  platform::Counter& daemon_restarts_;
  platform::Counter& registrations_;
  platform::Counter& specs_removed_;
};

}  // namespace mpshare::node
