#pragma once

// Kubernetes object JSON (as the API server, the admission chain and the
// scheduler send it) -> the core's plain views. Errors name the JSON path.

#include <nlohmann/json_fwd.hpp>

namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

#include "core/pod.h"
#include "core/result.h"

namespace mpshare::platform {

// A v1.Pod object. Missing optional sections (metadata.annotations, env, resources)
// are fine; a section of the wrong JSON type is an error naming its path, e.g.
// `spec.containers[1].resources.limits: expected an object, got array`.
core::Result<core::PodView> podFromJson(const nlohmann::json& pod);
// The same, read from simdjson's DOM (a request body parsed with simdjson):
// the same values and the same errors. (Another name, not an overload:
// nlohmann::json converts implicitly to almost anything.)
core::Result<core::PodView> podFromSimdjson(const simdjson::dom::element& pod);

// The same walk, reading also what the webhook's daemon access edits:
// spec.volumes (hostPath paths by name), spec.hostIPC and each container's
// volumeMounts. Errors name the path as above: `spec.volumes[2].name: expected
// a string, got number`, `spec.containers[0].volumeMounts: expected an array, got object`.
struct PodWithVolumes {
  core::PodView pod;
  core::PodVolumes volumes;
};
core::Result<PodWithVolumes> podWithVolumesFromSimdjson(const simdjson::dom::element& pod);

// A v1.Node object: name, labels, and whether it is being deleted.
core::Result<core::NodeView> nodeFromJson(const nlohmann::json& node);
// The same, read from simdjson's DOM.
core::Result<core::NodeView> nodeFromSimdjson(const simdjson::dom::element& node);

}  // namespace mpshare::platform
