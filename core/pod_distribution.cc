#include "core/pod_distribution.h"

#include <algorithm>
#include <utility>

namespace mpshare::core {
namespace {

constexpr int kWholeGpuMilli = 1000;

// Most popular first; among equal counts the larger shape first, so the order
// (and which shapes max_shapes keeps) never depends on arrival order.
void sortByPopularity(std::vector<ShapeCount>& shapes) {
  std::stable_sort(shapes.begin(), shapes.end(), [](const ShapeCount& a, const ShapeCount& b) {
    return a.pods != b.pods ? a.pods > b.pods : a.shape > b.shape;
  });
}

}  // namespace

PodShape shapeOfDemand(const Demand& demand) {
  PodShape shape;
  shape.gpus = std::max(1, demand.gpus);
  if (demand.gpus == 1 && demand.thread_percentage && demand.memory_mib &&
      *demand.thread_percentage < kThreadPercentPerGpu) {
    shape.gpu_milli = *demand.thread_percentage * (kWholeGpuMilli / kThreadPercentPerGpu);
    shape.gpu_memory_mib = *demand.memory_mib;
  }
  return shape;
}

std::string describeShape(const PodShape& shape) {
  std::string text = std::to_string(shape.gpus) + " x ";
  if (shape.gpu_milli >= kWholeGpuMilli) {
    text += "whole GPU";
  } else {
    text += std::to_string(shape.gpu_milli) + " milli";
    if (shape.gpu_memory_mib > 0) {
      text += " / " + std::to_string(shape.gpu_memory_mib) + " MiB";
    }
  }
  for (size_t i = 0; i < shape.products.size(); ++i) {
    text += (i == 0 ? " on " : ", ") + shape.products[i];
  }
  return text;
}

const std::vector<ShapeCount>& builtinPodShapes() {
  // Counted from openb_pod_list_default.csv (num_gpu, gpu_milli of the pods
  // with GPUs); memory follows the thread share, as the trace has no GPU memory.
  static const std::vector<ShapeCount> shapes = [] {
    const std::vector<std::pair<std::pair<int, int>, int64_t>> table = {
        {{1, 1000}, 3911}, {{1, 810}, 1078}, {{1, 470}, 750}, {{1, 320}, 328}, {{1, 650}, 253},
        {{1, 230}, 140},   {{1, 460}, 128},  {{1, 590}, 75},  {{1, 160}, 74},  {{1, 550}, 72},
        {{1, 220}, 62},    {{1, 370}, 47},   {{8, 1000}, 44}, {{1, 110}, 24},  {{1, 480}, 19},
        {{2, 1000}, 16},   {{4, 1000}, 15},  {{1, 50}, 7},    {{1, 330}, 7},   {{1, 350}, 6},
        {{1, 270}, 4},     {{1, 440}, 2},    {{1, 140}, 1},   {{1, 290}, 1},
    };
    std::vector<ShapeCount> out;
    out.reserve(table.size());
    for (const auto& [shape, pods] : table) {
      out.push_back({PodShape{shape.first, shape.second, 0}, pods});
    }
    return out;
  }();
  return shapes;
}

std::string_view distributionSourceName(DistributionSource source) {
  switch (source) {
    case DistributionSource::kBuiltin:
      return "builtin";
    case DistributionSource::kConfigured:
      return "configured";
    case DistributionSource::kLearned:
      return "learned";
  }
  return "builtin";
}

std::vector<PodType> DistributionView::podTypes() const {
  std::vector<PodType> types;
  types.reserve(shapes.size());
  for (const ShapeCount& s : shapes) {
    PodType t;
    t.gpus = s.shape.gpus;
    t.share = std::min(s.shape.gpu_milli, kWholeGpuMilli) / static_cast<double>(kWholeGpuMilli);
    t.gpu_memory_mib = s.shape.gpu_memory_mib;
    t.products = s.shape.products;
    t.weight = static_cast<double>(s.pods);
    types.push_back(t);
  }
  return normalisePodTypes(std::move(types));
}

PodDistribution::PodDistribution(DistributionWindow window, std::vector<ShapeCount> seed)
    : window_(window),
      seed_source_(seed.empty() ? DistributionSource::kBuiltin : DistributionSource::kConfigured) {
  if (seed.empty()) {
    seed_ = builtinPodShapes();
  } else {
    seed_ = std::move(seed);
  }
  std::erase_if(seed_, [](const ShapeCount& s) { return s.pods <= 0; });
  sortByPopularity(seed_);
  window_.max_pods = std::max<size_t>(1, window_.max_pods);
}

void PodDistribution::dropOldest() {
  const Seen& oldest = seen_.front();
  if (auto it = counts_.find(oldest.shape); it != counts_.end() && --it->second == 0) {
    counts_.erase(it);
  }
  keys_.erase(oldest.key);
  seen_.pop_front();
}

bool PodDistribution::changed(bool was_learned) {
  if (was_learned != learned()) {
    since_rebuild_ = 0;
    return true;
  }
  if (!learned()) {
    return false;
  }
  // Weights move by 1/max_pods per pod; rebuilding every 1 % keeps the policy
  // current without re-sorting the shapes on every filter.
  if (++since_rebuild_ >= std::max<size_t>(1, window_.max_pods / 100)) {
    since_rebuild_ = 0;
    return true;
  }
  return false;
}

bool PodDistribution::observe(const std::string& key, const PodShape& shape,
                              Clock::time_point now) {
  const bool expired = expire(now);
  if (keys_.contains(key)) {
    return expired;
  }
  const bool was_learned = learned();
  seen_.push_back({key, shape, now});
  keys_.insert(key);
  ++counts_[shape];
  if (seen_.size() > window_.max_pods) {
    dropOldest();
  }
  return changed(was_learned) || expired;
}

bool PodDistribution::expire(Clock::time_point now) {
  if (window_.max_age.count() <= 0) {
    return false;
  }
  const bool was_learned = learned();
  bool dropped = false;
  while (!seen_.empty() && now - seen_.front().at > window_.max_age) {
    dropOldest();
    dropped = true;
  }
  if (!dropped) {
    return false;
  }
  // Expiry drops many at once: always worth a rebuild while learned.
  since_rebuild_ = 0;
  return was_learned || learned();
}

DistributionView PodDistribution::view() const {
  DistributionView view;
  view.window_pods = seen_.size();
  if (learned()) {
    view.source = DistributionSource::kLearned;
    for (const auto& [shape, pods] : counts_) {
      view.shapes.push_back({shape, pods});
    }
    sortByPopularity(view.shapes);
  } else {
    view.source = seed_source_;
    view.shapes = seed_;
  }
  if (view.shapes.size() > window_.max_shapes) {
    view.shapes.resize(window_.max_shapes);
  }
  return view;
}

}  // namespace mpshare::core
