#include "core/ledger.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

namespace mpshare::core {
namespace {

GpuState* findGpu(NodeState& node, int index) {
  for (GpuState& gpu : node.gpus) {
    if (gpu.capacity.index == index) {
      return &gpu;
    }
  }
  return nullptr;
}

std::string freeText(const GpuState& gpu) {
  return "GPU" + std::to_string(gpu.capacity.index) + " has " + std::to_string(gpu.freeThreads()) +
         "% / " + std::to_string(gpu.freeMemoryMiB()) + " MiB / " +
         std::to_string(gpu.freeClients()) + " clients free";
}

}  // namespace

bool NodeState::hostFits(const Demand& demand) const {
  const bool cpu_ok =
      capacity.cpu_milli == 0 || demand.cpu_milli <= capacity.cpu_milli - reserved_cpu_milli;
  const bool mem_ok = capacity.memory_mib == 0 ||
                      demand.host_memory_mib <= capacity.memory_mib - reserved_memory_mib;
  return cpu_ok && mem_ok;
}

const GpuState* NodeState::gpu(int index) const {
  for (const GpuState& gpu : gpus) {
    if (gpu.capacity.index == index) {
      return &gpu;
    }
  }
  return nullptr;
}

std::vector<std::string> LedgerState::upsertNode(NodeCapacity capacity) {
  NodeState fresh;
  fresh.capacity = std::move(capacity);
  for (const GpuCapacity& gpu : fresh.capacity.gpus) {
    fresh.gpus.push_back(GpuState{gpu, {}, {}});
  }
  const std::string name = fresh.capacity.name;
  const auto existing = nodes_.find(name);
  std::vector<std::string> kept;
  if (existing != nodes_.end()) {
    std::set<std::string> uids;
    for (const GpuState& gpu : existing->second.gpus) {
      uids.insert(gpu.pods.begin(), gpu.pods.end());
    }
    kept.assign(uids.begin(), uids.end());
  }
  nodes_[name] = std::move(fresh);
  NodeState& node = nodes_[name];
  std::vector<std::string> dropped;
  // Re-count in reservation-map (UID) order so the result does not depend on history.
  for (const std::string& uid : kept) {
    const auto it = reservations_.find(uid);
    if (it == reservations_.end()) {
      continue;
    }
    const bool all_exist = std::all_of(it->second.gpu_indices.begin(), it->second.gpu_indices.end(),
                                       [&](int index) { return node.gpu(index) != nullptr; });
    if (!all_exist) {
      dropped.push_back(uid);
      reservations_.erase(it);
      continue;
    }
    apply(it->second, +1);
  }
  return dropped;
}

std::vector<std::string> LedgerState::removeNode(const std::string& name) {
  std::vector<std::string> released;
  const auto node = nodes_.find(name);
  if (node == nodes_.end()) {
    return released;
  }
  std::set<std::string> uids;
  for (const GpuState& gpu : node->second.gpus) {
    uids.insert(gpu.pods.begin(), gpu.pods.end());
  }
  nodes_.erase(node);
  for (const std::string& uid : uids) {
    reservations_.erase(uid);
    released.push_back(uid);
  }
  return released;
}

Result<Reservation> LedgerState::prepare(const ReserveRequest& request) const {
  if (request.uid.empty()) {
    return invalidArgument("PodUID", "is empty; every reservation is keyed by the pod's UID");
  }
  const auto node_it = nodes_.find(request.node);
  if (node_it == nodes_.end()) {
    return Error{ErrorCode::kNotFound, "Node",
                 "\"" + request.node + "\" is not a managed GPU node (unknown or not selected)"};
  }
  const NodeState& node = node_it->second;
  if (static_cast<int>(request.gpu_indices.size()) != request.demand.gpus) {
    return invalidArgument("gpu_indices", std::to_string(request.gpu_indices.size()) +
                                              " GPUs chosen for a pod that needs " +
                                              std::to_string(request.demand.gpus));
  }
  Reservation reservation;
  reservation.uid = request.uid;
  reservation.pod_key = request.pod_key;
  reservation.node = request.node;
  reservation.gpu_indices = request.gpu_indices;
  reservation.cpu_milli = request.demand.cpu_milli;
  reservation.host_memory_mib = request.demand.host_memory_mib;
  std::set<int> seen;
  for (int index : request.gpu_indices) {
    const GpuState* gpu = node.gpu(index);
    if (gpu == nullptr) {
      return Error{ErrorCode::kNotFound, "gpu_index",
                   request.node + " has no GPU" + std::to_string(index) + " (it has " +
                       std::to_string(node.gpus.size()) + " GPUs)"};
    }
    if (!seen.insert(index).second) {
      return invalidArgument("gpu_indices", "GPU" + std::to_string(index) + " is listed twice");
    }
    reservation.per_gpu.push_back(resolveOn(request.demand, gpu->capacity));
  }
  return reservation;
}

Result<Reservation> LedgerState::reserve(const ReserveRequest& request) {
  if (const auto existing = reservations_.find(request.uid); existing != reservations_.end()) {
    return existing->second;
  }
  auto prepared = prepare(request);
  if (!prepared) {
    return prepared.error();
  }
  const NodeState& node = nodes_.at(request.node);
  for (size_t i = 0; i < prepared->gpu_indices.size(); ++i) {
    const GpuState& gpu = *node.gpu(prepared->gpu_indices[i]);
    if (!gpu.fits(prepared->per_gpu[i])) {
      return Error{ErrorCode::kConflict, "",
                   request.node + ": GPU" + std::to_string(gpu.capacity.index) +
                       " no longer fits " + request.demand.describe() + " (" + freeText(gpu) + ")"};
    }
  }
  if (!node.hostFits(request.demand)) {
    return Error{ErrorCode::kConflict, "",
                 request.node + ": host CPU/memory no longer fits " +
                     std::to_string(request.demand.cpu_milli) + "m / " +
                     std::to_string(request.demand.host_memory_mib) + " MiB"};
  }
  apply(*prepared, +1);
  reservations_.emplace(prepared->uid, *prepared);
  return prepared;
}

Result<Reservation> LedgerState::record(const ReserveRequest& request) {
  auto prepared = prepare(request);
  if (!prepared) {
    return prepared.error();
  }
  release(request.uid);
  apply(*prepared, +1);
  const NodeState& node = nodes_.at(request.node);
  Demand nothing;
  nothing.gpus = 0;
  bool over = !node.hostFits(nothing);
  for (int index : prepared->gpu_indices) {
    over = over || !node.gpu(index)->withinBudget();
  }
  prepared->overcommitted = over;
  reservations_[prepared->uid] = *prepared;
  return prepared;
}

bool LedgerState::release(const std::string& uid) {
  const auto it = reservations_.find(uid);
  if (it == reservations_.end()) {
    return false;
  }
  apply(it->second, -1);
  reservations_.erase(it);
  return true;
}

uint64_t LedgerState::setUnsettled(const std::string& uid, bool unsettled) {
  const auto it = reservations_.find(uid);
  if (it == reservations_.end()) {
    return 0;
  }
  it->second.unsettled = unsettled ? ++last_stamp_ : 0;
  return it->second.unsettled;
}

void LedgerState::apply(const Reservation& reservation, int sign) {
  const auto node_it = nodes_.find(reservation.node);
  if (node_it == nodes_.end()) {
    return;
  }
  NodeState& node = node_it->second;
  node.reserved_cpu_milli += sign * reservation.cpu_milli;
  node.reserved_memory_mib += sign * reservation.host_memory_mib;
  for (size_t i = 0; i < reservation.gpu_indices.size(); ++i) {
    GpuState* gpu = findGpu(node, reservation.gpu_indices[i]);
    if (gpu == nullptr) {
      continue;
    }
    const GpuDemand& take = reservation.per_gpu[i];
    gpu->reserved.threads += sign * take.threads;
    gpu->reserved.memory_mib += sign * take.memory_mib;
    gpu->reserved.clients += sign * take.clients;
    if (sign > 0) {
      gpu->pods.push_back(reservation.uid);
    } else {
      std::erase(gpu->pods, reservation.uid);
    }
  }
}

const NodeState* LedgerState::node(const std::string& name) const {
  const auto it = nodes_.find(name);
  return it == nodes_.end() ? nullptr : &it->second;
}

const Reservation* LedgerState::reservation(const std::string& uid) const {
  const auto it = reservations_.find(uid);
  return it == reservations_.end() ? nullptr : &it->second;
}

LedgerSnapshot LedgerState::snapshot() const {
  LedgerSnapshot snapshot;
  snapshot.nodes.reserve(nodes_.size());
  for (const auto& [name, node] : nodes_) {
    snapshot.nodes.push_back(node);
    for (GpuState& gpu : snapshot.nodes.back().gpus) {
      std::sort(gpu.pods.begin(), gpu.pods.end());
    }
  }
  snapshot.reservations.reserve(reservations_.size());
  for (const auto& [uid, reservation] : reservations_) {
    snapshot.reservations.push_back(reservation);
  }
  return snapshot;
}

std::string LedgerState::checkInvariant() const {
  for (const auto& [name, node] : nodes_) {
    for (const GpuState& gpu : node.gpus) {
      if (gpu.withinBudget()) {
        continue;
      }
      const bool recorded_over =
          std::any_of(gpu.pods.begin(), gpu.pods.end(), [&](const auto& uid) {
            const Reservation* r = reservation(uid);
            return r != nullptr && r->overcommitted;
          });
      if (recorded_over) {
        continue;
      }
      return name + " GPU" + std::to_string(gpu.capacity.index) + ": reserved " +
             std::to_string(gpu.reserved.threads) + "% / " +
             std::to_string(gpu.reserved.memory_mib) + " MiB / " +
             std::to_string(gpu.reserved.clients) + " clients exceeds " +
             std::to_string(gpu.capacity.threads) + "% / " +
             std::to_string(gpu.capacity.memory_mib) + " MiB / " +
             std::to_string(gpu.capacity.clients) + " clients";
    }
  }
  return "";
}

std::vector<std::string> Ledger::upsertNode(NodeCapacity capacity) {
  std::lock_guard lock(mutex_);
  return state_.upsertNode(std::move(capacity));
}

std::vector<std::string> Ledger::removeNode(const std::string& name) {
  std::lock_guard lock(mutex_);
  return state_.removeNode(name);
}

Result<Reservation> Ledger::reserve(const ReserveRequest& request) {
  std::lock_guard lock(mutex_);
  return state_.reserve(request);
}

Result<Reservation> Ledger::record(const ReserveRequest& request) {
  std::lock_guard lock(mutex_);
  return state_.record(request);
}

bool Ledger::release(const std::string& uid) {
  std::lock_guard lock(mutex_);
  return state_.release(uid);
}

uint64_t Ledger::setUnsettled(const std::string& uid, bool unsettled) {
  std::lock_guard lock(mutex_);
  return state_.setUnsettled(uid, unsettled);
}

std::optional<Reservation> Ledger::reservation(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  const Reservation* found = state_.reservation(uid);
  return found == nullptr ? std::nullopt : std::optional<Reservation>(*found);
}

LedgerSnapshot Ledger::snapshot() const {
  std::lock_guard lock(mutex_);
  return state_.snapshot();
}

void Ledger::read(const std::function<void(const LedgerState&)>& visit) const {
  std::lock_guard lock(mutex_);
  visit(state_);
}

void Ledger::write(const std::function<void(LedgerState&)>& update) {
  std::lock_guard lock(mutex_);
  update(state_);
}

}  // namespace mpshare::core
