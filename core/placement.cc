#include "core/placement.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace mpshare::core {
namespace {

// How close a GPU comes to fitting: the smaller of free/needed over threads and
// memory (>= 1 would fit). Picks the "best" GPU a rejection reason points at.
double closeness(const GpuState& gpu, const GpuDemand& need) {
  const double t = need.threads > 0
                       ? static_cast<double>(gpu.freeThreads()) / static_cast<double>(need.threads)
                       : 1.0;
  const double m = need.memory_mib > 0 ? static_cast<double>(gpu.freeMemoryMiB()) /
                                             static_cast<double>(need.memory_mib)
                                       : 1.0;
  return std::min(t, m);
}

std::string explainHost(const NodeState& node, const Demand& demand) {
  const int64_t free_cpu = node.capacity.cpu_milli - node.reserved_cpu_milli;
  if (node.capacity.cpu_milli != 0 && demand.cpu_milli > free_cpu) {
    return node.name() + ": host CPU " + std::to_string(demand.cpu_milli) + "m asked, " +
           std::to_string(free_cpu) + "m free";
  }
  const int64_t free_mem = node.capacity.memory_mib - node.reserved_memory_mib;
  return node.name() + ": host memory " + std::to_string(demand.host_memory_mib) + " MiB asked, " +
         std::to_string(free_mem) + " MiB free";
}

}  // namespace

std::vector<const GpuState*> fittingGpus(const NodeState& node, const Demand& demand) {
  std::vector<const GpuState*> fitting;
  fitting.reserve(node.gpus.size());
  for (const GpuState& gpu : node.gpus) {
    if (gpu.fits(resolveOn(demand, gpu.capacity))) {
      fitting.push_back(&gpu);
    }
  }
  return fitting;
}

std::string explainNoFit(const NodeState& node, const Demand& demand) {
  if (!node.hostFits(demand)) {
    return explainHost(node, demand);
  }
  if (node.gpus.empty()) {
    return node.name() + ": has no GPUs";
  }
  if (demand.gpus > 1) {
    const auto fitting = fittingGpus(node, demand);
    std::string names;
    for (const GpuState* gpu : fitting) {
      names +=
          (names.empty() ? "" : ", ") + std::string("GPU") + std::to_string(gpu->capacity.index);
    }
    return node.name() + ": " + std::to_string(demand.gpus) + " whole GPUs asked, " +
           std::to_string(fitting.size()) + " free" + (names.empty() ? "" : " (" + names + ")");
  }
  const bool no_client_slot =
      std::all_of(node.gpus.begin(), node.gpus.end(),
                  [](const GpuState& gpu) { return gpu.freeClients() <= 0; });
  if (no_client_slot) {
    const GpuState& first = node.gpus.front();
    return node.name() + ": no GPU has a free MPS client slot (" +
           std::to_string(first.reserved.clients) + " of " +
           std::to_string(first.capacity.clients) + " used on every GPU)";
  }
  // Closeness is negative on a GPU already over budget (pods placed outside
  // mpshare are recorded even when they do not fit), so the first candidate
  // is the best until a closer one comes.
  const GpuState* best = nullptr;
  double best_closeness = 0.0;
  for (const GpuState& gpu : node.gpus) {
    if (gpu.freeClients() <= 0) {
      continue;
    }
    const double c = closeness(gpu, resolveOn(demand, gpu.capacity));
    if (best == nullptr || c > best_closeness) {
      best_closeness = c;
      best = &gpu;
    }
  }
  return node.name() + ": no GPU fits " + demand.describe() + " (best: GPU" +
         std::to_string(best->capacity.index) + " has " + std::to_string(best->freeThreads()) +
         "% / " + std::to_string(best->freeMemoryMiB()) + " MiB free)";
}

int toNodeScore(double score) {
  if (!std::isfinite(score)) {
    return kMinNodeScore;
  }
  const long rounded = std::lround(score * kMaxNodeScore);
  return static_cast<int>(std::clamp<long>(rounded, kMinNodeScore, kMaxNodeScore));
}

bool fitsNode(const NodeState& node, const Demand& demand) {
  if (!node.hostFits(demand)) {
    return false;
  }
  const int needed = std::max(1, demand.gpus);
  int fitting = 0;
  for (const GpuState& gpu : node.gpus) {
    if (gpu.fits(resolveOn(demand, gpu.capacity)) && ++fitting >= needed) {
      return true;
    }
  }
  return false;
}

bool PlacementPolicy::fits(const NodeState& node, const Demand& demand) const {
  return fitsNode(node, demand);
}

namespace {

// FNV-1a: a fixed order of names that does not follow how they were numbered.
uint64_t tieHash(std::string_view name) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : name) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return hash;
}

}  // namespace

bool tieOrderBefore(std::string_view a, std::string_view b) {
  return std::pair(tieHash(a), a) < std::pair(tieHash(b), b);
}

std::vector<int> rankedNodeScores(const std::vector<ScoredNode>& nodes) {
  std::vector<int> out(nodes.size(), kMinNodeScore);
  std::optional<double> best;
  std::optional<double> lowest;
  for (const ScoredNode& node : nodes) {
    if (node.score) {
      best = best ? std::max(*best, *node.score) : *node.score;
      lowest = lowest ? std::min(*lowest, *node.score) : *node.score;
    }
  }
  if (!best) {
    return out;
  }
  std::optional<size_t> first;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& score = nodes[i].score;
    if (!score) {
      continue;
    }
    if (*score >= *best - kScoreTie) {
      out[i] = kMaxNodeScore - 1;
      if (!first || tieOrderBefore(nodes[i].name, nodes[*first].name)) {
        first = i;
      }
    } else {
      const double position = (*score - *lowest) / (*best - *lowest);
      out[i] = static_cast<int>(std::clamp<long>(std::lround(position * (kMaxNodeScore - 2)),
                                                 kMinNodeScore, kMaxNodeScore - 2));
    }
  }
  out[*first] = kMaxNodeScore;
  return out;
}

}  // namespace mpshare::core
