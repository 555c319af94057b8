#pragma once

// The ledger: per-GPU reservations (threads, memory, clients) keyed by pod UID.
//
// Invariant: for every GPU, reserved memory <= capacity, clients <= limit and
// threads <= 100 x oversubscription. reserve() checks and commits in one step;
// record() (pods placed by someone else) always records and reports overcommit.
//
// LedgerState is a plain value without locking, so a simulator can evaluate every
// node for a pod without copying the cluster; Ledger wraps it behind one mutex for
// the HTTP service.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/demand.h"
#include "core/inventory.h"
#include "core/result.h"

namespace mpshare::core {

struct GpuUsage {
  int threads = 0;
  int64_t memory_mib = 0;
  int clients = 0;

  bool operator==(const GpuUsage&) const = default;
};

struct GpuState {
  GpuCapacity capacity;
  GpuUsage reserved;
  std::vector<std::string> pods;  // UIDs, in reservation order

  [[nodiscard]] int freeThreads() const { return capacity.threads - reserved.threads; }
  [[nodiscard]] int64_t freeMemoryMiB() const { return capacity.memory_mib - reserved.memory_mib; }
  [[nodiscard]] int freeClients() const { return capacity.clients - reserved.clients; }
  // Whether `demand` fits in what is left.
  [[nodiscard]] bool fits(const GpuDemand& demand) const {
    return demand.threads <= freeThreads() && demand.memory_mib <= freeMemoryMiB() &&
           demand.clients <= freeClients();
  }
  // Whether reserved stays within capacity in every dimension.
  [[nodiscard]] bool withinBudget() const {
    return freeThreads() >= 0 && freeMemoryMiB() >= 0 && freeClients() >= 0;
  }

  bool operator==(const GpuState&) const = default;
};

struct NodeState {
  NodeCapacity capacity;
  std::vector<GpuState> gpus;  // same order as capacity.gpus
  int64_t reserved_cpu_milli = 0;
  int64_t reserved_memory_mib = 0;

  [[nodiscard]] const std::string& name() const { return capacity.name; }
  // Host budgets; true when not tracked (capacity 0).
  [[nodiscard]] bool hostFits(const Demand& demand) const;
  // The GPU with device ordinal `index`, or nullptr.
  [[nodiscard]] const GpuState* gpu(int index) const;

  bool operator==(const NodeState&) const = default;
};

// One pod's placement as committed.
struct Reservation {
  std::string uid;
  std::string pod_key;  // "namespace/name"
  std::string node;
  std::vector<int> gpu_indices;    // device ordinals; one entry for MPS pods
  std::vector<GpuDemand> per_gpu;  // taken from each GPU, parallel to gpu_indices
  int64_t cpu_milli = 0;
  int64_t host_memory_mib = 0;
  bool overcommitted = false;  // recorded over budget (placed by another scheduler)
  // Nonzero while the commit that followed the reservation has an unknown
  // outcome (its reply and the check after it were lost): the share stays held,
  // since the commit may have landed, until something settles it. A stamp unique
  // to each failed commit, so a settler can tell a later failure of the same pod
  // from the one it saw.
  uint64_t unsettled = 0;

  bool operator==(const Reservation&) const = default;
};

// What a caller asks to commit: the pod, the node, the GPUs chosen there.
struct ReserveRequest {
  std::string uid;
  std::string pod_key;
  std::string node;
  std::vector<int> gpu_indices;
  Demand demand;
};

// Deterministic, sorted view for GET /state and restart comparisons.
struct LedgerSnapshot {
  std::vector<NodeState> nodes;           // sorted by name; GPU pods lists sorted
  std::vector<Reservation> reservations;  // sorted by UID

  bool operator==(const LedgerSnapshot&) const = default;
};

class LedgerState {
 public:
  // Adds a node or replaces its capacity. Reservations on GPUs that still exist
  // are kept (and re-counted); those on vanished GPUs are dropped and their UIDs
  // returned, so nothing points at a GPU that is gone.
  std::vector<std::string> upsertNode(NodeCapacity capacity);
  // Removes a node and every reservation on it; returns the released UIDs.
  std::vector<std::string> removeNode(const std::string& name);

  // Check-and-commit. Idempotent per UID: the same UID again returns the existing
  // reservation unchanged (even if the request differs). Errors: kNotFound (node
  // or GPU index unknown), kInvalidArgument (wrong GPU count for the demand or a
  // GPU listed twice), kConflict (it no longer fits; message says what is free).
  Result<Reservation> reserve(const ReserveRequest& request);

  // Records a placement made elsewhere (e.g. by another scheduler). Always
  // records, even over budget, and sets `overcommitted` when it is. Same UID again
  // replaces the previous record. Fails only when the node or a GPU is unknown.
  Result<Reservation> record(const ReserveRequest& request);

  // Drops the UID's reservation; false when there was none.
  bool release(const std::string& uid);
  // Marks the UID's reservation unsettled with a new stamp (true), or settled
  // (false); returns the stamp (0 when settled or when there is no reservation).
  uint64_t setUnsettled(const std::string& uid, bool unsettled);

  [[nodiscard]] const NodeState* node(const std::string& name) const;
  [[nodiscard]] const Reservation* reservation(const std::string& uid) const;
  // Sorted by node name.
  [[nodiscard]] const std::map<std::string, NodeState>& nodes() const { return nodes_; }
  [[nodiscard]] const std::map<std::string, Reservation>& reservations() const {
    return reservations_;
  }
  [[nodiscard]] LedgerSnapshot snapshot() const;
  // First broken budget found, e.g. "node-a GPU1: memory 50000 MiB > 40960 MiB"
  // (overcommitted records excluded), or "" when the invariant holds.
  [[nodiscard]] std::string checkInvariant() const;

 private:
  [[nodiscard]] Result<Reservation> prepare(const ReserveRequest& request) const;
  void apply(const Reservation& reservation, int sign);

  std::map<std::string, NodeState> nodes_;
  std::map<std::string, Reservation> reservations_;
  uint64_t last_stamp_ = 0;
};

// Thread-safe ledger for the HTTP service: every operation takes one mutex, so a
// reserve is check-and-commit and racing binds never overcommit a GPU.
class Ledger {
 public:
  std::vector<std::string> upsertNode(NodeCapacity capacity);
  std::vector<std::string> removeNode(const std::string& name);
  Result<Reservation> reserve(const ReserveRequest& request);
  Result<Reservation> record(const ReserveRequest& request);
  bool release(const std::string& uid);
  uint64_t setUnsettled(const std::string& uid, bool unsettled);
  std::optional<Reservation> reservation(const std::string& uid) const;
  LedgerSnapshot snapshot() const;

  // Runs `visit` with the state under the lock, without copying it. Keep it short:
  // filter and prioritize evaluate every candidate node this way.
  // Example: ledger.read([&](const LedgerState& s) { count = s.nodes().size(); });
  void read(const std::function<void(const LedgerState&)>& visit) const;
  // Runs `update` with the state under the lock (e.g. choose a GPU and reserve it
  // atomically in bind).
  void write(const std::function<void(LedgerState&)>& update);

 private:
  mutable std::mutex mutex_;
  LedgerState state_;
};

}  // namespace mpshare::core
