#include "core/fgd_plus_policy.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace mpshare::core {
namespace {

// As in fgd_policy.cc: the paper's integer node score has 100 steps.
constexpr double kScoreSteps = 100.0;

class FgdPlusPolicy : public PlacementPolicy {
 public:
  FgdPlusPolicy(std::vector<PodType> types, std::map<std::string, double> pressure,
                FgdPlusOptions options)
      : types_(normalisePodTypes(types)),
        fgd_(makeFgdPolicy(std::move(types))),
        pressure_(std::move(pressure)),
        options_(options) {}

  [[nodiscard]] std::string_view name() const override { return "fgd-plus"; }
  // As fgd's: integer steps of a sigmoid only rank the candidates of one call.
  [[nodiscard]] ScoreScale scoreScale() const override { return ScoreScale::kRanked; }

  // fgd's choice; where the node's model is scarce, its score again with the
  // charge added to the growth. The charge is the same for every GPU of the node,
  // so fgd's GPU choice stands.
  [[nodiscard]] NodeChoice choose(const NodeState& node, const Demand& demand) const override {
    NodeChoice choice = fgd_->choose(node, demand);
    const double charge = scarcityCharge(node, demand);
    if (!choice.fits || charge == 0.0) {
      return choice;
    }
    const NodeShape before = shapeOf(node);
    NodeShape after = before;
    if (after.cpu_tracked) {
      after.free_cpu_milli -= demand.cpu_milli;
    }
    if (after.memory_tracked) {
      after.free_memory_mib -= demand.host_memory_mib;
    }
    for (const int index : choice.gpu_indices) {
      const GpuState* gpu = node.gpu(index);
      const auto i = static_cast<size_t>(gpu - node.gpus.data());
      after.free_share[i] = freeShareAfter(*gpu, resolveOn(demand, gpu->capacity));
      after.has_client_slot[i] = gpu->freeClients() > 1;
    }
    const double growth = nodeFragmentation(after, types_) - nodeFragmentation(before, types_);
    choice.score = scoreOf(growth + charge);
    return choice;
  }

 private:
  // scarcity_weight x pressure of the node's model x GPUs the demand takes.
  [[nodiscard]] double scarcityCharge(const NodeState& node, const Demand& demand) const {
    if (options_.scarcity_weight == 0.0 || demand.gpus <= 0) {
      return 0.0;
    }
    const auto it = pressure_.find(node.capacity.gpu_product);
    if (it == pressure_.end()) {
      return 0.0;
    }
    return options_.scarcity_weight * it->second * gpuAsk(demand);
  }

  // fgd's score: the paper's integer node score 0..100 of the growth, in [0, 1].
  static double scoreOf(double increase) {
    return std::floor(kScoreSteps / (1.0 + std::exp(increase))) / kScoreSteps;
  }

  std::vector<PodType> types_;
  std::unique_ptr<PlacementPolicy> fgd_;
  std::map<std::string, double> pressure_;
  FgdPlusOptions options_;
};

}  // namespace

std::map<std::string, double> modelPressure(const std::vector<PodType>& types,
                                            const std::map<std::string, int>& gpus_by_model) {
  double cluster_gpus = 0.0;
  for (const auto& [model, gpus] : gpus_by_model) {
    cluster_gpus += gpus;
  }
  double total_ask = 0.0;
  std::map<std::string, double> bound_ask;
  for (const PodType& t : types) {
    if (t.gpus <= 0) {
      continue;
    }
    const double ask = t.weight * t.gpus * t.share;
    total_ask += ask;
    if (t.products.empty()) {
      continue;
    }
    double allowed_gpus = 0.0;
    for (const std::string& p : t.products) {
      const auto it = gpus_by_model.find(p);
      allowed_gpus += it == gpus_by_model.end() ? 0.0 : it->second;
    }
    if (allowed_gpus <= 0.0) {
      continue;
    }
    for (const std::string& p : t.products) {
      const auto it = gpus_by_model.find(p);
      if (it != gpus_by_model.end() && it->second > 0) {
        bound_ask[p] += ask * it->second / allowed_gpus;
      }
    }
  }
  std::map<std::string, double> pressure;
  if (total_ask <= 0.0 || cluster_gpus <= 0.0) {
    return pressure;
  }
  for (const auto& [model, ask] : bound_ask) {
    pressure[model] = (ask / total_ask) / (gpus_by_model.at(model) / cluster_gpus);
  }
  return pressure;
}

std::unique_ptr<PlacementPolicy> makeFgdPlusPolicy(std::vector<PodType> types,
                                                   const std::map<std::string, int>& gpus_by_model,
                                                   FgdPlusOptions options) {
  auto pressure = modelPressure(types, gpus_by_model);
  return std::make_unique<FgdPlusPolicy>(std::move(types), std::move(pressure), options);
}

}  // namespace mpshare::core
