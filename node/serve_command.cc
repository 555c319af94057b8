#include "node/serve_command.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/node_labels.h"
#include "node/agent_metrics.h"
#include "node/api_pod_directory.h"
#include "node/device_plugin_server.h"
#include "node/inventory_file.h"
#include "node/inventory_format.h"
#include "node/late_binder.h"
#include "node/mps_supervisor.h"
#include "node/nvml_inventory.h"
#include "node/pod_resources_client.h"
#include "node/registration.h"
#include "node/usage_command.h"
#include "node/usage_monitor.h"
#include "platform/http_server.h"
#include "platform/kube_client.h"
#include "platform/logging.h"
#include "platform/metrics.h"
#include "platform/stop_signals.h"

namespace mpshare::node {
namespace {

// Everything in the agent that runs on a loop of its own stops through this.
class Interval {
 public:
  // Waits `period` or until stop(); false once stopped.
  bool wait(std::chrono::seconds period) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, period, [this] { return stopped_; });
  }
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    wake_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
};

// Start-up stops here; the error names the file, flag or library and what to do.
int fail(const core::Error& error) {
  platform::logError("cannot start", {{"error", error.describe()}});
  return 1;
}

}  // namespace

core::Result<std::vector<core::GpuDevice>> loadGpus(const std::string& inventory_file) {
  auto all = inventory_file.empty() ? readNvmlInventory() : readInventoryFile(inventory_file);
  if (!all) return all.error();
  std::vector<core::GpuDevice> usable;
  for (const auto& gpu : *all) {
    if (gpu.mig_enabled) {
      platform::logWarn("skipping a GPU in MIG mode: MPS slots need whole GPUs",
                        {{"gpu", std::to_string(gpu.index)}, {"uuid", gpu.uuid}});
      continue;
    }
    usable.push_back(gpu);
  }
  return usable;
}

int runInventory(const InventoryOptions& options, std::ostream& out, std::ostream& err) {
  auto gpus = options.inventory_file.empty() ? readNvmlInventory()
                                             : readInventoryFile(options.inventory_file);
  if (!gpus) {
    err << "mpshare-node inventory: " << gpus.error().describe() << "\n";
    return 1;
  }
  auto text = formatInventory(*gpus, options.format);
  if (!text) {
    err << "mpshare-node inventory: " << text.error().describe() << "\n";
    return 1;
  }
  out << *text;
  return 0;
}

int runServe(const ServeOptions& options) {
  platform::StopSignals signals;  // before any thread starts

  // 1. Read and check every input; nothing runs yet.
  auto gpus = loadGpus(options.inventory_file);
  if (!gpus) return fail(gpus.error());
  if (gpus->empty()) {
    return fail(
        core::invalidArgument(options.inventory_file.empty() ? "NVML" : options.inventory_file,
                              "no GPU outside MIG mode on this node"));
  }
  auto nvidia_spec = loadNvidiaCdiSpec(options.nvidia_cdi_spec);
  if (!nvidia_spec) return fail(nvidia_spec.error());
  for (const auto& gpu : *gpus) {
    if (auto edits = deviceEditsFor(*nvidia_spec, gpu); !edits) {
      return fail(edits.error());
    }
  }
  auto kube_config = platform::resolveKubeConfig(options.kubeconfig);
  if (!kube_config) return fail(kube_config.error());
  auto client = platform::KubeClient::create(*kube_config);
  if (!client) return fail(client.error());
  auto metrics_address = parseListenAddress("--metrics-listen", options.metrics_listen);
  if (!metrics_address) return fail(metrics_address.error());
  std::error_code made;
  std::filesystem::create_directories(options.cdi_dir, made);
  if (made) return fail(core::invalidArgument(options.cdi_dir, made.message()));

  platform::MetricsRegistry registry;
  AgentMetrics metrics(registry);
  DevicePluginServer* server_for_health = nullptr;
  std::mutex health_mutex;

  // 2. One MPS control daemon per GPU, supervised; a fault stays on its GPU.
  MpsSupervisorConfig mps_options;
  mps_options.control_binary = options.mps_control;
  mps_options.root = options.mps_root;
  MpsSupervisor daemons(
      mps_options, *gpus, [&](const core::GpuDevice& gpu, bool healthy, const std::string& why) {
        platform::logEvent(
            healthy ? platform::LogLevel::kInfo : platform::LogLevel::kWarn,
            healthy ? "MPS daemon up" : "MPS daemon down",
            {{"gpu", std::to_string(gpu.index)}, {"uuid", gpu.uuid}, {"reason", why}});
        if (!healthy) metrics.daemonRestarted(gpu.index, gpu.uuid);
        std::lock_guard lock(health_mutex);
        if (server_for_health != nullptr) server_for_health->notifyHealthChanged();
      });
  if (auto started = daemons.start(); !started) return fail(started.error());

  // 3. The pods of this node, and the kubelet's record of who holds which slot.
  ApiPodDirectory pods(**client, options.node_name);
  pods.start();
  PodResourcesClient pod_resources(options.pod_resources_socket);
  BinderOptions binder_options;
  binder_options.node_name = options.node_name;
  binder_options.resource_name = options.resource_name;
  binder_options.clients_per_gpu = options.clients_per_gpu;
  binder_options.cdi_dir = options.cdi_dir;
  LateBinder binder(
      binder_options, *gpus, *nvidia_spec, [&pod_resources] { return pod_resources.list(); }, pods,
      {[&daemons](const core::GpuDevice& gpu) { return daemons.pipeDirectory(gpu.uuid); },
       [&daemons](const core::GpuDevice& gpu) { return daemons.healthy(gpu.uuid); }});
  auto backend = metrics.instrument(binder);

  // Per-pod GPU usage. Optional: a driver without per-process NVML calls
  // leaves the agent running without it.
  UsageMetrics usage_metrics(registry);
  std::unique_ptr<UsageMonitor> usage;
  auto process_source = options.usage_seconds == 0
                            ? core::Result<std::unique_ptr<GpuProcessSource>>(
                                  core::invalidArgument("--usage-seconds", "0: turned off"))
                            : openGpuProcessSource(options.processes_file);
  if (!process_source) {
    platform::logWarn("per-pod GPU usage is off", {{"error", process_source.error().describe()}});
  } else {
    usage = std::make_unique<UsageMonitor>(
        UsageMonitorOptions{*gpus, options.proc_root, true}, **process_source,
        [&pods] { return pods.nodePods(); }, &usage_metrics,
        [&](const DoubleCap& cap) {
          platform::PodEvent event;
          event.namespace_name = cap.namespace_name;
          event.pod_name = cap.pod;
          event.pod_uid = cap.pod_uid;
          event.reason = "MpsDoubleCapped";
          event.message = cap.describe() +
                          ". Start one CUDA process per container, or ask for the whole "
                          "amount in one process.";
          event.component = "mpshare-node";
          event.host = options.node_name;
          if (auto posted = (*client)->createEvent(event); !posted) {
            platform::logWarn("cannot record the double-cap event on the pod",
                              {{"pod", cap.namespace_name + "/" + cap.pod},
                               {"error", posted.error().describe()}});
          }
        });
  }

  // 4. The device plugin: serve, register, re-register when the kubelet restarts.
  DevicePluginServer server(
      {options.device_plugin_dir, "mpshare.sock", options.resource_name, binder.slotCount()},
      *backend);
  {
    std::lock_guard lock(health_mutex);
    server_for_health = &server;
  }
  PluginRunner::Options runner_options;
  runner_options.on_registered = [&metrics](int) { metrics.registered(); };
  PluginRunner runner(server, runner_options);
  std::atomic<bool> runner_failed{false};
  std::thread plugin_thread([&] {
    if (auto ran = runner.run(); !ran) {
      platform::logError("device plugin stopped", {{"error", ran.error().describe()}});
      runner_failed = true;
    }
  });

  // 5. Node labels (until they stick) and the reconcile loop.
  Interval interval;
  std::thread reconcile_thread([&] {
    bool labelled = false;
    const auto labels = core::agentNodeLabels(*gpus, options.clients_per_gpu);
    platform::KubeClient::MetadataPatch patch(labels.begin(), labels.end());
    // A label the agent no longer sets (no product once no GPU is usable) is
    // removed, so the extender never budgets from a stale one.
    for (const auto key : {core::kAgentGpuCountLabel, core::kAgentGpuMemoryLabel,
                           core::kAgentGpuProductLabel, core::kAgentGpuClientsLabel}) {
      patch.try_emplace(std::string(key), std::nullopt);
    }
    do {
      if (!labelled) {
        auto status = (*client)->patchNodeLabels(options.node_name, patch);
        labelled = status.ok();
        if (labelled) {
          platform::logInfo("node labelled",
                            {{"node", options.node_name},
                             {"gpus", labels.at(std::string(core::kAgentGpuCountLabel))}});
        } else {
          platform::logWarn("cannot label the node yet", {{"error", status.error().describe()}});
        }
      }
      auto report = binder.reconcile();
      if (!report) {
        platform::logWarn("reconcile skipped", {{"error", report.error().describe()}});
      } else if (report->removed > 0) {
        metrics.specsRemoved(report->removed);
        platform::logInfo("removed CDI specs of released slots",
                          {{"removed", std::to_string(report->removed)}});
      }
    } while (interval.wait(std::chrono::seconds(options.reconcile_seconds)));
  });
  // Between scrapes too, so a double-capped pod is told even when nobody scrapes.
  std::thread usage_thread([&] {
    if (!usage) return;
    do {
      if (auto sampled = usage->sample(); !sampled) {
        platform::logWarn("GPU usage sample failed", {{"error", sampled.error().describe()}});
      }
    } while (interval.wait(std::chrono::seconds(options.usage_seconds)));
  });

  // 6. Metrics and health on plain HTTP.
  platform::ServerOptions http;
  http.host = metrics_address->first;
  http.port = metrics_address->second;
  http.threads = 1;
  std::unique_ptr<platform::HttpServer> metrics_server;
  try {
    metrics_server = platform::startHttpServer(http, [&](const platform::HttpRequest& request) {
      if (request.path == "/healthz") {
        const bool ok = server.serving() && !runner_failed.load();
        return platform::HttpResponse{ok ? 200 : 503, "text/plain",
                                      ok ? "ok\n" : "device plugin not serving\n"};
      }
      if (request.path != "/metrics") {
        return platform::HttpResponse{404, "text/plain",
                                      "no route " + request.path + " (GET /metrics, /healthz)\n"};
      }
      metrics.refresh(binder.slots(), static_cast<int>(binder.boundSlots().size()),
                      static_cast<int>(gpus->size()), [&](platform::Gauge& up) {
                        for (const auto& gpu : *gpus) {
                          up.set({{"gpu", std::to_string(gpu.index)}, {"uuid", gpu.uuid}},
                                 daemons.healthy(gpu.uuid) ? 1 : 0);
                        }
                      });
      std::string body;
      // The usage series and the render are one snapshot: no sample lands in between.
      if (usage) {
        (void)usage->sample([&] { body = registry.render(); });
      } else {
        body = registry.render();
      }
      return platform::HttpResponse{200, platform::kMetricsContentType, body};
    });
  } catch (const std::exception& e) {
    platform::logError("cannot serve metrics",
                       {{"listen", options.metrics_listen}, {"error", e.what()}});
  }
  platform::logInfo("mpshare-node serving", {{"node", options.node_name},
                                             {"gpus", std::to_string(gpus->size())},
                                             {"slots", std::to_string(binder.slotCount())},
                                             {"resource", options.resource_name},
                                             {"socket", server.socketPath()}});

  const int signal = signals.wait();
  platform::logInfo("stopping", {{"signal", std::to_string(signal)}});
  // Unregister first (the kubelet stops sending work), then the rest in reverse.
  runner.stop();
  plugin_thread.join();
  {
    std::lock_guard lock(health_mutex);
    server_for_health = nullptr;
  }
  interval.stop();
  reconcile_thread.join();
  usage_thread.join();
  if (metrics_server) metrics_server->stop();
  pods.stop();
  // Running clients keep their servers until they exit; the daemons are told to quit.
  daemons.stop();
  return runner_failed.load() ? 1 : 0;
}

}  // namespace mpshare::node
