#include "node/agent_metrics.h"

#include <chrono>

namespace mpshare::node {

class AgentMetrics::Instrumented : public SlotBackend {
 public:
  Instrumented(AgentMetrics& metrics, SlotBackend& inner) : metrics_(metrics), inner_(inner) {}
  [[nodiscard]] std::vector<SlotHealth> slots() const override { return inner_.slots(); }
  core::Status preStart(const std::vector<std::string>& device_ids) override {
    const auto started = std::chrono::steady_clock::now();
    auto status = inner_.preStart(device_ids);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    metrics_.prestart_seconds_.observe({}, took.count());
    // "unavailable" may heal by itself (the kubelet retries); "refused" needs a person.
    const char* outcome = status.ok()                                            ? "bound"
                          : status.error().code == core::ErrorCode::kUnavailable ? "unavailable"
                                                                                 : "refused";
    metrics_.prestarts_.inc({{"outcome", outcome}});
    return status;
  }

 private:
  AgentMetrics& metrics_;
  SlotBackend& inner_;
};

AgentMetrics::AgentMetrics(platform::MetricsRegistry& registry)
    : prestarts_(registry.counter(
          "mpshare_node_prestart_total",
          "PreStartContainer calls by outcome: bound (spec written), refused (the pod's "
          "placement is wrong), unavailable (try again: no room, API or kubelet down).")),
      prestart_seconds_(registry.histogram("mpshare_node_prestart_seconds",
                                           "Time from PreStartContainer request to reply.",
                                           platform::latencyBuckets())),
      slots_(registry.gauge("mpshare_node_slots", "Slots advertised to the kubelet, by health.")),
      slots_bound_(registry.gauge("mpshare_node_slots_bound",
                                  "Slots held by a container and bound to a GPU.")),
      gpus_(registry.gauge("mpshare_node_gpus", "GPUs this agent manages (MIG GPUs excluded).")),
      daemon_up_(registry.gauge("mpshare_node_mps_daemon_up",
                                "1 while the GPU's MPS control daemon runs.")),
      daemon_restarts_(registry.counter("mpshare_node_mps_daemon_restarts_total",
                                        "MPS control daemons restarted after they ended.")),
      registrations_(registry.counter(
          "mpshare_node_registrations_total",
          "Successful registrations with the kubelet (more than one: kubelet restarts).")),
      specs_removed_(
          registry.counter("mpshare_node_cdi_specs_removed_total",
                           "Per-slot CDI specs removed because no container held the slot.")) {}

std::unique_ptr<SlotBackend> AgentMetrics::instrument(SlotBackend& inner) {
  return std::make_unique<Instrumented>(*this, inner);
}

void AgentMetrics::refresh(const std::vector<SlotHealth>& slots, int bound, int gpus,
                           const std::function<void(platform::Gauge&)>& daemons) {
  int healthy = 0;
  for (const auto& slot : slots) healthy += slot.healthy ? 1 : 0;
  slots_.set({{"state", "healthy"}}, healthy);
  slots_.set({{"state", "unhealthy"}}, static_cast<double>(slots.size()) - healthy);
  slots_bound_.set({}, bound);
  gpus_.set({}, gpus);
  daemon_up_.clear();
  daemons(daemon_up_);
}

}  // namespace mpshare::node
