#include "extender/cluster/api_seams.h"

#include "core/annotations.h"
#include "platform/kube_json.h"
#include "platform/logging.h"

namespace mpshare::extender {

std::optional<core::PodView> ApiPodLookup::find(const std::string& uid,
                                                const std::string& namespace_name,
                                                const std::string& name) const {
  if (auto pod = memory_.find(uid, namespace_name, name)) return pod;
  auto fetched = client_.getPod(namespace_name, name);
  if (!fetched) return std::nullopt;
  auto pod = platform::podFromJson(*fetched);
  if (!pod || (!uid.empty() && pod->uid != uid)) return std::nullopt;
  return *pod;
}

core::Status ApiBinder::bind(const BindRequest& request) {
  const core::PodView& pod = *request.pod;
  platform::BindRequest binding{pod.namespace_name, pod.name, pod.uid, request.node, {}};
  if (!request.gpu_indices.empty()) {
    binding.annotations[std::string(core::kGpuIndexAnnotation)] =
        core::formatGpuIndices(request.gpu_indices);
  }
  core::Status status = client_.bind(binding);
  if (status) return status;
  const core::ErrorCode code = status.error().code;
  // 409: already bound; kUnavailable: the POST may have landed and only its
  // reply was lost. Either way, if the pod is now bound where we wanted it,
  // the bind happened and the reservation must stay.
  if (code != core::ErrorCode::kConflict && code != core::ErrorCode::kUnavailable) return status;
  auto current = client_.getPod(pod.namespace_name, pod.name);
  if (!current) {
    // Neither the reply nor the check says whether the Binding landed:
    // kUnavailable tells the service to hold the share until it is settled.
    core::Error error = status.error();
    error.code = core::ErrorCode::kUnavailable;
    error.message +=
        "; whether the Binding landed is unknown (the check failed: " + current.error().describe() +
        ")";
    return error;
  }
  auto view = platform::podFromJson(*current);
  if (view && view->uid == pod.uid && view->node_name == request.node) {
    platform::logInfo("binding already in place", {{"pod", pod.key()}, {"node", request.node}});
    return {};
  }
  // The check read the pod after the Binding was committed or refused, so it
  // is not there: a known failure, reported as a conflict.
  core::Error error = status.error();
  error.code = core::ErrorCode::kConflict;
  return error;
}

}  // namespace mpshare::extender
