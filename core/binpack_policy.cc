// binpack and spread: the same candidate walk, opposite preferences. Kept in one
// file because both change together when the fullness measure changes.
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "core/placement.h"

namespace mpshare::core {
namespace {

// Fullness of a GPU after adding `add`, penalised by imbalance: a GPU whose
// threads are full while memory is empty strands the memory, so it should not
// look as attractive as one filled evenly. In [0, 1].
double balancedFill(const GpuState& gpu, const GpuDemand& add) {
  const double t = std::clamp(threadFill(gpu, add), 0.0, 1.0);
  const double m = std::clamp(memoryFill(gpu, add), 0.0, 1.0);
  return (t + m) / 2.0 * (1.0 - std::abs(t - m) / 2.0);
}

// Average fullness of the node's GPUs after placing on `chosen`.
double nodeFillAfter(const NodeState& node, const std::vector<int>& chosen, const Demand& demand) {
  if (node.gpus.empty()) {
    return 0.0;
  }
  double sum = 0.0;
  for (const GpuState& gpu : node.gpus) {
    const bool picked = std::find(chosen.begin(), chosen.end(), gpu.capacity.index) != chosen.end();
    const GpuDemand add = picked ? resolveOn(demand, gpu.capacity) : GpuDemand{0, 0, 0};
    sum +=
        (std::clamp(threadFill(gpu, add), 0.0, 1.0) + std::clamp(memoryFill(gpu, add), 0.0, 1.0)) /
        2.0;
  }
  return sum / static_cast<double>(node.gpus.size());
}

// A candidate GPU: its preference and device ordinal.
struct Candidate {
  double preference;
  int index;
};

// The k best candidates offered so far, best first. Candidates are offered in
// ordinal order and an equal preference never overtakes, so the result is the
// first k of a stable sort by preference: ties go to the lowest ordinal. Up to
// kInline entries live on the stack, because choose() runs for every candidate
// node of every filter and prioritize call and a heap buffer per node was most
// of its cost.
class TopCandidates {
 public:
  explicit TopCandidates(size_t k) : k_(k) {
    if (k_ > kInline) {
      heap_.resize(k_);
    }
  }

  void offer(Candidate candidate) {
    Candidate* items = data();
    if (k_ == 0 || (size_ == k_ && !(candidate.preference > items[size_ - 1].preference))) {
      return;
    }
    // When full, the last entry drops out; the rest shift down behind the newcomer.
    size_t at = size_ < k_ ? size_ : k_ - 1;
    while (at > 0 && candidate.preference > items[at - 1].preference) {
      items[at] = items[at - 1];
      --at;
    }
    items[at] = candidate;
    size_ = std::min(size_ + 1, k_);
  }

  [[nodiscard]] const Candidate& operator[](size_t i) const { return data()[i]; }

 private:
  static constexpr size_t kInline = 16;

  Candidate* data() { return heap_.empty() ? inline_.data() : heap_.data(); }
  [[nodiscard]] const Candidate* data() const {
    return heap_.empty() ? inline_.data() : heap_.data();
  }

  size_t k_;
  size_t size_ = 0;
  std::array<Candidate, kInline> inline_;  // written before read: offer() fills from the front
  std::vector<Candidate> heap_;
};

class FillPolicy : public PlacementPolicy {
 public:
  explicit FillPolicy(bool pack) : pack_(pack) {}

  [[nodiscard]] std::string_view name() const override { return pack_ ? "binpack" : "spread"; }

  [[nodiscard]] NodeChoice choose(const NodeState& node, const Demand& demand) const override {
    NodeChoice choice;
    if (!node.hostFits(demand)) {
      choice.reason = explainNoFit(node, demand);
      return choice;
    }
    // One pass over the GPUs: fit check and preference together, without
    // collecting the fitting GPUs first.
    TopCandidates best(demand.gpus > 0 ? static_cast<size_t>(demand.gpus) : 0);
    int fitting = 0;
    for (const GpuState& gpu : node.gpus) {
      const GpuDemand need = resolveOn(demand, gpu.capacity);
      if (!gpu.fits(need)) {
        continue;
      }
      ++fitting;
      const double fill = balancedFill(gpu, need);
      best.offer({pack_ ? fill : 1.0 - fill, gpu.capacity.index});
    }
    if (fitting < demand.gpus || fitting == 0) {
      choice.reason = explainNoFit(node, demand);
      return choice;
    }
    double gpu_preference = 0.0;
    choice.gpu_indices.reserve(static_cast<size_t>(demand.gpus));
    for (int i = 0; i < demand.gpus; ++i) {
      choice.gpu_indices.push_back(best[static_cast<size_t>(i)].index);
      gpu_preference += best[static_cast<size_t>(i)].preference;
    }
    gpu_preference /= demand.gpus;
    std::sort(choice.gpu_indices.begin(), choice.gpu_indices.end());
    const double node_fill = nodeFillAfter(node, choice.gpu_indices, demand);
    choice.fits = true;
    choice.score = 0.5 * gpu_preference + 0.5 * (pack_ ? node_fill : 1.0 - node_fill);
    return choice;
  }

 private:
  bool pack_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> makeBinpackPolicy() { return std::make_unique<FillPolicy>(true); }

std::unique_ptr<PlacementPolicy> makeSpreadPolicy() { return std::make_unique<FillPolicy>(false); }

}  // namespace mpshare::core
