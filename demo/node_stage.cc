#include "demo/node_stage.h"

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <mutex>
#include <stdexcept>

#include "core/slots.h"
#include "deviceplugin/v1beta1/api.grpc.pb.h"
#include "node/device_plugin_server.h"
#include "node/inventory_file.h"
#include "node/late_binder.h"
#include "node/memory_pod_directory.h"
#include "platform/kube_json.h"

namespace mpshare::demo {
namespace {

using nlohmann::json;

template <typename T>
T orThrow(core::Result<T> result, const std::string& what) {
  if (!result) throw std::runtime_error(what + ": " + result.error().describe());
  return std::move(*result);
}

// A temporary directory for the plugin socket and the CDI specs, removed after.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mpshare-node-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] std::string sub(const std::string& name) const {
    std::filesystem::create_directories(path_ / name);
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

// What a slot's spec gives the container: CUDA_VISIBLE_DEVICES and the GPU device node.
std::pair<std::string, std::string> specGpu(const std::string& path) {
  std::ifstream in(path);
  const json spec = json::parse(in);
  const json& edits = spec["devices"][0]["containerEdits"];
  std::string uuid;
  std::string device;
  for (const auto& env : edits.value("env", json::array())) {
    const std::string entry = env;
    if (entry.rfind("CUDA_VISIBLE_DEVICES=", 0) == 0) uuid = entry.substr(entry.find('=') + 1);
  }
  for (const auto& node : edits.value("deviceNodes", json::array())) {
    const std::string p = node.value("path", "");
    if (p.rfind("/dev/nvidia", 0) == 0 && p.find_first_of("0123456789") != std::string::npos)
      device = p;
  }
  return {uuid, device};
}

}  // namespace

int runNodeStage(const std::vector<BoundPod>& bound, const NodeStageFiles& files,
                 std::ostream& out) {
  const auto gpus = orThrow(node::readInventoryFile(files.inventory), files.inventory);
  const auto spec = orThrow(node::loadNvidiaCdiSpec(files.nvidia_spec), files.nvidia_spec);

  // Two pods the extender bound to this node, on different GPUs where it can.
  std::vector<const BoundPod*> chosen;
  for (const auto& pod : bound) {
    if (pod.node != files.node || chosen.size() == 2) continue;
    if (chosen.empty() || chosen[0]->gpu_indices != pod.gpu_indices) chosen.push_back(&pod);
  }
  if (chosen.empty()) throw std::runtime_error("the extender bound no pod to " + files.node);

  ScratchDir scratch;
  node::MemoryPodDirectory pods;
  for (const auto* pod : chosen) pods.put(orThrow(platform::podFromJson(pod->pod), "bound pod"));
  // The demo is the kubelet: it records which container holds which slots.
  std::mutex mutex;
  std::vector<node::ContainerDevices> allocated;
  node::BinderOptions options;
  options.node_name = files.node;
  options.clients_per_gpu = 4;
  options.cdi_dir = scratch.sub("cdi");
  node::GpuDaemons daemons{
      [](const core::GpuDevice& gpu) { return "/run/mpshare/mps/" + gpu.uuid + "/pipe"; },
      [](const core::GpuDevice&) { return true; }};
  node::LateBinder binder(
      options, gpus, spec,
      [&]() -> core::Result<std::vector<node::ContainerDevices>> {
        std::lock_guard lock(mutex);
        return allocated;
      },
      pods, daemons);
  node::DevicePluginServer server(
      {scratch.sub("device-plugins"), "mpshare.sock", options.resource_name, binder.slotCount()},
      binder);
  if (auto started = server.start(); !started) throw std::runtime_error(started.error().describe());

  auto channel =
      grpc::CreateChannel("unix:" + server.socketPath(), grpc::InsecureChannelCredentials());
  auto stub = v1beta1::DevicePlugin::NewStub(channel);
  v1beta1::DevicePluginOptions plugin_options;
  {
    grpc::ClientContext context;
    stub->GetDevicePluginOptions(&context, v1beta1::Empty(), &plugin_options);
  }
  int advertised = 0;
  {
    grpc::ClientContext context;
    auto stream = stub->ListAndWatch(&context, v1beta1::Empty());
    v1beta1::ListAndWatchResponse first;
    if (stream->Read(&first)) advertised = first.devices_size();
    context.TryCancel();
  }
  out << "mpshare-node on " << files.node << " (" << gpus.size() << " GPUs from " << files.inventory
      << "), device plugin on " << server.socketPath() << "\n"
      << "resource " << options.resource_name << ": " << advertised
      << " slots, PreStartContainer required: "
      << (plugin_options.pre_start_required() ? "yes" : "no") << "\n\n";
  out << std::left << std::setw(20) << "POD" << std::setw(10) << "SLOT" << std::setw(26)
      << "ALLOCATE (CDI)" << std::setw(6) << "GPU" << std::setw(16) << "DEVICE NODE"
      << "CUDA_VISIBLE_DEVICES\n";

  int agreed = 0;
  // The kubelet hands slots out in its own order; slot numbers say nothing of the GPU.
  int next_slot = binder.slotCount() - 1;
  for (const auto* pod : chosen) {
    const std::string name = pod->pod["metadata"]["name"];
    const std::string slot = core::slotId(next_slot--);
    {
      std::lock_guard lock(mutex);
      allocated.push_back({pod->pod["metadata"]["namespace"],
                           name,
                           pod->pod["spec"]["containers"][0]["name"],
                           options.resource_name,
                           {slot}});
    }
    v1beta1::AllocateRequest allocate;
    allocate.add_container_requests()->add_devices_ids(slot);
    v1beta1::AllocateResponse allocation;
    grpc::ClientContext allocate_context;
    auto status = stub->Allocate(&allocate_context, allocate, &allocation);
    if (!status.ok()) throw std::runtime_error("Allocate " + slot + ": " + status.error_message());
    v1beta1::PreStartContainerRequest prestart;
    prestart.add_devices_ids(slot);
    v1beta1::PreStartContainerResponse started;
    grpc::ClientContext prestart_context;
    status = stub->PreStartContainer(&prestart_context, prestart, &started);
    if (!status.ok())
      throw std::runtime_error("PreStartContainer " + slot + ": " + status.error_message());
    const int slot_number = next_slot + 1;
    const auto [uuid, device] = specGpu(options.cdi_dir + "/" + core::cdiSpecFileName(slot_number));
    const int gpu = pod->gpu_indices.at(0);
    agreed += uuid == gpus.at(static_cast<size_t>(gpu)).uuid ? 1 : 0;
    out << std::setw(20) << name << std::setw(10) << slot << std::setw(26)
        << allocation.container_responses(0).cdi_devices(0).name() << std::setw(6) << gpu
        << std::setw(16) << device << uuid << "\n";
  }
  server.stop();
  out << "\n"
      << agreed << " of " << chosen.size()
      << " containers get the GPU the extender wrote in mpshare.io/gpu-index (their slot's CDI "
         "spec, "
         "written at PreStartContainer, names that GPU's device node and UUID).\n";
  return agreed;
}

}  // namespace mpshare::demo
