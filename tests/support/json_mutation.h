#pragma once

// Structure-level mutation for property tests of JSON readers: replaces one
// node, found by a random walk from the root, with one of `replacements`, so
// the input stays JSON and reaches the reader's deeper checks.

#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

namespace mpshare::testing_support {

inline void mutateTree(nlohmann::json& node, std::mt19937& rng,
                       const std::vector<nlohmann::json>& replacements, int depth = 0) {
  if ((node.is_object() || node.is_array()) && !node.empty() && depth < 12 && rng() % 4 != 0) {
    auto it = node.begin();
    std::advance(it, rng() % node.size());
    mutateTree(*it, rng, replacements, depth + 1);
    return;
  }
  node = replacements[rng() % replacements.size()];
}

}  // namespace mpshare::testing_support
