#pragma once

// Remembers policy scores by what a node holds, not by its name. A policy's
// score for a node depends only on the node's budgets and reservations and the
// pod's demand, and many nodes of a cluster hold the same (empty nodes, full
// nodes); between two prioritize calls only the nodes a bind touched change.
// So prioritize asks the memo, which runs the policy once per distinct
// (node content, demand) and answers the rest from the table.
//
// A plain value without locking (the extender guards it). Memory is bounded:
// the table is emptied when it holds `max_entries` and gets another.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/demand.h"
#include "core/ledger.h"
#include "core/placement.h"

namespace mpshare::core {

// The bytes a score may depend on: the demand, the GPU product, the host
// budgets and reservations, and every GPU's ordinal, budgets and reservations
// in node order. Not the node's name nor which pods hold its reservations.
// Two nodes with the same key get the same score from every policy whose
// choose() scores from those alone (all of core's do; names only go into the
// rejection reason, which the memo does not keep). Written into `key`, reused
// between calls so the hot path allocates nothing once it has grown.
void writeScoreKey(const NodeState& node, const Demand& demand, std::string& key);

class ScoreMemo {
 public:
  explicit ScoreMemo(size_t max_entries = kDefaultMaxEntries) : max_entries_(max_entries) {}

  // choose(node, demand).score when the pod fits, nullopt when it does not, as
  // `policy` gives it. A policy other than the one the table was filled for
  // (a rebuilt fgd after the typical pods moved) empties the table first; the
  // memo keeps that policy alive so its address cannot be reused by another.
  std::optional<double> score(const std::shared_ptr<const PlacementPolicy>& policy,
                              const NodeState& node, const Demand& demand);

  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] uint64_t hits() const { return hits_; }
  [[nodiscard]] uint64_t misses() const { return misses_; }

  // A few thousand distinct node states cover a cluster of thousands of nodes
  // for a handful of pod shapes; each entry is about 300 bytes at 8 GPUs.
  static constexpr size_t kDefaultMaxEntries = 4096;

 private:
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };

  size_t max_entries_;
  std::shared_ptr<const PlacementPolicy> policy_;
  std::unordered_map<std::string, std::optional<double>, KeyHash, std::equal_to<>> entries_;
  std::string key_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace mpshare::core
