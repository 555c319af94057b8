#pragma once

// The extender's behaviour, independent of HTTP: filter, prioritize and bind over
// the ledger, with the inventory fed through InventorySink. Thread-safe: every
// verb may run concurrently; bind chooses and reserves under the ledger's lock.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/ledger.h"
#include "core/placement.h"
#include "extender/config.h"
#include "extender/metrics.h"
#include "extender/seams.h"
#include "extender/wire.h"

namespace mpshare::extender {

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
  FilterResult filter(const ExtenderArgs& args);
  // 0..10 per candidate; 0 where the pod does not fit.
  std::vector<HostScore> prioritize(const ExtenderArgs& args);
  // Chooses the GPU, reserves it and commits through the Binder. Returns "" on
  // success or the text for the Error field (the scheduler then retries the pod).
  std::string bind(const BindingArgs& args);

  [[nodiscard]] const ExtenderConfig& config() const { return config_; }
  [[nodiscard]] core::Ledger& ledger() { return ledger_; }
  [[nodiscard]] const core::Ledger& ledger() const { return ledger_; }
  // Selected nodes whose labels are unusable: name -> reason.
  [[nodiscard]] std::map<std::string, std::string> rejectedNodes() const;
  [[nodiscard]] ExtenderMetrics* metrics() const { return metrics_; }

 private:
  // The pod's demand, or nullopt for a pod without GPUs; an error for bad annotations.
  core::Result<std::optional<core::Demand>> demandOf(const core::PodView& pod) const;
  void syncRequestNodes(const ExtenderArgs& args);
  // Why `name` is not a candidate at all (unknown, rejected), or "".
  std::string notCandidate(const std::string& name) const;

  const ExtenderConfig config_;
  std::unique_ptr<core::PlacementPolicy> policy_;
  PodLookup& pods_;
  Binder& binder_;
  ExtenderMetrics* metrics_;
  core::Ledger ledger_;
  mutable std::mutex rejected_mutex_;
  std::map<std::string, std::string> rejected_;
};

}  // namespace mpshare::extender
