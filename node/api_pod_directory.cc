#include "node/api_pod_directory.h"

#include "core/annotations.h"
#include "platform/kube_json.h"
#include "platform/logging.h"

namespace mpshare::node {
namespace {

platform::ReflectorOptions nodeScoped(platform::ReflectorOptions options,
                                      const std::string& node_name) {
  options.query.path = "/api/v1/pods";
  options.query.field_selector = "spec.nodeName=" + node_name;
  return options;
}

bool live(const core::PodView& pod) {
  return !pod.deleting && pod.phase != core::PodPhase::kSucceeded &&
         pod.phase != core::PodPhase::kFailed;
}

}  // namespace

ApiPodDirectory::ApiPodDirectory(platform::KubeClient& client, std::string node_name,
                                 platform::ReflectorOptions options)
    : client_(client),
      node_name_(std::move(node_name)),
      reflector_(client, sink_, nodeScoped(std::move(options), node_name_)) {}

ApiPodDirectory::~ApiPodDirectory() { stop(); }

void ApiPodDirectory::start() {
  thread_ = std::thread([this] { reflector_.run(); });
}

void ApiPodDirectory::stop() {
  reflector_.stop();
  if (thread_.joinable()) thread_.join();
}

size_t ApiPodDirectory::size() const {
  std::lock_guard lock(mutex_);
  return pods_.size();
}

void ApiPodDirectory::put(const core::PodView& pod,
                          const std::map<std::string, std::string>* container_ids) {
  std::lock_guard lock(mutex_);
  if (live(pod) && pod.node_name == node_name_) {
    pods_[pod.key()] = pod;
    if (container_ids != nullptr) container_ids_[pod.key()] = *container_ids;
  } else {
    pods_.erase(pod.key());
    container_ids_.erase(pod.key());
  }
}

void ApiPodDirectory::Sink::replace(const std::vector<nlohmann::json>& items) {
  std::map<std::string, core::PodView> fresh;
  std::map<std::string, std::map<std::string, std::string>> fresh_ids;
  for (const auto& item : items) {
    auto pod = platform::podFromJson(item);
    if (!pod) {
      platform::logWarn("skipping a pod the API server listed",
                        {{"error", pod.error().describe()}});
      continue;
    }
    if (live(*pod) && pod->node_name == owner_.node_name_) {
      fresh_ids[pod->key()] = containerIdsFromJson(item);
      fresh[pod->key()] = std::move(*pod);
    }
  }
  std::lock_guard lock(owner_.mutex_);
  owner_.pods_ = std::move(fresh);
  owner_.container_ids_ = std::move(fresh_ids);
}

void ApiPodDirectory::Sink::apply(const std::string& type, const nlohmann::json& object) {
  auto pod = platform::podFromJson(object);
  if (!pod) {
    platform::logWarn("skipping a pod event", {{"error", pod.error().describe()}});
    return;
  }
  if (type == "DELETED") {
    std::lock_guard lock(owner_.mutex_);
    owner_.pods_.erase(pod->key());
    owner_.container_ids_.erase(pod->key());
    return;
  }
  const auto ids = containerIdsFromJson(object);
  owner_.put(*pod, &ids);
}

core::Result<core::PodView> ApiPodDirectory::pod(const std::string& namespace_name,
                                                 const std::string& name) {
  {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(namespace_name + "/" + name);
    if (it != pods_.end()) return it->second;
  }
  // The kubelet saw the pod, so the watch will too; until then one GET.
  auto fetched = client_.getPod(namespace_name, name);
  if (!fetched) return fetched.error();
  auto pod = platform::podFromJson(*fetched);
  if (!pod)
    return core::Error{core::ErrorCode::kUnavailable, namespace_name + "/" + name,
                       pod.error().describe()};
  const auto ids = containerIdsFromJson(*fetched);
  put(*pod, &ids);
  return pod;
}

std::vector<core::PodView> ApiPodDirectory::podsOnNode() {
  std::lock_guard lock(mutex_);
  std::vector<core::PodView> pods;
  pods.reserve(pods_.size());
  for (const auto& [key, pod] : pods_) pods.push_back(pod);
  return pods;
}

std::vector<NodePod> ApiPodDirectory::nodePods() const {
  std::lock_guard lock(mutex_);
  std::vector<NodePod> pods;
  pods.reserve(pods_.size());
  for (const auto& [key, pod] : pods_) {
    const auto ids = container_ids_.find(key);
    pods.push_back(
        {pod, ids != container_ids_.end() ? ids->second : std::map<std::string, std::string>{}});
  }
  return pods;
}

core::Status ApiPodDirectory::annotateGpuIndex(const core::PodView& pod, const std::string& value) {
  auto status = client_.patchPodAnnotations(
      pod.namespace_name, pod.name, {{std::string(core::kGpuIndexAnnotation), value}}, pod.uid);
  if (!status) return status;
  // Seen at once by the next choice on this node, before the watch echoes it.
  core::PodView annotated = pod;
  annotated.annotations[std::string(core::kGpuIndexAnnotation)] = value;
  annotated.has_annotations = true;
  put(annotated, nullptr);
  return {};
}

}  // namespace mpshare::node
