#pragma once

// Node and Pod lists as `kubectl get nodes -o yaml` / `kubectl get pods -o json`
// print them (kind: List or NodeList/PodList with `items`), turned into simulator
// inputs with the same readers the live extender uses (platform/kube_json.h,
// core/inventory.h, core/demand.h), so a planned cluster is read exactly like a
// live one.

#include <istream>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "extender/simulate/trace.h"

namespace mpshare::extender {

// Nodes: GPU count, memory and replicas from the GPU Feature Discovery labels
// (nvidia.com/gpu.count, .memory, .replicas, .product), host CPU and memory from
// status.allocatable. Nodes without nvidia.com/gpu.count have no GPUs. Errors name
// the source, the item and the field: "nodes.yaml: items[3] (gpu-b): nvidia.com/gpu.memory: ...".
core::Result<std::vector<SimNode>> parseNodeList(std::istream& in, std::string_view source);

// Pods: GPUs from nvidia.com/gpu limits, share from mpshare.io/thread-percentage
// (x10 = thousandths), GPU memory from mpshare.io/memory-limit, host CPU and
// memory from the containers' requests. Pods without a GPU take host resources only.
core::Result<std::vector<SimPod>> parsePodList(std::istream& in, std::string_view source);

}  // namespace mpshare::extender
