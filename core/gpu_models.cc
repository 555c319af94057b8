#include "core/gpu_models.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <optional>
#include <set>
#include <string_view>

#include "core/gpu_device.h"
#include "core/inventory.h"

namespace mpshare::core {
namespace {

// A set of products; nullopt = any.
using Products = std::optional<std::set<std::string>>;

// The product labels in the order the inventory reads a node's product in.
constexpr std::array<std::string_view, 2> kProductLabels = {kAgentGpuProductLabel,
                                                            kGpuProductLabel};

Products intersect(const Products& a, const Products& b) {
  if (!a) return b;
  if (!b) return a;
  std::set<std::string> both;
  std::set_intersection(a->begin(), a->end(), b->begin(), b->end(),
                        std::inserter(both, both.end()));
  return both;
}

Products ofNodeSelector(const PodView& pod) {
  for (const std::string_view label : kProductLabels) {
    const auto it = pod.node_selector.find(std::string(label));
    if (it != pod.node_selector.end()) return std::set<std::string>{it->second};
  }
  return std::nullopt;
}

// The products one node selector term lets through: the values of its `In`
// expressions on the first product label that has one (ANDed when several);
// any other operator leaves the product open. An empty term matches no node.
Products ofTerm(const NodeSelectorTerm& term) {
  if (term.match_expressions.empty() && term.match_fields.empty()) {
    return std::set<std::string>{};
  }
  for (const std::string_view label : kProductLabels) {
    Products allowed;
    for (const NodeSelectorRequirement& r : term.match_expressions) {
      if (r.key != label || r.op != "In") continue;
      allowed = intersect(allowed, std::set<std::string>(r.values.begin(), r.values.end()));
    }
    if (allowed) return allowed;
  }
  return std::nullopt;
}

// The union over the terms (a node must match one of them).
Products ofRequiredAffinity(const PodView& pod) {
  if (pod.required_node_terms.empty()) return std::nullopt;
  std::set<std::string> any_of;
  for (const NodeSelectorTerm& term : pod.required_node_terms) {
    const Products allowed = ofTerm(term);
    if (!allowed) return std::nullopt;
    any_of.insert(allowed->begin(), allowed->end());
  }
  return any_of;
}

}  // namespace

std::vector<std::string> gpuProductsOf(const PodView& pod) {
  const Products allowed = intersect(ofNodeSelector(pod), ofRequiredAffinity(pod));
  if (!allowed) return {};
  return {allowed->begin(), allowed->end()};
}

std::map<std::string, int> gpusByModel(const LedgerState& state) {
  std::map<std::string, int> gpus;
  for (const auto& [name, node] : state.nodes()) {
    gpus[node.capacity.gpu_product] += static_cast<int>(node.capacity.gpus.size());
  }
  return gpus;
}

}  // namespace mpshare::core
