#pragma once

// The live half of fgd-plus-batch (core/pending_plan.h): the pods waiting for a
// node, fed by the pod watch (PendingPodSink), are planned in batches on the
// planner's own thread, and prioritize and bind ask it where a pod was planned.
//
// A batch is the first plan.batch_size pods in kube-scheduler's queue order
// that have no plan yet, planned as soon as that many are waiting or
// plan.settle after the first of them arrived. Plans made earlier and not yet
// bound keep their room: a batch is planned on the ledger plus those. A plan is
// dropped when its pod is bound (wherever), leaves the queue or changes, and
// after plan.ttl unused (the pod is then planned again with a later batch).
//
// The scheduler never waits for the planner: a pod it reaches first has no
// plan and is placed by the policy alone, and a plan that no longer fits when
// its pod comes is not followed (core::fitsOnGpus).
//
// A pod the batch placed nowhere though it fits on a node as the ledger stands
// (the batch places more GPU capacity without it: a small pod would take the
// room a larger one of the batch needs) waits: filter passes no node for it.
// It is planned again as soon as a pod leaves the queue (bound, or gone), a
// plan cannot be followed (its node not offered by kube-scheduler, or no
// longer fitting), the nodes change, or after plan.ttl; so it waits only for
// pods that are being placed.
//
// A pod that fits on no node does not wait: filter gives the nodes' own
// reasons, and kube-scheduler may preempt for it. It is planned again when the
// nodes change, or after plan.ttl.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/ledger.h"
#include "core/pending_plan.h"
#include "extender/config.h"
#include "extender/metrics.h"
#include "extender/seams.h"

namespace mpshare::extender {

// What the planner reads of the extender when it plans.
struct PlannerSources {
  // The nodes as the ledger holds them now, and the UIDs holding a
  // reservation there (bound, or being bound).
  std::function<void(std::vector<core::NodeState>& nodes, std::set<std::string>& reserved)> cluster;
  std::function<std::shared_ptr<const core::PlacementPolicy>()> policy;
  std::function<std::vector<core::PodType>()> types;  // weigh the fragmentation
};

// /state's view of the planner.
struct PlannerStats {
  size_t pending = 0;  // pods waiting, as the watch shows them
  size_t planned = 0;  // of those, with a placement planned and not expired
  uint64_t batches = 0;
  double last_batch_seconds = 0.0;
};

class PendingPlanner : public PendingPodSink {
 public:
  // `metrics` may be null. With `config.in_background` false nothing plans until
  // planNow() is called (tests).
  PendingPlanner(PlanConfig config, PlannerSources sources, ExtenderMetrics* metrics);
  ~PendingPlanner() override;
  PendingPlanner(const PendingPlanner&) = delete;
  PendingPlanner& operator=(const PendingPlanner&) = delete;

  void podPending(core::PendingPod pod) override;
  void podNotPending(const std::string& uid) override;
  void keepOnlyPending(const std::set<std::string>& uids) override;

  // Where `uid` is planned; nullopt when it has no plan (none yet, expired,
  // or it fit nowhere when planned).
  [[nodiscard]] std::optional<core::PlannedPlacement> planFor(const std::string& uid) const;
  // Whether `uid` waits because its batch placed it nowhere (see above).
  [[nodiscard]] bool waitsForItsBatch(const std::string& uid) const;
  // `uid`'s plan cannot be followed (its node not offered, or no longer
  // fitting): it is placed by the policy alone, its room is freed, and the
  // pods waiting for its batch are planned again.
  void planMissed(const std::string& uid);
  // The nodes changed (added, removed, relabelled): the pods waiting for
  // their batch, and those that fit on no node, are planned again.
  void nodesChanged();
  // `uid` was bound (wherever): it leaves the queue, and its plan frees its room.
  void bound(const std::string& uid);
  // Plans one batch of the pods without a plan, on the caller's thread; the
  // number of pods in it.
  size_t planNow();
  [[nodiscard]] PlannerStats stats() const;

 private:
  struct Waiting {
    core::PendingPod pod;
    bool planned = false;  // a batch has placed it (or found no node for it)
    // No plan to follow: its plan could not be followed, it fit on no node as
    // the ledger stood, or it was being bound when planned. The policy alone
    // places it; it does not wait.
    bool policy_alone = false;
    bool fits_nowhere = false;  // of those, fit on no node: new nodes may make room
    std::optional<core::PlannedPlacement> placement;
    std::chrono::steady_clock::time_point planned_at;
  };
  using Clock = std::chrono::steady_clock;

  void run();
  // Under mutex_.
  [[nodiscard]] bool expiredLocked(const Waiting& w, Clock::time_point now) const;
  [[nodiscard]] size_t unplannedLocked(Clock::time_point now) const;
  // The pods waiting for their batch are planned again.
  void replanWaitingLocked();
  void startLocked();

  const PlanConfig config_;
  const PlannerSources sources_;
  ExtenderMetrics* metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Waiting> waiting_;  // by UID
  bool stop_ = false;
  uint64_t batches_ = 0;
  double last_batch_seconds_ = 0.0;
  std::thread thread_;  // started with the first pending pod

  // One batch at a time (the thread, or a test's planNow()).
  std::mutex plan_mutex_;
  core::PlanScoreCache scores_;
  std::mt19937_64 rng_{0x6d707368617265ULL};
};

}  // namespace mpshare::extender
