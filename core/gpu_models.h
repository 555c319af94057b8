#pragma once

// What fgd-plus (core/fgd_plus_policy.h) needs of a live cluster: which GPU
// products a pod may run on and how many GPUs of each product the cluster has.
//
// A pod is bound to products by the product label the inventory reads
// (mpshare.io/gpu.product, else nvidia.com/gpu.product): by its node selector
// on it, by its required node affinity on it, or both; the scheduler then
// offers it only nodes of those products. Preferred node affinity is not read:
// it does not bound where a pod may run.

#include <map>
#include <string>
#include <vector>

#include "core/ledger.h"
#include "core/pod.h"

namespace mpshare::core {

// The products `pod` may run on, sorted, without repeats; empty = any.
// - node selector: its value on mpshare.io/gpu.product, else on
//   nvidia.com/gpu.product (the order the inventory reads a node's product in);
// - required node affinity (nodeSelectorTerms, ORed): a term allows the values
//   of its `In` expressions on the first of those labels one is on (ANDed
//   within the term); a term with no `In` on either label allows any product:
//   NotIn, Exists, DoesNotExist, Gt and Lt are not turned into a list (NotIn
//   would need every product the cluster has), so such a pod counts, as one
//   without affinity, as able to run anywhere; an empty term matches no node
//   and allows none;
// - both present: the products both allow.
// A pod that no product satisfies (disjoint values) is offered no node by the
// scheduler; it counts as able to run anywhere, which it never gets to use.
// Examples:
//   nodeSelector {nvidia.com/gpu.product: Tesla-T4}            -> {Tesla-T4}
//   terms [{nvidia.com/gpu.product In [V100, T4]}]              -> {T4, V100}
//   terms [{.. In [T4]}, {.. In [A10]}]                         -> {A10, T4}
//   terms [{.. In [T4]}, {kubernetes.io/arch In [amd64]}]       -> {} (any)
//   terms [{.. NotIn [T4]}]                                     -> {} (any)
//   nodeSelector T4 and terms [{.. In [T4, V100]}]              -> {T4}
std::vector<std::string> gpuProductsOf(const PodView& pod);

// GPUs per product over every node of the ledger; nodes without a product
// count under "". Example: 10 nodes x 8 H100 + 2 x 4 T4 -> {H100: 80, T4: 8}.
std::map<std::string, int> gpusByModel(const LedgerState& state);

}  // namespace mpshare::core
