#include "core/policy_registry.h"

#include <algorithm>
#include <array>

#include "core/fgd_plus_policy.h"
#include "core/pod_distribution.h"

namespace mpshare::core {
namespace {

std::vector<PodType> typicalPods(const PolicyInputs& inputs) {
  if (!inputs.pod_types.empty()) {
    return inputs.pod_types;
  }
  DistributionView builtin;
  builtin.shapes = builtinPodShapes();
  return builtin.podTypes();
}

std::unique_ptr<PlacementPolicy> makeFgd(const PolicyInputs& inputs) {
  return makeFgdPolicy(typicalPods(inputs));
}

std::unique_ptr<PlacementPolicy> makeFgdPlus(const PolicyInputs& inputs) {
  return makeFgdPlusPolicy(typicalPods(inputs), inputs.gpus_by_model, FgdPlusOptions{});
}

// To offer another policy live, add a line here (the default stays first).
constexpr std::array kPolicies{
    // fgd-plus placing the queue's pods in planned batches (core/pending_plan.h).
    PolicyEntry{"fgd-plus-batch", true, &makeFgdPlus, true, true},
    PolicyEntry{"fgd-plus", true, &makeFgdPlus, true},
    PolicyEntry{"fgd", true, &makeFgd},
    PolicyEntry{"binpack", false, [](const PolicyInputs&) { return makeBinpackPolicy(); }},
    PolicyEntry{"spread", false, [](const PolicyInputs&) { return makeSpreadPolicy(); }},
};

}  // namespace

std::span<const PolicyEntry> livePolicies() { return kPolicies; }

const PolicyEntry* findLivePolicy(std::string_view name) {
  const auto it = std::find_if(kPolicies.begin(), kPolicies.end(),
                               [&](const PolicyEntry& e) { return e.name == name; });
  return it == kPolicies.end() ? nullptr : &*it;
}

std::string livePolicyNames() {
  std::string names;
  for (const PolicyEntry& e : kPolicies) {
    names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  return names;
}

std::string_view defaultPolicyName() { return kPolicies[0].name; }

Result<std::unique_ptr<PlacementPolicy>> makePolicy(std::string_view name,
                                                    const PolicyInputs& inputs) {
  const PolicyEntry* entry = findLivePolicy(name);
  if (entry == nullptr) {
    return invalidArgument(
        "policy", "\"" + std::string(name) + "\" is not a policy; known: " + livePolicyNames());
  }
  return entry->make(inputs);
}

Result<std::unique_ptr<PlacementPolicy>> makePolicy(std::string_view name) {
  return makePolicy(name, PolicyInputs{});
}

}  // namespace mpshare::core
