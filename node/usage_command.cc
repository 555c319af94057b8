#include "node/usage_command.h"

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "node/gpu_processes_file.h"
#include "node/nvml_processes.h"
#include "node/pod_containers.h"
#include "node/serve_command.h"
#include "node/usage_format.h"
#include "node/usage_monitor.h"
#include "platform/json_limits.h"
#include "platform/kube_client.h"

namespace mpshare::node {
namespace {

core::Result<std::vector<NodePod>> podsFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::invalidArgument(path, "cannot read the pods file");
  std::stringstream text;
  text << in.rdbuf();
  auto document = platform::parseJson(text.str(), path);
  if (!document) return core::invalidArgument(path, document.error().message);
  return nodePodsFromJson(*document, path);
}

core::Result<std::vector<NodePod>> podsFromApi(const UsageOptions& options) {
  auto config = platform::resolveKubeConfig(options.kubeconfig);
  if (!config) return config.error();
  auto client = platform::KubeClient::create(*config);
  if (!client) return client.error();
  auto listed = (*client)->list({"/api/v1/pods", "", "spec.nodeName=" + options.node_name});
  if (!listed) return listed.error();
  nlohmann::json list = {{"items", nlohmann::json::array()}};
  for (auto& item : listed->items) list["items"].push_back(std::move(item));
  return nodePodsFromJson(list, "/api/v1/pods?fieldSelector=spec.nodeName=" + options.node_name);
}

}  // namespace

core::Result<std::unique_ptr<GpuProcessSource>> openGpuProcessSource(
    const std::string& processes_file) {
  if (!processes_file.empty()) {
    return std::unique_ptr<GpuProcessSource>(std::make_unique<GpuProcessFile>(processes_file));
  }
  auto nvml = NvmlProcessSource::open();
  if (!nvml) return nvml.error();
  return std::unique_ptr<GpuProcessSource>(std::move(*nvml));
}

int runUsage(const UsageOptions& options, std::ostream& out, std::ostream& err) {
  auto fail = [&err](const core::Error& error) {
    err << "mpshare-node usage: " << error.describe() << "\n";
    return 1;
  };
  auto gpus = loadGpus(options.inventory_file);
  if (!gpus) return fail(gpus.error());
  auto pods = options.pods_file.empty() ? podsFromApi(options) : podsFromFile(options.pods_file);
  if (!pods) return fail(pods.error());
  auto source = openGpuProcessSource(options.processes_file);
  if (!source) return fail(source.error());
  UsageMonitor monitor(
      {*gpus, options.proc_root, false}, **source, [&pods] { return *pods; }, nullptr, nullptr);
  auto report = monitor.sample();
  if (!report) return fail(report.error());
  auto text = formatUsage(*report, options.format);
  if (!text) return fail(text.error());
  out << *text;
  return 0;
}

}  // namespace mpshare::node
