#pragma once

// The placement policies the live extender offers, by name: the one table a new
// policy is added to (policy_registry.cc, kPolicies). Config validation, the
// extender's service and makePolicy() all read it, so a policy listed there is
// accepted by `extender.policy`, named in its error message and built by the
// service with no other change.

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/fgd_policy.h"
#include "core/placement.h"

namespace mpshare::core {

// What the extender hands a policy when it builds one.
struct PolicyInputs {
  // The typical pods, most popular first, weights summing to 1 (the learned
  // distribution, core/pod_distribution.h). Empty = the built-in distribution.
  std::vector<PodType> pod_types;
  // The cluster's GPUs per nvidia.com/gpu.product (core/gpu_models.h), for
  // policies with uses_gpu_models.
  std::map<std::string, int> gpus_by_model;
};

struct PolicyEntry {
  std::string_view name;
  // Whether the policy uses PolicyInputs::pod_types: the extender then learns
  // the distribution and rebuilds the policy as it moves.
  bool uses_pod_types = false;
  std::unique_ptr<PlacementPolicy> (*make)(const PolicyInputs& inputs) = nullptr;
  // Whether the policy uses PolicyInputs::gpus_by_model and the products the
  // typical pods are bound to: the extender then records the products and
  // rebuilds the policy when the cluster's GPUs per product change.
  bool uses_gpu_models = false;
  // Whether the extender plans the pods waiting for a node with this policy
  // (core/pending_plan.h) and follows the plan in prioritize and bind.
  bool plans_pending = false;
};

// Every live policy, the default first.
std::span<const PolicyEntry> livePolicies();
// The entry named `name`, or nullptr.
const PolicyEntry* findLivePolicy(std::string_view name);
// "fgd-plus-batch, fgd-plus, fgd, binpack, spread": for error messages.
std::string livePolicyNames();
// The default policy's name ("fgd-plus-batch").
std::string_view defaultPolicyName();

// Builds the policy `name` from `inputs`; an unknown name is an error listing the
// known ones.
Result<std::unique_ptr<PlacementPolicy>> makePolicy(std::string_view name,
                                                    const PolicyInputs& inputs);

}  // namespace mpshare::core
