#include "extender/pending_planner.h"

#include <algorithm>
#include <utility>

#include "core/batch_placement.h"
#include "platform/logging.h"

namespace mpshare::extender {

PendingPlanner::PendingPlanner(PlanConfig config, PlannerSources sources, ExtenderMetrics* metrics)
    : config_(std::move(config)), sources_(std::move(sources)), metrics_(metrics) {}

PendingPlanner::~PendingPlanner() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PendingPlanner::startLocked() {
  if (config_.in_background && !thread_.joinable() && !stop_) {
    thread_ = std::thread([this] { run(); });
  }
}

void PendingPlanner::podPending(core::PendingPod pod) {
  {
    std::lock_guard lock(mutex_);
    auto [at, added] = waiting_.try_emplace(pod.uid);
    if (!added && at->second.pod == pod) {
      return;  // a status update: nothing the plan reads changed
    }
    at->second = Waiting{std::move(pod), false, false, false, std::nullopt, {}};
    startLocked();
  }
  wake_.notify_all();
}

void PendingPlanner::podNotPending(const std::string& uid) {
  {
    std::lock_guard lock(mutex_);
    if (waiting_.erase(uid) == 0) return;
    replanWaitingLocked();
  }
  wake_.notify_all();
}

void PendingPlanner::replanWaitingLocked() {
  for (auto& [uid, w] : waiting_) {
    if (w.planned && !w.placement && !w.policy_alone) w.planned = false;
  }
}

bool PendingPlanner::waitsForItsBatch(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  const auto at = waiting_.find(uid);
  return at != waiting_.end() && at->second.planned && !at->second.placement &&
         !at->second.policy_alone && !expiredLocked(at->second, Clock::now());
}

void PendingPlanner::nodesChanged() {
  {
    std::lock_guard lock(mutex_);
    replanWaitingLocked();
    for (auto& [uid, w] : waiting_) {
      if (w.fits_nowhere) w.planned = false;
    }
  }
  wake_.notify_all();
}

void PendingPlanner::planMissed(const std::string& uid) {
  {
    std::lock_guard lock(mutex_);
    const auto at = waiting_.find(uid);
    if (at == waiting_.end() || at->second.policy_alone) return;
    at->second.policy_alone = true;
    at->second.placement.reset();
    replanWaitingLocked();
  }
  wake_.notify_all();
}

void PendingPlanner::keepOnlyPending(const std::set<std::string>& uids) {
  std::lock_guard lock(mutex_);
  if (std::erase_if(waiting_, [&](const auto& entry) { return uids.count(entry.first) == 0; }) >
      0) {
    replanWaitingLocked();
  }
}

void PendingPlanner::bound(const std::string& uid) { podNotPending(uid); }

bool PendingPlanner::expiredLocked(const Waiting& w, Clock::time_point now) const {
  return w.planned && now - w.planned_at >= config_.ttl;
}

size_t PendingPlanner::unplannedLocked(Clock::time_point now) const {
  return static_cast<size_t>(std::count_if(waiting_.begin(), waiting_.end(), [&](const auto& e) {
    return !e.second.planned || expiredLocked(e.second, now);
  }));
}

std::optional<core::PlannedPlacement> PendingPlanner::planFor(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  const auto at = waiting_.find(uid);
  if (at == waiting_.end() || !at->second.planned || at->second.policy_alone ||
      expiredLocked(at->second, Clock::now())) {
    return std::nullopt;
  }
  return at->second.placement;
}

PlannerStats PendingPlanner::stats() const {
  std::lock_guard lock(mutex_);
  PlannerStats stats;
  stats.pending = waiting_.size();
  const auto now = Clock::now();
  for (const auto& [uid, w] : waiting_) {
    if (w.placement && !w.policy_alone && !expiredLocked(w, now)) {
      ++stats.planned;
    }
  }
  stats.batches = batches_;
  stats.last_batch_seconds = last_batch_seconds_;
  return stats;
}

size_t PendingPlanner::planNow() {
  std::lock_guard one_batch(plan_mutex_);
  const auto started = Clock::now();
  // The batch: the first pods in queue order without a plan (or whose plan
  // expired); the room held by the other plans.
  std::vector<core::PendingPod> batch;
  std::vector<std::pair<core::Demand, core::PlannedPlacement>> held;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [uid, w] : waiting_) {
      if (!w.planned || expiredLocked(w, started)) {
        batch.push_back(w.pod);
      } else if (w.placement && !w.policy_alone) {
        held.emplace_back(w.pod.demand, *w.placement);
      }
    }
  }
  if (batch.empty()) {
    return 0;
  }
  std::sort(batch.begin(), batch.end(), core::queuedBefore);
  if (batch.size() > config_.batch_size) {
    batch.resize(config_.batch_size);
  }

  std::vector<core::NodeState> nodes;
  std::set<std::string> reserved;
  sources_.cluster(nodes, reserved);
  const auto policy = sources_.policy();
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < nodes.size(); ++i) {
    by_name[nodes[i].name()] = i;
  }
  // The nodes the held plans change, as the ledger holds them.
  std::map<size_t, core::NodeState> ledger_state;
  for (const auto& [demand, placement] : held) {
    if (const auto at = by_name.find(placement.node); at != by_name.end()) {
      ledger_state.try_emplace(at->second, nodes[at->second]);
      core::addPlacement(nodes[at->second], demand, placement.gpu_indices);
    }
  }
  // Whether a pod fits on a node as the ledger stands (without the plans).
  const auto fitsOnLedger = [&](const core::PendingPod& pod) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      const auto saved = ledger_state.find(i);
      if (core::podFits(*policy, saved == ledger_state.end() ? nodes[i] : saved->second, pod)) {
        return true;
      }
    }
    return false;
  };
  // Pods already holding a reservation are being bound: the plan leaves them out.
  std::vector<core::PendingPod> to_plan;
  for (const core::PendingPod& p : batch) {
    if (reserved.count(p.uid) == 0) to_plan.push_back(p);
  }
  std::map<std::string, core::PlannedPlacement> placements;
  if (!to_plan.empty()) {
    core::BatchOptions options;
    options.size = config_.batch_size;
    options.orders = config_.orders;
    const auto planned =
        core::planPending(nodes, to_plan, policy, scores_, sources_.types(), options, rng_);
    for (size_t i = 0; i < to_plan.size(); ++i) {
      if (planned[i]) placements.emplace(to_plan[i].uid, *planned[i]);
    }
  }
  // The pods left out that fit on no node anyway, and those being bound: no
  // plan, and no waiting either.
  std::set<std::string> being_bound;
  std::set<std::string> fits_nowhere;
  for (const core::PendingPod& p : batch) {
    if (placements.count(p.uid) > 0) continue;
    if (reserved.count(p.uid) > 0) {
      being_bound.insert(p.uid);
    } else if (!fitsOnLedger(p)) {
      fits_nowhere.insert(p.uid);
    }
  }
  const auto finished = Clock::now();
  const double seconds = std::chrono::duration<double>(finished - started).count();
  size_t planned = 0;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto at = waiting_.find(batch[i].uid);
      // Gone or changed while the batch was planned: the next batch has it.
      if (at == waiting_.end() || !(at->second.pod == batch[i])) {
        continue;
      }
      const auto placement = placements.find(batch[i].uid);
      at->second.planned = true;
      at->second.fits_nowhere = fits_nowhere.count(batch[i].uid) > 0;
      at->second.policy_alone = at->second.fits_nowhere || being_bound.count(batch[i].uid) > 0;
      at->second.placement = placement == placements.end()
                                 ? std::nullopt
                                 : std::optional<core::PlannedPlacement>(placement->second);
      at->second.planned_at = finished;
      planned += placement == placements.end() ? 0 : 1;
    }
    ++batches_;
    last_batch_seconds_ = seconds;
  }
  if (metrics_ != nullptr) {
    metrics_->planned(batch.size(), planned, seconds);
  }
  return batch.size();
}

void PendingPlanner::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    // Wake for pods without a plan; at least once per ttl, so expired plans
    // are planned again.
    wake_.wait_for(lock, config_.ttl, [&] { return stop_ || unplannedLocked(Clock::now()) > 0; });
    if (stop_) {
      break;
    }
    if (unplannedLocked(Clock::now()) == 0) {
      continue;
    }
    // Give a burst of arrivals the time to fill a batch.
    const auto settled = Clock::now() + config_.settle;
    wake_.wait_until(lock, settled,
                     [&] { return stop_ || unplannedLocked(Clock::now()) >= config_.batch_size; });
    if (stop_) {
      break;
    }
    lock.unlock();
    try {
      planNow();
    } catch (const std::exception& e) {
      platform::logError("planning the waiting pods failed", {{"error", e.what()}});
    }
    lock.lock();
  }
}

}  // namespace mpshare::extender
