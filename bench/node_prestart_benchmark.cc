// PreStartContainer latency of mpshare-node on a full node, for
// docs/benchmarks.md. PreStart sits on the path of every container start, so
// the figure that matters is request-to-reply at the kubelet's end:
//   the kubelet's gRPC call over the plugin's unix socket
//   -> PodResources List over the kubelet's unix socket (110 pods)
//   -> the pod and its mpshare.io/gpu-index from the node-scoped pod cache
//   -> the slot's CDI spec built and written (temp file, fsync, rename).
// Everything is real but the kubelet (a gRPC stub) and the API server (the
// in-process test server, HTTPS on 127.0.0.1).
//
//   node_prestart_benchmark [--pods 110] [--gpus 8] [--calls 3000] [--parallel 16] [--cdi-on-disk]

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <thread>
#include <vector>

#include "core/slots.h"
#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include "node/api_pod_directory.h"
#include "node/device_plugin_server.h"
#include "node/late_binder.h"
#include "node/pod_resources_client.h"
#include "platform/logging.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "testing/kubelet/fake_kubelet.h"

namespace {

using namespace mpshare;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

int flagValue(int argc, char** argv, const std::string& flag, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == flag) {
      int value = fallback;
      std::from_chars(argv[i + 1], argv[i + 1] + std::strlen(argv[i + 1]), value);
      return value;
    }
  }
  return fallback;
}

// NVIDIA's CDI spec for `gpus` GPUs, shaped as nvidia-ctk writes it.
node::NvidiaCdiSpec nvidiaSpec(const std::vector<core::GpuDevice>& gpus) {
  json spec = {{"cdiVersion", "0.5.0"}, {"kind", "nvidia.com/gpu"}, {"devices", json::array()}};
  spec["containerEdits"] = {
      {"deviceNodes",
       {{{"path", "/dev/nvidiactl"}},
        {{"path", "/dev/nvidia-uvm"}},
        {{"path", "/dev/nvidia-uvm-tools"}}}},
      {"mounts",
       {{{"hostPath", "/usr/lib/x86_64-linux-gnu/libcuda.so.550.90.07"},
         {"containerPath", "/usr/lib/x86_64-linux-gnu/libcuda.so.550.90.07"},
         {"options", {"ro", "nosuid", "nodev", "bind"}}}}},
      {"hooks",
       {{{"hookName", "createContainer"},
         {"path", "/usr/bin/nvidia-cdi-hook"},
         {"args",
          {"nvidia-cdi-hook", "update-ldcache", "--folder", "/usr/lib/x86_64-linux-gnu"}}}}}};
  for (const auto& gpu : gpus) {
    const json edits = {{"deviceNodes", {{{"path", "/dev/nvidia" + std::to_string(gpu.index)}}}}};
    spec["devices"].push_back({{"name", std::to_string(gpu.index)}, {"containerEdits", edits}});
    spec["devices"].push_back({{"name", gpu.uuid}, {"containerEdits", edits}});
  }
  auto parsed = node::parseNvidiaCdiSpec(spec.dump(), "generated");
  if (!parsed) throw std::runtime_error(parsed.error().describe());
  return *parsed;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t at = std::min(values.size() - 1,
                             static_cast<size_t>(p / 100.0 * static_cast<double>(values.size())));
  return values[at];
}

}  // namespace

int main(int argc, char** argv) {
  const int pod_count = flagValue(argc, argv, "--pods", 110);
  const int gpu_count = flagValue(argc, argv, "--gpus", 8);
  const int calls = flagValue(argc, argv, "--calls", 3000);
  const int parallel = std::max(1, flagValue(argc, argv, "--parallel", 16));
  const std::string resource = "nvidia.com/gpu.shared";
  platform::setLogLevel(platform::LogLevel::kWarn);

  std::vector<core::GpuDevice> gpus;
  for (int i = 0; i < gpu_count; ++i) {
    char uuid[64];
    std::snprintf(uuid, sizeof uuid, "GPU-%08d-0000-4000-8000-000000000000", i);
    gpus.push_back({i, uuid, "NVIDIA-H100-80GB-HBM3", 81559, false});
  }
  const int clients_per_gpu = std::min(48, (pod_count + gpu_count - 1) / gpu_count + 1);

  // The API server holds the node's pods, each placed on a GPU by the extender.
  kubetest::TestApiServer api;
  std::vector<node::fakes::FakePod> held;
  for (int i = 0; i < pod_count; ++i) {
    const std::string name = "pod-" + std::to_string(i);
    api.store().create(
        kubetest::Kind::kPods,
        kubetest::makePod({.name = name,
                           .node = "gpu-a",
                           .phase = "Pending",
                           .annotations = {{"mpshare.io/gpu-index", std::to_string(i % gpu_count)},
                                           {"mpshare.io/thread-percentage", "10"},
                                           {"mpshare.io/memory-limit", "4Gi"}}}));
    held.push_back({"ml", name, {{"main", resource, {core::slotId(i)}}}});
  }
  auto client = platform::KubeClient::create(api.clientConfig());
  node::ApiPodDirectory pods(**client, "gpu-a");
  pods.start();
  while (!pods.synced() || pods.size() < static_cast<size_t>(pod_count)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // The kubelet's two sockets: PodResources (fake) and our plugin (real).
  node::fakes::SocketDir sockets;
  node::fakes::FakePodResources kubelet_pod_resources(sockets.file("pod-resources.sock"));
  kubelet_pod_resources.setPods(held);
  if (!kubelet_pod_resources.start().ok()) return 1;
  node::PodResourcesClient pod_resources(sockets.file("pod-resources.sock"));

  // /var/run/cdi is a tmpfs on a node (/var/run -> /run); --cdi-on-disk puts
  // the specs on the build machine's disk instead, to show what that costs.
  const bool on_disk = std::find(argv, argv + argc, std::string("--cdi-on-disk")) != argv + argc;
  const std::string cdi_dir = on_disk || !std::filesystem::is_directory("/dev/shm")
                                  ? sockets.file("cdi")
                                  : "/dev/shm/mpshare-bench-cdi-" + std::to_string(::getpid());
  std::filesystem::create_directories(cdi_dir);
  node::BinderOptions options;
  options.node_name = "gpu-a";
  options.resource_name = resource;
  options.clients_per_gpu = clients_per_gpu;
  options.cdi_dir = cdi_dir;
  node::LateBinder binder(
      options, gpus, nvidiaSpec(gpus), [&] { return pod_resources.list(); }, pods,
      {[](const core::GpuDevice& gpu) { return "/run/mpshare/mps/" + gpu.uuid + "/pipe"; },
       [](const core::GpuDevice&) { return true; }});
  node::DevicePluginServer server({sockets.path(), "mpshare.sock", resource, binder.slotCount()},
                                  binder);
  if (auto started = server.start(); !started) {
    std::cerr << started.error().describe() << "\n";
    return 1;
  }
  auto stub = v1beta1::DevicePlugin::NewStub(
      grpc::CreateChannel("unix:" + server.socketPath(), grpc::InsecureChannelCredentials()));

  // One at a time (a node starting containers now and then), then `parallel`
  // kubelet workers at once (a Deployment's pods starting together).
  const auto measure = [&](int workers) {
    std::vector<std::vector<double>> per_worker(static_cast<size_t>(workers));
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < calls / workers + 100 / workers; ++i) {
          v1beta1::PreStartContainerRequest request;
          request.add_devices_ids(core::slotId((w + i * workers) % pod_count));
          v1beta1::PreStartContainerResponse response;
          grpc::ClientContext context;
          const auto started = Clock::now();
          const auto status = stub->PreStartContainer(&context, request, &response);
          const double took =
              std::chrono::duration<double, std::milli>(Clock::now() - started).count();
          if (!status.ok()) ++failures;
          if (i >= 100 / workers)
            per_worker[static_cast<size_t>(w)].push_back(took);  // warm-up left out
        }
      });
    }
    for (auto& thread : threads) thread.join();
    std::vector<double> ms;
    for (const auto& worker : per_worker) ms.insert(ms.end(), worker.begin(), worker.end());
    std::cout << std::fixed << std::setprecision(3) << "  " << std::setw(2) << workers
              << " at once: p50 " << percentile(ms, 50) << " ms  p90 " << percentile(ms, 90)
              << " ms  p99 " << percentile(ms, 99) << " ms  max " << percentile(ms, 100) << " ms  ("
              << ms.size() << " calls, " << failures.load() << " failed)\n";
    return failures.load();
  };
  std::cout << "PreStartContainer, request to reply: " << pod_count << " pods on " << gpu_count
            << " GPUs (" << binder.slotCount() << " slots), specs in " << cdi_dir << "\n";
  const int requests_before = api.requests();
  int failures = measure(1);
  failures += measure(parallel);
  std::cout << "  API server requests during the runs: " << api.requests() - requests_before
            << " (pods come from the node's cache)\n";
  server.stop();
  pods.stop();
  if (!on_disk) std::filesystem::remove_all(cdi_dir);

  return failures == 0 ? 0 : 1;
}
