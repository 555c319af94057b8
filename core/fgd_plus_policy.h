#pragma once

// fgd-plus: FGD (core/fgd_policy.h) that also charges for GPUs of scarce models.
//
// A model is scarce when typical pods that may run only on some models ask for
// much of it. Its pressure is the share of the workload's GPU ask bound to the
// model divided by the model's share of the cluster's GPUs (1: the bound ask
// alone is as large as the model's share of the cluster). Taking g GPUs of a
// model adds scarcity_weight x pressure x g (in GPUs) to the fragmentation
// growth FGD scores by, so pods that could run anywhere leave the scarce models
// to the pods that cannot. FGD's own measure barely sees this: using a free
// GPU is never a fragment. Everything else is FGD's: the typical pods, the GPU
// choice, the integer score 0..100 and leaving equal scores to the node order.
// Where no typical pod is bound to a model (or with scarcity_weight 0) it scores
// exactly as fgd.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/fgd_policy.h"
#include "core/placement.h"

namespace mpshare::core {

struct FgdPlusOptions {
  // GPUs of fragmentation charged per GPU taken at pressure 1. Tuned on the
  // trace's gpuspec lists (docs/packing.md, "Beyond FGD").
  double scarcity_weight = 1.0;
};

// Pressure per GPU model (see above). `types` as for FGD, weights summing to 1;
// `gpus_by_model` the cluster's GPUs per nvidia.com/gpu.product. A type bound to
// several models spreads its ask over them by their GPU counts. Models no
// bound type asks for have pressure 0 (and are absent).
// Example: 1,000 GPUs of which 100 T4; typical pods: half ask 1 GPU anywhere,
// half 1 GPU on T4 only -> T4: (0.5 / 1) / (100 / 1000) = 5.
std::map<std::string, double> modelPressure(const std::vector<PodType>& types,
                                            const std::map<std::string, int>& gpus_by_model);

// The policy; name() is "fgd-plus".
std::unique_ptr<PlacementPolicy> makeFgdPlusPolicy(std::vector<PodType> types,
                                                   const std::map<std::string, int>& gpus_by_model,
                                                   FgdPlusOptions options);

}  // namespace mpshare::core
