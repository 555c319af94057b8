#pragma once

// mpshare-extender's configuration: one YAML document with an `extender:` mapping.
//
//   extender:
//     urlPrefix: /scheduler              # verbs are served under it
//     nodeSelector: {mpshare.io/mps: enabled}
//     gpuResourceNames: [nvidia.com/gpu, nvidia.com/gpu.shared]
//     policy: fgd-plus-batch             # fgd-plus-batch (default), fgd-plus, fgd, binpack, spread
//     plan:                              # how fgd-plus-batch plans the pods waiting
//       schedulerName: mpshare-scheduler # pods of this scheduler are planned
//       batchSize: 16                    # pods planned together, 1..64
//       orders: 4                        # orders tried per batch, 1..16
//       settleMilliseconds: 10           # wait for more arrivals before planning, 0..1000
//       ttlSeconds: 60                   # a plan not used by then is dropped, 1..3600
//     podDistribution:                   # what fgd learns typical pods from
//       windowPods: 2000                 # the most recent GPU pods seen, 1..100000
//       windowSeconds: 0                 # and none older than this; 0 = no age limit
//       minPods: 200                     # the seed is used until the window holds this many
//       maxShapes: 16                    # most popular shapes fgd weighs, 1..256
//       seed: [{gpus: 1, gpuMilli: 300, gpuMemory: 8Gi, pods: 5}]  # absent = built-in
//     threadOversubscription: 1.0        # >= 1.0
//     maxClientsPerGpu: 48               # caps nvidia.com/gpu.replicas, 1..48
//     defaultThreadPercentage: 100       # for GPU pods without annotations
//     defaultMemoryLimit: 8Gi            # ditto; absent = the whole GPU's memory
//     minMemoryLimit: 256Mi              # same floor the webhook applies
//     maxLearnedNodes: 5000              # standalone: nodes learned from requests

#include <chrono>
#include <istream>
#include <string>
#include <vector>

#include "core/demand.h"
#include "core/inventory.h"
#include "core/pod_distribution.h"
#include "core/result.h"

namespace mpshare::extender {

// How a policy that plans the queue (fgd-plus-batch, core/pending_plan.h)
// plans the pods waiting for a node (cluster mode; standalone sees no queue).
struct PlanConfig {
  // Only pods with this spec.schedulerName are planned: the scheduler that
  // calls the extender never asks about the others.
  std::string scheduler_name = "mpshare-scheduler";
  size_t batch_size = 16;  // pods planned together (the simulator's fgd-plus-batch: 16)
  int orders = 4;          // orders tried per batch
  // Fewer than batch_size pods waiting: how long to wait for more before
  // planning those. Nobody waits on it: the scheduler places a pod it reaches
  // before its plan by the policy alone.
  std::chrono::milliseconds settle{10};
  // A planned pod the scheduler has not bound by then (its planned node
  // refused by kube-scheduler's own filters, say) stops holding room in later
  // plans, and is planned again with the next batch.
  std::chrono::seconds ttl{60};
  // Not a configuration key: false leaves planning to PendingPlanner::planNow()
  // (tests that drive the planner step by step).
  bool in_background = true;
};

struct ExtenderConfig {
  std::string url_prefix = "/scheduler";
  core::InventoryConfig inventory;
  core::DemandRules demand;
  std::string policy = "fgd-plus-batch";  // a name of core::livePolicies()
  PlanConfig plan;
  // The typical pods a policy that uses them (fgd) learns: window and seed
  // (empty = core::builtinPodShapes()).
  core::DistributionWindow pod_window;
  std::vector<core::ShapeCount> pod_seed;
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
