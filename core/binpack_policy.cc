// binpack and spread: the same candidate walk, opposite preferences. Kept in one
// file because both change together when the fullness measure changes.
#include <algorithm>
#include <cmath>
#include <memory>

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
    sum += (std::clamp(threadFill(gpu, add), 0.0, 1.0) + std::clamp(memoryFill(gpu, add), 0.0, 1.0)) /
           2.0;
  }
  return sum / static_cast<double>(node.gpus.size());
}

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
    auto fitting = fittingGpus(node, demand);
    if (static_cast<int>(fitting.size()) < demand.gpus || fitting.empty()) {
      choice.reason = explainNoFit(node, demand);
      return choice;
    }
    struct Candidate {
      double preference;
      int index;
    };
    std::vector<Candidate> candidates;
    candidates.reserve(fitting.size());
    for (const GpuState* gpu : fitting) {
      const double fill = balancedFill(*gpu, resolveOn(demand, gpu->capacity));
      candidates.push_back({pack_ ? fill : 1.0 - fill, gpu->capacity.index});
    }
    // Highest preference first; ties go to the lowest ordinal so runs are reproducible.
    std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
      return a.preference > b.preference;
    });
    double gpu_preference = 0.0;
    for (int i = 0; i < demand.gpus; ++i) {
      choice.gpu_indices.push_back(candidates[static_cast<size_t>(i)].index);
      gpu_preference += candidates[static_cast<size_t>(i)].preference;
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
