#pragma once

// mpshare-extender's configuration: one YAML document with an `extender:` mapping.
//
//   extender:
//     urlPrefix: /scheduler              # verbs are served under it
//     nodeSelector: {mpshare.io/mps: enabled}
//     gpuResourceNames: [nvidia.com/gpu, nvidia.com/gpu.shared]
//     policy: binpack                    # or spread
//     threadOversubscription: 1.0        # >= 1.0
//     maxClientsPerGpu: 48               # caps nvidia.com/gpu.replicas, 1..48
//     defaultThreadPercentage: 100       # for GPU pods without annotations
//     defaultMemoryLimit: 8Gi            # ditto; absent = the whole GPU's memory
//     minMemoryLimit: 256Mi              # same floor the webhook applies
//     maxLearnedNodes: 5000              # standalone: nodes learned from requests

#include <istream>
#include <string>

#include "core/demand.h"
#include "core/inventory.h"
#include "core/result.h"

namespace mpshare::extender {

struct ExtenderConfig {
  std::string url_prefix = "/scheduler";
  core::InventoryConfig inventory;
  core::DemandRules demand;
  std::string policy = "binpack";
  // Standalone mode: how many nodes the extender learns from Nodes-form
  // requests (besides the --nodes file); further new names are refused, so
  // requests cannot grow memory and /metrics without bound. 0 learns none.
  size_t max_learned_nodes = 5000;
};

// Parses and validates `in`. Unknown keys are rejected; every error names the full
// path and what is allowed, e.g.
//   extender.threadOversubscription: must be a number >= 1.0, got "0.5"
// An empty document gives the defaults.
core::Result<ExtenderConfig> parseConfig(std::istream& in);

}  // namespace mpshare::extender
