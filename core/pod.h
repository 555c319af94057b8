#pragma once

// The slice of a Kubernetes Pod the domain reasons about, as plain values.
// platform/kube_json.h builds it from the API server's JSON; the core never sees JSON.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mpshare::core {

enum class ContainerKind {
  kRegular,  // spec.containers[]
  kInit,     // spec.initContainers[] that run to completion, one after another
  kSidecar,  // spec.initContainers[] with restartPolicy: Always; runs beside the regular ones
};

struct EnvVar {
  std::string name;
  std::optional<std::string> value;  // nullopt when the entry uses valueFrom
};

struct ContainerView {
  std::string name;
  ContainerKind kind = ContainerKind::kRegular;
  int index = 0;  // position in spec.containers or spec.initContainers
  std::map<std::string, std::string> limits;
  std::map<std::string, std::string> requests;
  bool has_env = false;  // whether the `env` array exists (decides how a patch adds to it)
  std::vector<EnvVar> env;
};

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed, kUnknown };

// One v1.NodeSelectorRequirement: a node's label (or field) `key`, compared by
// `op` as Kubernetes spells it (In, NotIn, Exists, DoesNotExist, Gt, Lt) with
// `values`. The operator is kept as sent: the API server has validated it.
struct NodeSelectorRequirement {
  std::string key;
  std::string op;
  std::vector<std::string> values;

  bool operator==(const NodeSelectorRequirement&) const = default;
};

// One v1.NodeSelectorTerm: a node matches when it meets every requirement of
// both lists; a term with neither matches no node.
struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> match_expressions;  // on node labels
  std::vector<NodeSelectorRequirement> match_fields;       // on node fields (metadata.name)

  bool operator==(const NodeSelectorTerm&) const = default;
};

struct PodView {
  std::string name;
  std::string namespace_name;
  std::string uid;
  std::string node_name;                             // spec.nodeName; empty until bound
  std::string scheduler_name;                        // spec.schedulerName
  std::map<std::string, std::string> node_selector;  // spec.nodeSelector
  // spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
  // .nodeSelectorTerms: a node must match one of them (and the node selector);
  // empty = no required node affinity.
  std::vector<NodeSelectorTerm> required_node_terms;
  PodPhase phase = PodPhase::kPending;
  bool deleting = false;  // metadata.deletionTimestamp is set
  bool has_annotations = false;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
  std::vector<ContainerView> containers;  // regular containers first, then init containers

  // "namespace/name", the way kubectl names a pod.
  [[nodiscard]] std::string key() const { return namespace_name + "/" + name; }
};

// What a pod already has that the webhook's daemon access touches (core/mutation.h):
// only the webhook reads it, so it stays out of PodView, and the pod reader
// (platform/kube_json.h) fills it in the same walk of the pod when asked.
struct VolumeMountView {
  std::string name;
  std::string mount_path;
};
struct ContainerMounts {
  bool has_volume_mounts = false;  // whether the volumeMounts array exists
  std::vector<VolumeMountView> mounts;
};
struct PodVolumes {
  bool has_volumes = false;  // whether spec.volumes exists
  std::map<std::string, std::string>
      host_paths;  // volume name -> hostPath.path ("" if not hostPath)
  bool host_ipc = false;
  // Keyed by (is init container, index), matching ContainerView.kind/index.
  std::map<std::pair<bool, int>, ContainerMounts> containers;
};

// A node as the domain sees it: its name and labels (GPU Feature Discovery writes
// the capacity there), plus allocatable CPU/memory for the simulator's fit check.
struct NodeView {
  std::string name;
  std::map<std::string, std::string> labels;
  bool deleting = false;
};

}  // namespace mpshare::core
