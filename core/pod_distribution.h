#pragma once

// The distribution of typical GPU pods that FGD (core/fgd_policy.h) measures
// fragmentation against, learned from the pods a scheduler sees.
//
// A window holds the most recent GPU pods (at most `max_pods`, none older than
// `max_age` when set), each counted once by its key (the pod UID). Until the
// window holds `min_pods` pods the seed distribution is in use (configured, or
// the built-in one below); from then on the window's own counts are. Memory is
// bounded by `max_pods` entries whatever arrives.
//
// A plain value without locking: the extender wraps it behind its own mutex.

#include <chrono>
#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/demand.h"
#include "core/fgd_policy.h"

namespace mpshare::core {

// What a GPU pod takes, as the distribution counts it.
struct PodShape {
  int gpus = 1;                // GPUs taken; > 1 means whole GPUs
  int gpu_milli = 1000;        // share of each GPU's threads, thousandths; 1000 = whole GPU
  int64_t gpu_memory_mib = 0;  // GPU memory per GPU; 0 = the same share of memory as gpu_milli
  // The GPU products the pod may run on (its node selector, core/gpu_products.h),
  // sorted; empty = any. Only fgd-plus records them (its pressure per model).
  std::vector<std::string> products = {};  // "= {}": aggregate initialisers may leave it out

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads the defaulted <=>
  auto operator<=>(const PodShape&) const = default;
};

// The shape of a demand. A pod that leaves a dimension to "the whole GPU" needs
// an entirely free GPU, so it counts as a whole GPU.
// Examples: {1 GPU, 30 %, 8192 MiB} -> {1, 300, 8192}; {1 GPU, 30 %, no memory
// limit} -> {1, 1000, 0}; {4 GPUs} -> {4, 1000, 0}.
PodShape shapeOfDemand(const Demand& demand);

// "1 x 300 milli / 8192 MiB", "1 x whole GPU", "4 x whole GPU", and for a
// shape bound to products "1 x whole GPU on Tesla-T4".
std::string describeShape(const PodShape& shape);

struct ShapeCount {
  PodShape shape;
  int64_t pods = 0;

  bool operator==(const ShapeCount&) const = default;
};

// The GPU pods of the Alibaba trace's default pod list (8,152 pods, 7,064 of
// them with GPUs; `data/alibaba-gpu-v2023/openb_pod_list_default.csv`), by
// shape: 24 shapes, 3,911 whole-GPU pods, 1,078 of 810 milli, 750 of 470, ...
// The shares of memory equal the shares of threads, as in the trace.
const std::vector<ShapeCount>& builtinPodShapes();

struct DistributionWindow {
  size_t max_pods = 2000;           // the most recent GPU pods kept
  std::chrono::seconds max_age{0};  // 0 = no age limit
  size_t min_pods = 200;            // pods in the window before it replaces the seed
  size_t max_shapes = 16;           // most popular shapes passed to the policy
};

enum class DistributionSource { kBuiltin, kConfigured, kLearned };
// "builtin", "configured", "learned".
std::string_view distributionSourceName(DistributionSource source);

// The distribution in use.
struct DistributionView {
  DistributionSource source = DistributionSource::kBuiltin;
  size_t window_pods = 0;          // GPU pods in the window now
  std::vector<ShapeCount> shapes;  // in use: most popular first, at most max_shapes

  // The shapes as FGD pod types, weights normalised to sum 1.
  [[nodiscard]] std::vector<PodType> podTypes() const;
};

class PodDistribution {
 public:
  using Clock = std::chrono::steady_clock;

  // `seed` empty = builtinPodShapes(). Shapes with no pods are dropped.
  PodDistribution(DistributionWindow window, std::vector<ShapeCount> seed);

  // Counts pod `key` with `shape`, seen at `now`, unless `key` is in the window
  // already (filter, bind and the ledger may all report the same pod).
  // Returns true when the policy should be rebuilt: the source switched, or
  // enough new pods arrived to move the learned weights (1 % of max_pods).
  bool observe(const std::string& key, const PodShape& shape, Clock::time_point now);
  // Drops pods older than max_age; true when that switched the source back to the seed
  // or moved the learned weights (as observe()).
  bool expire(Clock::time_point now);

  [[nodiscard]] DistributionView view() const;
  [[nodiscard]] const DistributionWindow& window() const { return window_; }

 private:
  struct Seen {
    std::string key;
    PodShape shape;
    Clock::time_point at;
  };
  void dropOldest();
  [[nodiscard]] bool learned() const { return seen_.size() >= window_.min_pods; }
  bool changed(bool was_learned);

  DistributionWindow window_;
  std::vector<ShapeCount> seed_;
  DistributionSource seed_source_;
  std::deque<Seen> seen_;  // oldest first
  std::set<std::string> keys_;
  std::map<PodShape, int64_t> counts_;
  size_t since_rebuild_ = 0;
};

}  // namespace mpshare::core
