#pragma once

// What fgd-plus (core/fgd_plus_policy.h) needs of a live cluster: which GPU
// products a pod may run on and how many GPUs of each product the cluster has.
//
// A pod is bound to a product by its node selector on the product label the
// inventory reads (mpshare.io/gpu.product, else nvidia.com/gpu.product): the
// scheduler then offers it only nodes of that product. Node affinity is not
// read: a pod bound by affinity alone counts as able to run anywhere.

#include <map>
#include <string>
#include <vector>

#include "core/ledger.h"
#include "core/pod.h"

namespace mpshare::core {

// The products `pod` may run on: the value of its node selector on
// mpshare.io/gpu.product, else on nvidia.com/gpu.product (the order the
// inventory reads a node's product in); empty = any.
// Example: nodeSelector {nvidia.com/gpu.product: Tesla-T4} -> {"Tesla-T4"}.
std::vector<std::string> gpuProductsOf(const PodView& pod);

// GPUs per product over every node of the ledger; nodes without a product
// count under "". Example: 10 nodes x 8 H100 + 2 x 4 T4 -> {H100: 80, T4: 8}.
std::map<std::string, int> gpusByModel(const LedgerState& state);

}  // namespace mpshare::core
