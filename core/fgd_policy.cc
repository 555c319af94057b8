#include "core/fgd_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace mpshare::core {
namespace {

// A share within this of the asked one still counts as fitting: shares come from
// integer percentages and MiB, so exact comparisons would flip on rounding.
constexpr double kShareEpsilon = 1e-9;
// The paper's plugin returns an integer node score 0..100 (kube-scheduler's
// MaxNodeScore); placements whose fragmentation changes differ by less than a
// step score the same and are left to the scheduler's choice among equals.
constexpr double kScoreSteps = 100.0;

double freeShareAfter(const GpuState& gpu, const GpuDemand& take) {
  if (gpu.capacity.threads <= 0 || gpu.capacity.memory_mib <= 0) {
    return 0.0;
  }
  const double threads =
      static_cast<double>(gpu.freeThreads() - take.threads) / kThreadPercentPerGpu;
  const double memory = static_cast<double>(gpu.freeMemoryMiB() - take.memory_mib) /
                        static_cast<double>(gpu.capacity.memory_mib);
  return std::clamp(std::min(threads, memory), 0.0, 1.0);
}

bool productAllowed(const NodeShape& node, const PodType& type) {
  return type.products.empty() ||
         std::find(type.products.begin(), type.products.end(), node.product) != type.products.end();
}

bool gpuFits(const NodeShape& node, size_t gpu, const PodType& type) {
  return node.has_client_slot[gpu] && node.free_share[gpu] + kShareEpsilon >= type.share;
}

class FgdPolicy : public PlacementPolicy {
 public:
  explicit FgdPolicy(std::vector<PodType> types) : types_(normalisePodTypes(std::move(types))) {}

  [[nodiscard]] std::string_view name() const override { return "fgd"; }

  [[nodiscard]] NodeChoice choose(const NodeState& node, const Demand& demand) const override {
    NodeChoice choice;
    if (!node.hostFits(demand)) {
      choice.reason = explainNoFit(node, demand);
      return choice;
    }
    const NodeShape before = shapeOf(node);
    const double frag_before = nodeFragmentation(before, types_);
    NodeShape after = before;
    if (after.cpu_tracked) {
      after.free_cpu_milli -= demand.cpu_milli;
    }
    if (after.memory_tracked) {
      after.free_memory_mib -= demand.host_memory_mib;
    }
    if (demand.gpus <= 0) {
      choice.fits = true;
      choice.score = scoreOf(nodeFragmentation(after, types_) - frag_before);
      return choice;
    }
    const auto fitting = fittingGpus(node, demand);
    if (fitting.empty() || static_cast<int>(fitting.size()) < demand.gpus) {
      choice.reason = explainNoFit(node, demand);
      return choice;
    }
    // Position of a GPU in node.gpus (and so in the shape).
    auto slot = [&](const GpuState* gpu) { return static_cast<size_t>(gpu - node.gpus.data()); };
    auto take = [&](NodeShape& shape, const GpuState* gpu) {
      const size_t i = slot(gpu);
      shape.free_share[i] = freeShareAfter(*gpu, resolveOn(demand, gpu->capacity));
      shape.has_client_slot[i] = gpu->freeClients() > 1;
    };
    if (demand.gpus == 1) {
      double best = std::numeric_limits<double>::infinity();
      for (const GpuState* gpu : fitting) {
        NodeShape trial = after;
        take(trial, gpu);
        const double increase = nodeFragmentation(trial, types_) - frag_before;
        // Strictly better only: ties keep the lowest ordinal, so runs are reproducible.
        if (increase < best - kShareEpsilon) {
          best = increase;
          choice.gpu_indices = {gpu->capacity.index};
        }
      }
      choice.fits = true;
      choice.score = scoreOf(best);
      return choice;
    }
    // Whole GPUs: every fitting GPU is entirely free, so which ones does not change
    // the fragmentation; take the lowest ordinals.
    for (int i = 0; i < demand.gpus; ++i) {
      take(after, fitting[static_cast<size_t>(i)]);
      choice.gpu_indices.push_back(fitting[static_cast<size_t>(i)]->capacity.index);
    }
    choice.fits = true;
    choice.score = scoreOf(nodeFragmentation(after, types_) - frag_before);
    return choice;
  }

 private:
  static double scoreOf(double increase) {
    return std::floor(kScoreSteps / (1.0 + std::exp(increase))) / kScoreSteps;
  }

  std::vector<PodType> types_;
};

}  // namespace

double usableFreeShare(const GpuState& gpu) { return freeShareAfter(gpu, GpuDemand{0, 0, 0}); }

NodeShape shapeOf(const NodeState& node) {
  NodeShape shape;
  shape.product = node.capacity.gpu_product;
  shape.cpu_tracked = node.capacity.cpu_milli != 0;
  shape.memory_tracked = node.capacity.memory_mib != 0;
  shape.free_cpu_milli = node.capacity.cpu_milli - node.reserved_cpu_milli;
  shape.free_memory_mib = node.capacity.memory_mib - node.reserved_memory_mib;
  shape.free_share.reserve(node.gpus.size());
  shape.has_client_slot.reserve(node.gpus.size());
  for (const GpuState& gpu : node.gpus) {
    shape.free_share.push_back(usableFreeShare(gpu));
    shape.has_client_slot.push_back(gpu.freeClients() > 0);
  }
  return shape;
}

double typeFragmentation(const NodeShape& node, const PodType& type) {
  double total = 0.0;
  double unusable = 0.0;
  int fitting = 0;
  for (size_t i = 0; i < node.free_share.size(); ++i) {
    total += node.free_share[i];
    if (type.gpus > 0 && gpuFits(node, i, type)) {
      ++fitting;
    } else {
      unusable += node.free_share[i];
    }
  }
  const bool host_ok = (!node.cpu_tracked || node.free_cpu_milli >= type.cpu_milli) &&
                       (!node.memory_tracked || node.free_memory_mib >= type.host_memory_mib);
  // A host-only type uses no GPU, so all free GPU capacity is a fragment to it.
  if (type.gpus <= 0 || !host_ok || !productAllowed(node, type) || fitting < type.gpus) {
    return total;
  }
  return unusable;
}

double nodeFragmentation(const NodeShape& node, const std::vector<PodType>& types) {
  double sum = 0.0;
  for (const PodType& type : types) {
    sum += type.weight * typeFragmentation(node, type);
  }
  return sum;
}

std::vector<PodType> normalisePodTypes(std::vector<PodType> types) {
  std::erase_if(types, [](const PodType& t) { return !(t.weight > 0.0); });
  double total = 0.0;
  for (const PodType& t : types) {
    total += t.weight;
  }
  for (PodType& t : types) {
    t.weight /= total;
  }
  return types;
}

std::unique_ptr<PlacementPolicy> makeFgdPolicy(std::vector<PodType> types) {
  return std::make_unique<FgdPolicy>(std::move(types));
}

}  // namespace mpshare::core
