#pragma once

// The extender's behaviour, independent of HTTP: filter, prioritize and bind over
// the ledger, with the inventory fed through InventorySink. Thread-safe: every
// verb may run concurrently; bind chooses and reserves under the ledger's lock.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ledger.h"
#include "core/placement.h"
#include "core/pod_distribution.h"
#include "core/policy_registry.h"
#include "core/score_memo.h"
#include "extender/config.h"
#include "extender/metrics.h"
#include "extender/pending_planner.h"
#include "extender/seams.h"
#include "extender/wire.h"

namespace mpshare::extender {

// How a bind ended; bindStatusLabel() gives mpshare_extender_binds_total's label.
enum class BindStatus {
  kBound,        // reserved and committed
  kNoFit,        // the node has no room left for the pod (another bind took it)
  kUnknownPod,   // not seen by filter or prioritize
  kUnknownNode,  // not a node mpshare manages
  kInvalid,      // the pod's GPU annotations are invalid
  kBinderError,  // the Binder (the API server, in cluster mode) refused or failed
};
// "bound", "no_fit", "unknown_pod", "unknown_node", "invalid", "binder_error".
std::string_view bindStatusLabel(BindStatus status);

struct BindOutcome {
  BindStatus status = BindStatus::kBound;
  std::string error;  // "" when bound; else the text for the Error field
};

// How a filter ended; routes.cc maps it onto the request's outcome label.
enum class FilterStatus {
  kEvaluated,   // every candidate judged (passing none is still an answer)
  kInvalidPod,  // the pod's GPU annotations are invalid: no node judged, Error set
};

struct FilterOutcome {
  FilterStatus status = FilterStatus::kEvaluated;
  FilterResult result;
};

class ExtenderService : public InventorySink {
 public:
  // `pods` and `binder` must outlive the service; `metrics` may be null.
  ExtenderService(ExtenderConfig config, PodLookup& pods, Binder& binder,
                  ExtenderMetrics* metrics = nullptr);

  // InventorySink: a node that is not selected is ignored (and removed if it was
  // known); a selected node with missing or malformed labels is remembered as
  // rejected with the reason, and filter fails it with that reason.
  void upsertNode(const core::NodeView& node) override;
  void removeNode(const std::string& name) override;

  // Which candidate nodes can take the pod. Nodes form: the request's nodes are
  // also upserted into the inventory. A pod asking for no GPU passes everywhere.
  // A filter that leaves no node is logged at INFO, one line with the pod and
  // the first reasons:
  //   no node fits pod pod=ml/p demand="30% threads / 4096 MiB" nodes=5
  //     reasons="gpu-a: ...; gpu-b: ...; gpu-c: ...; and 2 more"
  // (or error="..." for a pod whose annotations are invalid: status
  // kInvalidPod, and result.error says why).
  FilterOutcome filterPod(const ExtenderArgs& args);
  // filterPod's answer alone.
  FilterResult filter(const ExtenderArgs& args) { return filterPod(args).result; }
  // 0..10 per candidate; 0 where the pod does not fit. With a plan for the pod
  // (fgd-plus-batch) that still fits, its planned node gets 10 and no other node
  // more than 9.
  std::vector<HostScore> prioritize(const ExtenderArgs& args);
  // Chooses the GPU (the planned ones when the pod is bound to its planned
  // node and they still fit), reserves it and commits through the Binder. Each bind is
  // logged, one line: INFO `pod bound pod=ml/p node=gpu-a gpu=0 demand="30% threads
  // / 4096 MiB"`, or WARN `bind refused pod=ml/p node=gpu-a outcome=no_fit
  // error="..."` (the scheduler then retries the pod).
  BindOutcome bindPod(const BindingArgs& args);
  // bindPod's Error field text: "" on success.
  std::string bind(const BindingArgs& args) { return bindPod(args).error; }

  [[nodiscard]] const ExtenderConfig& config() const { return config_; }
  [[nodiscard]] core::Ledger& ledger() { return ledger_; }
  [[nodiscard]] const core::Ledger& ledger() const { return ledger_; }
  // Selected nodes whose labels are unusable: name -> reason.
  [[nodiscard]] std::map<std::string, std::string> rejectedNodes() const;
  [[nodiscard]] ExtenderMetrics* metrics() const { return metrics_; }

  // Counts a GPU pod into the typical-pod distribution (when the policy uses
  // one): every pod filter sees, every bind, and, in cluster mode, every placed
  // pod the ledger records. `key` is the pod UID; a pod already in the window
  // is not counted again. Rebuilds the policy when the distribution moved.
  // `products`: the GPU products the pod is bound to (core/gpu_models.h), kept
  // only for a policy that uses them (fgd-plus); empty = any.
  void observePod(const std::string& key, const core::Demand& demand,
                  std::vector<std::string> products = {});
  // The distribution the policy uses now; nullopt when the policy uses none.
  [[nodiscard]] std::optional<core::DistributionView> podDistribution() const;
  // The policy in use (replaced as the distribution moves; a caller's copy stays valid).
  [[nodiscard]] std::shared_ptr<const core::PlacementPolicy> policy() const;
  // Where the pod watch feeds the pods waiting for a node, when the policy
  // plans them (fgd-plus-batch); nullptr for the other policies.
  [[nodiscard]] PendingPodSink* pendingSink();
  // The planner of the waiting pods (fgd-plus-batch), or nullptr.
  [[nodiscard]] PendingPlanner* planner() { return planner_.get(); }
  [[nodiscard]] const PendingPlanner* planner() const { return planner_.get(); }

 private:
  // The pod's demand, or nullopt for a pod without GPUs; an error for bad annotations.
  core::Result<std::optional<core::Demand>> demandOf(const core::PodView& pod) const;
  void syncRequestNodes(const ExtenderArgs& args);
  // For a policy that uses the cluster's GPUs per product (fgd-plus): counts
  // them and rebuilds the policy when they changed since the last call, so its
  // pressure is worked out once per change, not per node. The rebuilt policy
  // empties the score memo (core/score_memo.h), whose scores carry the old one.
  void refreshGpuModels();
  // Why `name` is not a candidate at all (unknown, rejected), or "".
  std::string notCandidate(const std::string& name) const;

  const ExtenderConfig config_;
  const core::PolicyEntry* policy_entry_;
  mutable std::mutex policy_mutex_;
  std::shared_ptr<const core::PlacementPolicy> policy_;
  // Guards distribution_; taken before policy_mutex_, never under the ledger's lock.
  mutable std::mutex distribution_mutex_;
  std::optional<core::PodDistribution> distribution_;  // when the policy uses pod types
  std::map<std::string, int> gpus_by_model_;           // guarded by distribution_mutex_
  PodLookup& pods_;
  Binder& binder_;
  ExtenderMetrics* metrics_;
  core::Ledger ledger_;
  mutable std::mutex rejected_mutex_;
  std::map<std::string, std::string> rejected_;
  // Prioritize's scores by node content (core/score_memo.h): most nodes of a
  // call hold the same as another node or as in the last call. Taken under
  // the ledger's lock, never before it.
  std::mutex score_memo_mutex_;
  core::ScoreMemo score_memo_;
  // Last: its thread reads the members above, so it stops first.
  std::unique_ptr<PendingPlanner> planner_;
};

}  // namespace mpshare::extender
