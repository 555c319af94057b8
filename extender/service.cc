#include "extender/service.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "core/gpu_models.h"
#include "platform/logging.h"

namespace mpshare::extender {
namespace {

// Whether `demand` could ever fit on `node`, even with nothing reserved: when it
// cannot, preemption would not help, so the scheduler is told not to try.
bool fitsWhenEmpty(const core::NodeState& node, const core::Demand& demand) {
  const auto& cap = node.capacity;
  if ((cap.cpu_milli != 0 && demand.cpu_milli > cap.cpu_milli) ||
      (cap.memory_mib != 0 && demand.host_memory_mib > cap.memory_mib)) {
    return false;
  }
  int fitting = 0;
  for (const core::GpuCapacity& gpu : cap.gpus) {
    const core::GpuDemand need = core::resolveOn(demand, gpu);
    if (need.threads <= gpu.threads && need.memory_mib <= gpu.memory_mib &&
        need.clients <= gpu.clients) {
      ++fitting;
    }
  }
  return fitting >= demand.gpus;
}

std::string selectorText(const core::InventoryConfig& inventory) {
  std::string text;
  for (const auto& [key, value] : inventory.node_selector) {
    text += (text.empty() ? "" : ",") + key + "=" + value;
  }
  return text;
}

// Why a pod its batch placed nowhere passes no node.
constexpr std::string_view kWaitsForItsBatch =
    "waiting: the pods planned with it (policy fgd-plus-batch) place more GPU capacity without "
    "it; planned again as soon as one of them is bound or leaves the queue";

// Reasons quoted in full in a "no node fits pod" line; the rest are counted.
constexpr size_t kLoggedReasons = 3;

// The first kLoggedReasons reasons in request order, then how many were left out:
// "gpu-a: ...; gpu-b: ...; gpu-c: ...; and 2 more".
std::string reasonsText(const FilterResult& result, const std::vector<std::string>& names) {
  std::string text;
  size_t shown = 0;
  for (const std::string& name : names) {
    if (shown == kLoggedReasons) break;
    auto it = result.failed.find(name);
    if (it == result.failed.end()) {
      it = result.failed_unresolvable.find(name);
      if (it == result.failed_unresolvable.end()) continue;
    }
    text += (shown++ == 0 ? "" : "; ") + it->second;
  }
  const size_t failed = result.failed.size() + result.failed_unresolvable.size();
  if (failed > shown) text += "; and " + std::to_string(failed - shown) + " more";
  return text;
}

// The ledger's key of a pod: its UID, or its namespace/name for pods without one
// (hand-written requests).
std::string podKey(const core::PodView& pod) {
  return pod.uid.empty() ? "key:" + pod.key() : pod.uid;
}

std::string gpuList(const std::vector<int>& indices) {
  std::string text;
  for (const int index : indices) text += (text.empty() ? "" : ",") + std::to_string(index);
  return text;
}

}  // namespace

std::string_view bindStatusLabel(BindStatus status) {
  switch (status) {
    case BindStatus::kBound:
      return "bound";
    case BindStatus::kNoFit:
      return "no_fit";
    case BindStatus::kUnknownPod:
      return "unknown_pod";
    case BindStatus::kUnknownNode:
      return "unknown_node";
    case BindStatus::kInvalid:
      return "invalid";
    case BindStatus::kBinderError:
      return "binder_error";
  }
  return "binder_error";
}

ExtenderService::ExtenderService(ExtenderConfig config, PodLookup& pods, Binder& binder,
                                 ExtenderMetrics* metrics)
    : config_(std::move(config)),
      policy_entry_(core::findLivePolicy(config_.policy)),
      pods_(pods),
      binder_(binder),
      metrics_(metrics) {
  // parseConfig() validated the name; a bad one here is a caller's bug, so fall
  // back to the default rather than serve without a policy.
  if (policy_entry_ == nullptr) {
    platform::logError(
        "unknown placement policy, using the default",
        {{"policy", config_.policy}, {"default", std::string(core::defaultPolicyName())}});
    policy_entry_ = core::findLivePolicy(core::defaultPolicyName());
  }
  core::PolicyInputs inputs;
  if (policy_entry_->uses_pod_types) {
    distribution_.emplace(config_.pod_window, config_.pod_seed);
    inputs.pod_types = distribution_->view().podTypes();
  }
  policy_ = policy_entry_->make(inputs);
  if (policy_entry_->plans_pending) {
    PlannerSources sources;
    sources.cluster = [this](std::vector<core::NodeState>& nodes, std::set<std::string>& reserved) {
      ledger_.read([&](const core::LedgerState& state) {
        nodes.reserve(state.nodes().size());
        for (const auto& [name, node] : state.nodes()) nodes.push_back(node);
        for (const auto& [uid, reservation] : state.reservations()) reserved.insert(uid);
      });
    };
    sources.policy = [this] {
      refreshGpuModels();
      return policy();
    };
    sources.types = [this] {
      std::lock_guard lock(distribution_mutex_);
      return distribution_->view().podTypes();
    };
    planner_ = std::make_unique<PendingPlanner>(config_.plan, std::move(sources), metrics_);
  }
}

void ExtenderService::observePod(const std::string& key, const core::Demand& demand,
                                 std::vector<std::string> products) {
  core::PodShape shape = core::shapeOfDemand(demand);
  if (policy_entry_->uses_gpu_models) {
    std::sort(products.begin(), products.end());
    shape.products = std::move(products);
  }
  std::lock_guard lock(distribution_mutex_);
  if (!distribution_ ||
      !distribution_->observe(key, std::move(shape), std::chrono::steady_clock::now())) {
    return;
  }
  core::PolicyInputs inputs;
  inputs.pod_types = distribution_->view().podTypes();
  inputs.gpus_by_model = gpus_by_model_;
  std::shared_ptr<const core::PlacementPolicy> rebuilt = policy_entry_->make(inputs);
  std::lock_guard swap(policy_mutex_);
  policy_ = std::move(rebuilt);
}

void ExtenderService::refreshGpuModels() {
  if (!policy_entry_->uses_gpu_models) {
    return;
  }
  std::map<std::string, int> gpus;
  ledger_.read([&](const core::LedgerState& state) { gpus = core::gpusByModel(state); });
  std::lock_guard lock(distribution_mutex_);  // never under the ledger's lock
  if (gpus == gpus_by_model_) {
    return;
  }
  gpus_by_model_ = std::move(gpus);
  core::PolicyInputs inputs;
  inputs.pod_types = distribution_->view().podTypes();
  inputs.gpus_by_model = gpus_by_model_;
  std::shared_ptr<const core::PlacementPolicy> rebuilt = policy_entry_->make(inputs);
  std::lock_guard swap(policy_mutex_);
  policy_ = std::move(rebuilt);
}

std::optional<core::DistributionView> ExtenderService::podDistribution() const {
  std::lock_guard lock(distribution_mutex_);
  if (!distribution_) {
    return std::nullopt;
  }
  return distribution_->view();
}

std::shared_ptr<const core::PlacementPolicy> ExtenderService::policy() const {
  std::lock_guard lock(policy_mutex_);
  return policy_;
}

PendingPodSink* ExtenderService::pendingSink() { return planner_.get(); }

void ExtenderService::upsertNode(const core::NodeView& node) {
  if (!core::isManagedNode(node, config_.inventory)) {
    removeNode(node.name);
    return;
  }
  auto capacity = core::nodeCapacityFromLabels(node, config_.inventory);
  if (!capacity) {
    {
      std::lock_guard lock(rejected_mutex_);
      rejected_[node.name] = node.name + ": " + capacity.error().describe();
    }
    ledger_.removeNode(node.name);
    return;
  }
  {
    std::lock_guard lock(rejected_mutex_);
    rejected_.erase(node.name);
  }
  bool changed = true;
  if (planner_) {
    ledger_.read([&](const core::LedgerState& state) {
      const core::NodeState* known = state.node(node.name);
      changed = known == nullptr || !(known->capacity == *capacity);
    });
  }
  ledger_.upsertNode(std::move(*capacity));
  if (planner_ && changed) planner_->nodesChanged();
}

void ExtenderService::removeNode(const std::string& name) {
  {
    std::lock_guard lock(rejected_mutex_);
    rejected_.erase(name);
  }
  bool known = false;
  if (planner_) {
    ledger_.read([&](const core::LedgerState& state) { known = state.node(name) != nullptr; });
  }
  ledger_.removeNode(name);
  if (known) planner_->nodesChanged();
}

std::map<std::string, std::string> ExtenderService::rejectedNodes() const {
  std::lock_guard lock(rejected_mutex_);
  return rejected_;
}

core::Result<std::optional<core::Demand>> ExtenderService::demandOf(
    const core::PodView& pod) const {
  auto demand = core::demandOf(pod, config_.demand);
  if (!demand) {
    core::Error error = demand.error();
    error.message = "pod " + pod.key() + ": " + error.describe();
    error.field.clear();
    return error;
  }
  return demand;
}

void ExtenderService::syncRequestNodes(const ExtenderArgs& args) {
  // Only nodes whose capacity changed take the write lock; the common case is a
  // read-locked comparison.
  std::vector<const core::NodeView*> changed;
  std::vector<core::Result<core::NodeCapacity>> capacities;
  capacities.reserve(args.nodes.size());
  for (const core::NodeView& node : args.nodes) {
    capacities.push_back(core::isManagedNode(node, config_.inventory)
                             ? core::nodeCapacityFromLabels(node, config_.inventory)
                             : core::Result<core::NodeCapacity>(core::Error{}));
  }
  ledger_.read([&](const core::LedgerState& state) {
    for (size_t i = 0; i < args.nodes.size(); ++i) {
      const core::NodeState* known = state.node(args.nodes[i].name);
      if (!capacities[i].ok() || known == nullptr || !(known->capacity == *capacities[i])) {
        changed.push_back(&args.nodes[i]);
      }
    }
  });
  for (const core::NodeView* node : changed) {
    upsertNode(*node);
  }
}

std::string ExtenderService::notCandidate(const std::string& name) const {
  {
    std::lock_guard lock(rejected_mutex_);
    if (const auto it = rejected_.find(name); it != rejected_.end()) {
      return it->second;
    }
  }
  return name + ": not an MPS-shared GPU node known to mpshare (needs label " +
         selectorText(config_.inventory) + " and GPU Feature Discovery labels)";
}

FilterOutcome ExtenderService::filterPod(const ExtenderArgs& args) {
  FilterOutcome outcome;
  FilterResult& result = outcome.result;
  auto demand = demandOf(args.pod);
  if (!demand) {
    outcome.status = FilterStatus::kInvalidPod;
    result.error = demand.error().message;
    platform::logInfo("no node fits pod", {{"pod", args.pod.key()}, {"error", result.error}});
    return outcome;
  }
  pods_.remember(args.pod);
  if (!demand->has_value()) {
    result.passed = args.node_names;  // not a GPU pod: nothing of ours to check
    return outcome;
  }
  if (args.nodes_form) {
    syncRequestNodes(args);
  }
  const core::Demand& want = **demand;
  const std::string uid = podKey(args.pod);
  observePod(uid, want, core::gpuProductsOf(args.pod));
  const auto policy = this->policy();
  // Its batch places more GPU capacity without it (fgd-plus-batch): it waits
  // for the pods planned into the room it would take (extender/pending_planner.h).
  const bool waits = planner_ && planner_->waitsForItsBatch(uid);
  std::vector<std::string> unknown;
  result.passed.reserve(args.node_names.size());
  ledger_.read([&](const core::LedgerState& state) {
    // A retry after a bind whose outcome is unknown: the pod's share is held
    // on that node (it may be bound there), and bindPod refuses every other
    // node until the share is settled, so only that node is offered.
    const core::Reservation* held = state.reservation(uid);
    const bool unsettled = held != nullptr && held->unsettled != 0;
    for (const std::string& name : args.node_names) {
      const core::NodeState* node = state.node(name);
      if (node == nullptr) {
        unknown.push_back(name);
        continue;
      }
      if (unsettled) {
        if (name == held->node) {
          result.passed.push_back(name);
        } else {
          result.failed[name] = name + ": the pod holds a share on " + held->node +
                                " from a bind whose outcome is not known yet";
        }
        continue;
      }
      if (waits) {
        // Unresolvable: evicting pods (preemption) would not make it fit, and
        // kube-scheduler must not try.
        result.failed_unresolvable[name] = name + ": " + std::string(kWaitsForItsBatch);
        continue;
      }
      // Only whether it fits: scoring is prioritize's (and costs fgd the most).
      if (policy->fits(*node, want)) {
        result.passed.push_back(name);
      } else if (!fitsWhenEmpty(*node, want)) {
        result.failed_unresolvable[name] = core::explainNoFit(*node, want);
      } else {
        result.failed[name] = core::explainNoFit(*node, want);
      }
    }
  });
  for (const std::string& name : unknown) {
    result.failed_unresolvable[name] = notCandidate(name);
  }
  if (metrics_ != nullptr) {
    metrics_->filtered(result.passed.size(),
                       result.failed.size() + result.failed_unresolvable.size());
  }
  if (result.passed.empty() && !args.node_names.empty()) {
    // A waiting pod has one reason for every node: said once.
    const std::string reasons =
        waits ? std::string(kWaitsForItsBatch) : reasonsText(result, args.node_names);
    platform::logInfo("no node fits pod", {{"pod", args.pod.key()},
                                           {"demand", want.describe()},
                                           {"nodes", std::to_string(args.node_names.size())},
                                           {"reasons", reasons}});
  }
  return outcome;
}

std::vector<HostScore> ExtenderService::prioritize(const ExtenderArgs& args) {
  std::vector<HostScore> scores;
  scores.reserve(args.node_names.size());
  auto demand = demandOf(args.pod);
  if (demand) {
    pods_.remember(args.pod);
  }
  if (!demand || !demand->has_value()) {
    // Errors in prioritize are only logged by the scheduler; neutral scores are
    // the useful answer (filter already reported the pod's problem).
    for (const std::string& name : args.node_names) {
      scores.push_back({name, core::kMinNodeScore});
    }
    return scores;
  }
  if (args.nodes_form) {
    syncRequestNodes(args);
  }
  refreshGpuModels();
  const auto policy = this->policy();
  const std::optional<core::PlannedPlacement> plan =
      planner_ ? planner_->planFor(podKey(args.pod)) : std::nullopt;
  std::optional<size_t> planned;  // the candidate the plan chose, when it still fits
  std::vector<core::ScoredNode> scored;
  scored.reserve(args.node_names.size());
  ledger_.read([&](const core::LedgerState& state) {
    // Taken once per call, under the ledger's lock (never the other way round).
    std::lock_guard memo(score_memo_mutex_);
    for (const std::string& name : args.node_names) {
      const core::NodeState* node = state.node(name);
      std::optional<double> score;
      if (node != nullptr) {
        score = score_memo_.score(policy, *node, **demand);
        if (plan && score && name == plan->node &&
            core::fitsOnGpus(*node, **demand, plan->gpu_indices)) {
          planned = scored.size();
        }
      }
      scored.push_back({name, score});
    }
  });
  if (policy->scoreScale() == core::ScoreScale::kRanked) {
    const std::vector<int> ranked = core::rankedNodeScores(scored);
    for (size_t i = 0; i < scored.size(); ++i) {
      scores.push_back({args.node_names[i], ranked[i]});
    }
  } else {
    for (size_t i = 0; i < scored.size(); ++i) {
      const auto& score = scored[i].score;
      scores.push_back(
          {args.node_names[i], score ? core::toNodeScore(*score) : core::kMinNodeScore});
    }
  }
  if (plan && !planned) {
    planner_->planMissed(podKey(args.pod));  // not offered, or no longer fitting
  }
  if (planned) {
    for (HostScore& s : scores) s.score = std::min<int64_t>(s.score, core::kMaxNodeScore - 1);
    scores[*planned].score = core::kMaxNodeScore;
  }
  return scores;
}

BindOutcome ExtenderService::bindPod(const BindingArgs& args) {
  const std::string key = args.pod_namespace + "/" + args.pod_name;
  // Counts, logs and returns the end of one bind.
  const auto done = [&](BindStatus status, std::string error, const core::Demand* demand = nullptr,
                        const std::vector<int>* gpus = nullptr) {
    if (metrics_ != nullptr) {
      metrics_->bind(std::string(bindStatusLabel(status)));
    }
    if (status == BindStatus::kBound) {
      platform::LogFields fields{{"pod", key}, {"node", args.node}};
      if (demand != nullptr && gpus != nullptr) {
        fields.emplace_back("gpu", gpuList(*gpus));
        fields.emplace_back("demand", demand->describe());
      }
      platform::logInfo("pod bound", fields);
    } else {
      platform::logWarn("bind refused", {{"pod", key},
                                         {"node", args.node},
                                         {"outcome", std::string(bindStatusLabel(status))},
                                         {"error", error}});
    }
    return BindOutcome{status, std::move(error)};
  };
  const std::optional<core::PodView> pod =
      pods_.find(args.pod_uid, args.pod_namespace, args.pod_name);
  if (!pod) {
    return done(BindStatus::kUnknownPod,
                "pod " + key + " (uid " + args.pod_uid +
                    ") was not seen by filter or prioritize, so its GPU demand is unknown; retry "
                    "scheduling it");
  }
  auto demand = demandOf(*pod);
  if (!demand) {
    return done(BindStatus::kInvalid, demand.error().message);
  }
  if (!demand->has_value()) {
    const core::Status bound = binder_.bind(BindRequest{&*pod, args.node, {}});
    if (!bound) {
      return done(BindStatus::kBinderError,
                  "binding " + key + " to " + args.node + ": " + bound.error().describe());
    }
    return done(BindStatus::kBound, "");
  }
  const std::string uid = podKey(*pod);
  observePod(uid, **demand, core::gpuProductsOf(*pod));
  const auto policy = this->policy();
  const std::optional<core::PlannedPlacement> plan =
      planner_ ? planner_->planFor(uid) : std::nullopt;
  std::string plan_outcome = plan ? (plan->node == args.node ? "stale" : "elsewhere") : "unplanned";
  std::string error;
  BindStatus refusal = BindStatus::kNoFit;
  std::optional<core::Reservation> reserved;
  bool already = false;
  bool was_unsettled = false;
  ledger_.write([&](core::LedgerState& state) {
    if (const core::Reservation* existing = state.reservation(uid)) {
      if (existing->node == args.node) {
        reserved = *existing;  // a retried bind whose reply was lost
        // An unsettled share is this retry's own from here: settled while it
        // is in flight (so no relist releases it under the POST), released if
        // it fails, held again if its outcome is unknown too.
        already = existing->unsettled == 0;
        was_unsettled = !already;
        state.setUnsettled(uid, false);
      } else if (existing->unsettled != 0) {
        // The earlier Binding may have landed there: moving the share now
        // would free it while the pod may hold it. The watch, a relist or the
        // pod's deletion settles it (extender/cluster/cluster_cache.h).
        error = "pod " + key + " holds a share on " + existing->node +
                " from a bind whose outcome is not known yet (its reply was lost); retry on " +
                existing->node + " or once the pod's state is known";
      } else {
        error = "pod " + key + " already holds a reservation on " + existing->node;
      }
      return;
    }
    const core::NodeState* node = state.node(args.node);
    if (node == nullptr) {
      error = notCandidate(args.node);
      refusal = BindStatus::kUnknownNode;
      return;
    }
    core::NodeChoice choice;
    if (plan && plan->node == args.node && core::fitsOnGpus(*node, **demand, plan->gpu_indices)) {
      choice.fits = true;
      choice.gpu_indices = plan->gpu_indices;
      plan_outcome = "followed";
    } else {
      choice = policy->choose(*node, **demand);
    }
    if (!choice.fits) {
      // Another pod's bind took the room after this pod's filter: retry.
      error = choice.reason;
      return;
    }
    auto result =
        state.reserve(core::ReserveRequest{uid, key, args.node, choice.gpu_indices, **demand});
    if (!result) {
      error = result.error().describe();
      return;
    }
    reserved = std::move(*result);
  });
  if (!reserved) {
    return done(refusal, std::move(error));
  }
  // A binder that throws must not leave the reservation behind: the route
  // answers 500 and the scheduler retries, so the GPU would be held twice.
  core::Status bound;
  try {
    bound = binder_.bind(BindRequest{&*pod, args.node, reserved->gpu_indices});
  } catch (...) {
    if (was_unsettled) {
      ledger_.setUnsettled(uid, true);  // still unknown whether the earlier one landed
    } else if (!already) {
      ledger_.release(uid);
    }
    throw;
  }
  if (!bound && bound.error().code == core::ErrorCode::kUnavailable && !already) {
    // The Binding may have landed with its reply lost: released now, the share
    // could be given to another pod before the watch brings this one in, and
    // the GPU would be held twice. Held, marked unsettled, it is settled by
    // the watch showing the pod placed, its deletion, a relist that began
    // after now, or this pod's retry.
    ledger_.setUnsettled(uid, true);
  } else if (!bound && !already) {
    ledger_.release(uid);
  }
  if (!bound) {
    return done(BindStatus::kBinderError,
                "binding " + key + " to " + args.node + ": " + bound.error().describe());
  }
  if (planner_) {
    planner_->bound(uid);
    if (metrics_ != nullptr && !already) metrics_->planBind(plan_outcome);
  }
  return done(BindStatus::kBound, "", &**demand, &reserved->gpu_indices);
}

}  // namespace mpshare::extender
