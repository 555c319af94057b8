#pragma once

// The demo's second stage: the pods the webhook admitted go, as a stream of
// replicas, through a real mpshare-extender (standalone mode, plain HTTP on
// 127.0.0.1) exactly as kube-scheduler would call it: filter, prioritize, bind.
// Then one table row per GPU, and what the same GPUs would hold under the device
// plugin's equal slices.

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "demo/webhook_stage.h"

namespace mpshare::demo {

// A pod the extender bound: as the API server would now hold it (spec.nodeName
// and mpshare.io/gpu-index set by the Binding).
struct BoundPod {
  nlohmann::json pod;
  std::string node;
  std::vector<int> gpu_indices;
};

struct ExtenderStageResult {
  int pods = 0;                 // pods in the stream
  int placed = 0;               // bound by the extender
  int equal_slices = 0;         // pods that would get their asked limits under equal slices
  std::vector<BoundPod> bound;  // in bind order
};

// Loads the NodeList in `nodes_file`, starts the extender on 127.0.0.1:0, and
// sends `rounds` copies of every admitted GPU pod (names suffixed -1, -2, ...).
// Throws std::runtime_error when the server or a call fails.
ExtenderStageResult runExtenderStage(const std::vector<AdmittedPod>& admitted,
                                     const std::string& nodes_file, int rounds, std::ostream& out);

}  // namespace mpshare::demo
