#include "node/late_binder.h"

#include <algorithm>

#include "core/annotations.h"
#include "core/ledger.h"
#include "core/placement.h"
#include "core/slots.h"
#include "node/cdi_dir.h"
#include "platform/logging.h"

namespace mpshare::node {
namespace {

using core::Error;
using core::ErrorCode;

std::string listGpus(const std::vector<core::GpuDevice>& gpus) {
  std::string text;
  for (const auto& gpu : gpus) text += (text.empty() ? "" : ", ") + std::to_string(gpu.index);
  return "GPUs " + text;
}

}  // namespace

LateBinder::LateBinder(BinderOptions options, std::vector<core::GpuDevice> gpus,
                       NvidiaCdiSpec nvidia_spec, PodResourcesLister list_pod_resources,
                       PodDirectory& pods, GpuDaemons daemons)
    : options_(std::move(options)),
      gpus_(std::move(gpus)),
      nvidia_spec_(std::move(nvidia_spec)),
      list_pod_resources_(std::move(list_pod_resources)),
      pods_(pods),
      daemons_(std::move(daemons)) {}

const core::GpuDevice* LateBinder::gpuByIndex(int index) const {
  for (const auto& gpu : gpus_) {
    if (gpu.index == index) return &gpu;
  }
  return nullptr;
}

std::vector<SlotHealth> LateBinder::slots() const {
  std::set<int> down;
  for (const auto& gpu : gpus_) {
    if (daemons_.healthy && !daemons_.healthy(gpu)) down.insert(gpu.index);
  }
  const auto healthy = core::slotHealth(slotCount(), options_.clients_per_gpu, boundSlots(), down);
  std::vector<SlotHealth> slots;
  slots.reserve(healthy.size());
  for (size_t slot = 0; slot < healthy.size(); ++slot) {
    slots.push_back({core::slotId(static_cast<int>(slot)), healthy[slot]});
  }
  return slots;
}

std::map<int, int> LateBinder::boundSlots() const {
  std::lock_guard lock(bound_mutex_);
  return bound_;
}

core::Status LateBinder::preStart(const std::vector<std::string>& device_ids) {
  std::shared_lock reconcile_guard(reconcile_mutex_);
  std::vector<int> slots;
  for (const auto& id : device_ids) {
    auto slot = core::parseSlotId(id, slotCount());
    if (!slot) return slot.error();
    slots.push_back(*slot);
  }
  std::sort(slots.begin(), slots.end());

  auto listed = list_pod_resources_();
  if (!listed) return listed.error();
  auto holder = findContainerHolding(*listed, options_.resource_name, device_ids);
  if (!holder) return holder.error();
  auto pod = pods_.pod(holder->namespace_name, holder->pod_name);
  if (!pod) return pod.error();

  auto indices = gpusOf(*pod, slots.size());
  if (!indices) return indices.error();
  for (size_t i = 0; i < slots.size(); ++i) {
    // One GPU for every slot of an MPS pod; slot i of a multi-GPU pod takes its i-th GPU.
    const int index = (*indices)[indices->size() == 1 ? 0 : i];
    const core::GpuDevice* gpu = gpuByIndex(index);
    if (auto written = writeSpec(slots[i], *gpu); !written) return written;
    platform::logInfo("slot bound", {{"slot", core::slotId(slots[i])},
                                     {"pod", pod->key()},
                                     {"container", holder->container_name},
                                     {"gpu", std::to_string(gpu->index)},
                                     {"uuid", gpu->uuid}});
  }
  return {};
}

core::Status LateBinder::writeSpec(int slot, const core::GpuDevice& gpu) {
  SlotSpecInputs inputs{slot, gpu, daemons_.pipe_directory(gpu), options_.container_pipe_dir};
  auto text = slotSpecJson(nvidia_spec_, inputs);
  if (!text) return text.error();
  if (auto written = writeSlotSpec(options_.cdi_dir, slot, *text); !written) return written;
  std::lock_guard lock(bound_mutex_);
  bound_[slot] = gpu.index;
  return {};
}

core::Result<std::vector<int>> LateBinder::gpusOf(const core::PodView& pod, size_t slot_count) {
  const auto annotation = pod.annotations.find(std::string(core::kGpuIndexAnnotation));
  if (annotation == pod.annotations.end()) return choose(pod, slot_count);
  auto indices = core::parseGpuIndices(annotation->second);
  if (!indices) return Error{ErrorCode::kInvalidArgument, pod.key(), indices.error().describe()};
  for (int index : *indices) {
    if (gpuByIndex(index) == nullptr) {
      return Error{ErrorCode::kInvalidArgument, pod.key(),
                   std::string(core::kGpuIndexAnnotation) + " \"" + annotation->second +
                       "\" names GPU " + std::to_string(index) + ", which node " +
                       options_.node_name + " does not have (" + listGpus(gpus_) + ")"};
    }
  }
  if (indices->size() != 1 && indices->size() != slot_count) {
    return Error{ErrorCode::kInvalidArgument, pod.key(),
                 std::string(core::kGpuIndexAnnotation) + " \"" + annotation->second + "\" lists " +
                     std::to_string(indices->size()) + " GPUs for a container holding " +
                     std::to_string(slot_count) + " slots"};
  }
  return indices;
}

core::Result<std::vector<int>> LateBinder::choose(const core::PodView& pod, size_t slot_count) {
  std::lock_guard lock(choose_mutex_);
  // Another container of this pod may have chosen while this one waited.
  auto current = pods_.pod(pod.namespace_name, pod.name);
  if (current && current->uid == pod.uid &&
      current->annotations.count(std::string(core::kGpuIndexAnnotation))) {
    return core::parseGpuIndices(current->annotations.at(std::string(core::kGpuIndexAnnotation)));
  }

  // The node's ledger, as the extender would count it, from the pods here.
  core::NodeCapacity capacity{options_.node_name, "", {}, 0, 0};
  for (const auto& gpu : gpus_) {
    capacity.gpus.push_back(
        {gpu.index, static_cast<int>(core::kThreadPercentPerGpu * options_.thread_oversubscription),
         gpu.memory_mib, options_.clients_per_gpu});
  }
  core::LedgerState ledger;
  ledger.upsertNode(capacity);
  for (const auto& other : pods_.podsOnNode()) {
    const auto placed = other.annotations.find(std::string(core::kGpuIndexAnnotation));
    if (other.uid == pod.uid || placed == other.annotations.end()) continue;
    auto demand = core::demandOf(other, options_.demand_rules);
    auto indices = core::parseGpuIndices(placed->second);
    if (!demand || !*demand || !indices) continue;  // not a GPU pod mpshare can count
    (void)ledger.record({other.uid, other.key(), options_.node_name, *indices, **demand});
  }

  auto demand = core::demandOf(pod, options_.demand_rules);
  if (!demand) return Error{ErrorCode::kInvalidArgument, pod.key(), demand.error().describe()};
  core::Demand wanted = demand->value_or(core::Demand{});
  if (!*demand)
    wanted.gpus = static_cast<int>(slot_count);  // asks for our resource only: whole GPUs
  const core::NodeState& node = *ledger.node(options_.node_name);
  const auto choice = core::makeBinpackPolicy()->choose(node, wanted);
  if (!choice.fits) {
    return Error{ErrorCode::kUnavailable, pod.key(),
                 "placed without " + std::string(core::kGpuIndexAnnotation) +
                     " and fits on no GPU: " + core::explainNoFit(node, wanted)};
  }
  const std::string value = core::formatGpuIndices(choice.gpu_indices);
  if (auto annotated = pods_.annotateGpuIndex(pod, value); !annotated) return annotated.error();
  platform::logInfo("GPU chosen for a pod placed without mpshare.io/gpu-index",
                    {{"pod", pod.key()}, {"gpu", value}, {"demand", wanted.describe()}});
  return choice.gpu_indices;
}

core::Result<ReconcileReport> LateBinder::reconcile() {
  std::unique_lock reconcile_guard(reconcile_mutex_);
  auto listed = list_pod_resources_();
  if (!listed) return listed.error();
  ReconcileReport report;
  std::map<int, int> bound;
  std::set<int> held;
  for (const auto& container : *listed) {
    if (container.resource_name != options_.resource_name) continue;
    std::vector<int> slots;
    for (const auto& id : container.device_ids) {
      if (auto slot = core::parseSlotId(id, slotCount())) slots.push_back(*slot);
    }
    std::sort(slots.begin(), slots.end());
    held.insert(slots.begin(), slots.end());
    auto pod = pods_.pod(container.namespace_name, container.pod_name);
    if (!pod) continue;
    const auto placed = pod->annotations.find(std::string(core::kGpuIndexAnnotation));
    if (placed == pod->annotations.end()) continue;
    auto indices = core::parseGpuIndices(placed->second);
    if (!indices || (indices->size() != 1 && indices->size() != slots.size())) continue;
    for (size_t i = 0; i < slots.size(); ++i)
      bound[slots[i]] = (*indices)[indices->size() == 1 ? 0 : i];
  }
  auto files = slotSpecsIn(options_.cdi_dir);
  if (!files) return files.error();
  for (int slot : *files) {
    if (held.count(slot) > 0) continue;
    if (auto removed = removeSlotSpec(options_.cdi_dir, slot); !removed) return removed.error();
    ++report.removed;
  }
  report.held = static_cast<int>(held.size());
  report.bound = static_cast<int>(bound.size());
  std::lock_guard lock(bound_mutex_);
  bound_ = std::move(bound);
  return report;
}

}  // namespace mpshare::node
