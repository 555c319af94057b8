#include "bench/trace_objects.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <set>

#include "core/annotations.h"
#include "core/inventory.h"
#include "extender/simulate/simulator.h"

namespace mpshare::extender {

std::vector<core::ShapeCount> seedOf(const std::vector<SimPod>& pods) {
  std::map<core::PodShape, int64_t> counts;
  for (const core::PodType& t : podTypesOf(pods, TypeWeight::kTypical)) {
    if (t.gpus <= 0) continue;
    core::PodShape shape;
    shape.gpus = t.gpus;
    shape.gpu_milli = static_cast<int>(std::lround(t.share * 1000));
    shape.products = t.products;
    std::sort(shape.products.begin(), shape.products.end());
    counts[shape] += std::llround(t.weight * 1e6);
  }
  std::vector<core::ShapeCount> seed;
  for (const auto& [shape, count] : counts) seed.push_back({shape, count});
  return seed;
}

core::NodeView nodeViewOf(const SimNode& node) {
  core::NodeView view;
  view.name = node.name;
  view.labels = {{"mpshare.io/mps", "enabled"},
                 {std::string(core::kGpuCountLabel), std::to_string(node.gpus)},
                 {std::string(core::kGpuMemoryLabel), std::to_string(node.gpu_memory_mib)},
                 {std::string(core::kGpuReplicasLabel), std::to_string(node.clients_per_gpu)},
                 {std::string(core::kGpuProductLabel), node.model}};
  return view;
}

std::vector<std::string> modelsOf(const SimPod& pod) {
  std::set<std::string> unique(pod.models.begin(), pod.models.end());
  return {unique.begin(), unique.end()};
}

// Not demandOnGpu() (extender/simulate/simulator.h): it resolves a share of
// memory against the GPU chosen, and a pod must state its memory before that.
// Its threads and its rounding are kept.
core::PodView podViewOf(const SimPod& pod, size_t arrival, int64_t gpu_memory_mib) {
  core::PodView view;
  view.name = pod.name + "-" + std::to_string(arrival);
  view.namespace_name = "trace";
  view.uid = "arrival-" + std::to_string(arrival);
  view.scheduler_name = "mpshare-scheduler";
  const std::vector<std::string> models = modelsOf(pod);
  if (models.size() == 1) {
    view.node_selector = {{std::string(core::kGpuProductLabel), models.front()}};
  } else if (models.size() > 1) {
    view.required_node_terms = {{{{std::string(core::kGpuProductLabel), "In", models}}, {}}};
  }
  core::ContainerView container;
  container.name = "main";
  container.limits = {{"nvidia.com/gpu", std::to_string(pod.gpus)}};
  view.containers.push_back(container);
  if (pod.sharesGpu()) {
    // 256 MiB: the smallest memory-limit the webhook and the extender accept.
    const int64_t memory =
        pod.gpu_memory_mib.value_or(std::max<int64_t>(256, pod.gpu_milli * gpu_memory_mib / 1000));
    view.has_annotations = true;
    view.annotations = {{std::string(core::kThreadPercentageAnnotation),
                         std::to_string(std::max(1, pod.gpu_milli / 10))},
                        {std::string(core::kMemoryLimitAnnotation), std::to_string(memory) + "Mi"}};
  }
  return view;
}

std::string createdAt(size_t arrival) {
  const std::time_t t = 1704067200 + static_cast<std::time_t>(arrival);  // 2024-01-01
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace mpshare::extender
