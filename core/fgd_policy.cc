#include "core/fgd_policy.h"

#include <algorithm>
#include <array>
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
// The inventory allows up to 64 GPUs a node; the fast path keeps them on the stack.
constexpr size_t kMaxFastGpus = 64;
// Pod types the fast path keeps on the stack (the extender allows at most 256).
constexpr size_t kMaxFastTypes = 256;

inline bool productAllowed(const std::string& product, const PodType& type) {
  return type.products.empty() ||
         std::find(type.products.begin(), type.products.end(), product) != type.products.end();
}

// What fragmentation sees of one GPU.
struct FreeGpu {
  double share = 0.0;         // usable free share, in [0, 1]
  bool slot = false;          // has a free MPS client slot
  double thread_share = 0.0;  // free threads / 100 (for types with absolute memory)
  int64_t memory_mib = 0;     // free memory (ditto)
};

inline FreeGpu freeGpuAfter(const GpuState& gpu, const GpuDemand& take) {
  return {freeShareAfter(gpu, take), gpu.freeClients() - take.clients > 0,
          static_cast<double>(gpu.freeThreads() - take.threads) / kThreadPercentPerGpu,
          gpu.freeMemoryMiB() - take.memory_mib};
}

// Whether a GPU with `free` has room for one GPU's worth of `type`. A type with
// an absolute memory size checks threads and memory apart, since the same MiB
// are a different share of GPUs of different sizes.
inline bool fitsType(const FreeGpu& free, const PodType& type) {
  if (!free.slot) {
    return false;
  }
  if (type.gpu_memory_mib > 0) {
    return free.thread_share + kShareEpsilon >= type.share &&
           free.memory_mib >= type.gpu_memory_mib;
  }
  return free.share + kShareEpsilon >= type.share;
}

bool hostOk(const NodeShape& node, const PodType& type) {
  return (!node.cpu_tracked || node.free_cpu_milli >= type.cpu_milli) &&
         (!node.memory_tracked || node.free_memory_mib >= type.host_memory_mib);
}

bool sameBudget(const GpuState& a, const GpuState& b) {
  return a.reserved == b.reserved && a.capacity.threads == b.capacity.threads &&
         a.capacity.memory_mib == b.capacity.memory_mib && a.capacity.clients == b.capacity.clients;
}

class FgdPolicy : public PlacementPolicy {
 public:
  explicit FgdPolicy(std::vector<PodType> types) : types_(normalisePodTypes(std::move(types))) {}

  [[nodiscard]] std::string_view name() const override { return "fgd"; }
  [[nodiscard]] ScoreScale scoreScale() const override { return ScoreScale::kRanked; }

  [[nodiscard]] NodeChoice choose(const NodeState& node, const Demand& demand) const override {
    NodeChoice choice;
    if (!node.hostFits(demand)) {
      choice.reason = explainNoFit(node, demand);
      return choice;
    }
    if (demand.gpus == 1 && node.gpus.size() <= kMaxFastGpus && types_.size() <= kMaxFastTypes) {
      return chooseOneGpu(node, demand);
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
    // Whole GPUs: every fitting GPU is entirely free, so which ones does not change
    // the fragmentation; take the lowest ordinals.
    for (int i = 0; i < demand.gpus; ++i) {
      const GpuState* gpu = fitting[static_cast<size_t>(i)];
      const auto at = static_cast<size_t>(gpu - node.gpus.data());
      const FreeGpu free = freeGpuAfter(*gpu, resolveOn(demand, gpu->capacity));
      after.free_share[at] = free.share;
      after.has_client_slot[at] = free.slot;
      after.free_thread_share[at] = free.thread_share;
      after.free_gpu_memory_mib[at] = free.memory_mib;
      choice.gpu_indices.push_back(gpu->capacity.index);
    }
    choice.fits = true;
    choice.score = scoreOf(nodeFragmentation(after, types_) - frag_before);
    return choice;
  }

 private:
  static double scoreOf(double increase) {
    return std::floor(kScoreSteps / (1.0 + std::exp(increase))) / kScoreSteps;
  }

  // One GPU: the growth of trying each fitting GPU, worked out per pod type from
  // what changes on that GPU alone, rather than re-measuring the whole node for
  // every candidate (filter and prioritize run this for every node of a call).
  // GPUs with the same budget and reservations give the same growth, so only the
  // first of them is tried.
  [[nodiscard]] NodeChoice chooseOneGpu(const NodeState& node, const Demand& demand) const {
    NodeChoice choice;
    const size_t n = node.gpus.size();
    std::array<FreeGpu, kMaxFastGpus> before;
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) {
      before[i] = freeGpuAfter(node.gpus[i], GpuDemand{0, 0, 0});
      total += before[i].share;
    }
    NodeShape host;  // host budgets only, after the pod
    host.cpu_tracked = node.capacity.cpu_milli != 0;
    host.memory_tracked = node.capacity.memory_mib != 0;
    host.free_cpu_milli = node.capacity.cpu_milli - node.reserved_cpu_milli - demand.cpu_milli;
    host.free_memory_mib =
        node.capacity.memory_mib - node.reserved_memory_mib - demand.host_memory_mib;
    // Per type: GPUs that fit it, free share of those that do not, whether it
    // can run on the node at all after the pod (host, product).
    std::array<TypeState, kMaxFastTypes> states;
    const bool host_tracked = host.cpu_tracked || host.memory_tracked;
    double frag_before = 0.0;
    for (size_t t = 0; t < types_.size(); ++t) {
      const PodType& type = types_[t];
      TypeState& s = states[t];
      s.fitting = 0;
      s.unusable = 0.0;
      for (size_t i = 0; i < n; ++i) {
        if (type.gpus > 0 && fitsType(before[i], type)) {
          ++s.fitting;
        } else {
          s.unusable += before[i].share;
        }
      }
      const bool product_ok = productAllowed(node.capacity.gpu_product, type);
      s.runs_after = type.gpus > 0 && product_ok && (!host_tracked || hostOk(host, type));
      const bool runs_before =
          type.gpus > 0 && product_ok &&
          (!host_tracked ||
           ((!host.cpu_tracked || host.free_cpu_milli + demand.cpu_milli >= type.cpu_milli) &&
            (!host.memory_tracked ||
             host.free_memory_mib + demand.host_memory_mib >= type.host_memory_mib)));
      frag_before += type.weight * (runs_before && s.fitting >= type.gpus ? s.unusable : total);
    }
    std::array<size_t, kMaxFastGpus> tried{};
    size_t tried_count = 0;
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < n; ++i) {
      const GpuState& gpu = node.gpus[i];
      const GpuDemand need = resolveOn(demand, gpu.capacity);
      if (!gpu.fits(need)) {
        continue;
      }
      const bool repeat = std::any_of(tried.begin(), tried.begin() + tried_count,
                                      [&](size_t j) { return sameBudget(node.gpus[j], gpu); });
      if (repeat) {
        continue;
      }
      tried[tried_count++] = i;
      const FreeGpu after = freeGpuAfter(gpu, need);
      double total_after = 0.0;
      for (size_t j = 0; j < n; ++j) {
        total_after += j == i ? after.share : before[j].share;
      }
      double frag_after = 0.0;
      for (size_t t = 0; t < types_.size(); ++t) {
        const PodType& type = types_[t];
        const TypeState& s = states[t];
        const bool fit_before = type.gpus > 0 && fitsType(before[i], type);
        const bool fit_after = type.gpus > 0 && fitsType(after, type);
        const int fitting = s.fitting - (fit_before ? 1 : 0) + (fit_after ? 1 : 0);
        double unusable = s.unusable;
        if (fit_before != fit_after || !fit_before) {
          unusable += (fit_after ? 0.0 : after.share) - (fit_before ? 0.0 : before[i].share);
        }
        frag_after += type.weight * (s.runs_after && fitting >= type.gpus ? unusable : total_after);
      }
      const double increase = frag_after - frag_before;
      // Strictly better only: ties keep the lowest ordinal, so runs are reproducible.
      if (increase < best - kShareEpsilon) {
        best = increase;
        choice.gpu_indices = {gpu.capacity.index};
      }
    }
    if (tried_count == 0) {
      choice.reason = explainNoFit(node, demand);
      return choice;
    }
    choice.fits = true;
    choice.score = scoreOf(best);
    return choice;
  }

  // Left uninitialised on purpose: chooseOneGpu() keeps an array of them on the
  // stack and writes each entry before reading it.
  struct TypeState {
    int fitting;
    double unusable;
    bool runs_after;
  };

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
  shape.free_thread_share.reserve(node.gpus.size());
  shape.free_gpu_memory_mib.reserve(node.gpus.size());
  for (const GpuState& gpu : node.gpus) {
    const FreeGpu free = freeGpuAfter(gpu, GpuDemand{0, 0, 0});
    shape.free_share.push_back(free.share);
    shape.has_client_slot.push_back(free.slot);
    shape.free_thread_share.push_back(free.thread_share);
    shape.free_gpu_memory_mib.push_back(free.memory_mib);
  }
  return shape;
}

double typeFragmentation(const NodeShape& node, const PodType& type) {
  double total = 0.0;
  double unusable = 0.0;
  int fitting = 0;
  for (size_t i = 0; i < node.free_share.size(); ++i) {
    total += node.free_share[i];
    FreeGpu free{node.free_share[i], node.has_client_slot[i], 0.0, 0};
    if (type.gpu_memory_mib > 0 && i < node.free_thread_share.size() &&
        i < node.free_gpu_memory_mib.size()) {
      free.thread_share = node.free_thread_share[i];
      free.memory_mib = node.free_gpu_memory_mib[i];
    }
    if (type.gpus > 0 && fitsType(free, type)) {
      ++fitting;
    } else {
      unusable += node.free_share[i];
    }
  }
  // A host-only type uses no GPU, so all free GPU capacity is a fragment to it.
  if (type.gpus <= 0 || !hostOk(node, type) || !productAllowed(node.product, type) ||
      fitting < type.gpus) {
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
