#pragma once

// Late binding (gpu-pinning.md, section 6.2): the slot a container was given
// in Allocate becomes the GPU the extender chose for its pod when the container
// starts. PreStartContainer names only slots; the kubelet's PodResources List
// names the pod that holds them; the pod's mpshare.io/gpu-index names the GPU;
// a per-slot CDI spec hands that GPU (device nodes, driver, MPS pipe) to the
// runtime, which reads it when it creates the container.
//
// No state of its own: every binding is recomputed from PodResources and the
// pods' annotations, so a restart of the agent or the kubelet loses nothing.
// PreStarts of different containers write different files and run in
// parallel; only choosing a GPU for a pod without an annotation is serialised.

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/demand.h"
#include "core/gpu_device.h"
#include "node/cdi_spec.h"
#include "node/pod_directory.h"
#include "node/pod_resources_client.h"
#include "node/slot_backend.h"

namespace mpshare::node {

struct BinderOptions {
  std::string node_name;
  std::string resource_name = "nvidia.com/gpu.shared";
  int clients_per_gpu = 48;
  std::string cdi_dir = "/var/run/cdi";
  std::string container_pipe_dir = std::string(kContainerPipeDir);
  // For pods placed without mpshare.io/gpu-index: their demand and the GPU budget.
  core::DemandRules demand_rules;
  double thread_oversubscription = 1.0;
};

// The MPS daemons, as the binder needs them: each GPU's pipe directory on the
// host and whether its daemon is up (node/mps_supervisor.h in the agent).
struct GpuDaemons {
  std::function<std::string(const core::GpuDevice&)> pipe_directory;
  std::function<bool(const core::GpuDevice&)> healthy;
};

using PodResourcesLister = std::function<core::Result<std::vector<ContainerDevices>>()>;

// What one reconcile pass found and did.
struct ReconcileReport {
  int held = 0;     // slots PodResources says containers hold
  int bound = 0;    // of those, slots whose GPU is known
  int removed = 0;  // spec files of slots nobody holds, deleted
};

class LateBinder : public SlotBackend {
 public:
  LateBinder(BinderOptions options, std::vector<core::GpuDevice> gpus, NvidiaCdiSpec nvidia_spec,
             PodResourcesLister list_pod_resources, PodDirectory& pods, GpuDaemons daemons);

  [[nodiscard]] int slotCount() const {
    return static_cast<int>(gpus_.size()) * options_.clients_per_gpu;
  }
  [[nodiscard]] const std::vector<core::GpuDevice>& gpus() const { return gpus_; }

  [[nodiscard]] std::vector<SlotHealth> slots() const override;
  core::Status preStart(const std::vector<std::string>& device_ids) override;

  // Deletes the spec files of slots no container holds and relearns which GPU
  // each held slot is bound to (after a restart, from the pods' annotations).
  // Does nothing when PodResources cannot be listed: a spec must never be
  // removed on a guess.
  core::Result<ReconcileReport> reconcile();

  // slot -> GPU index, for the slots bound now.
  [[nodiscard]] std::map<int, int> boundSlots() const;

 private:
  // The GPU indices `pod` is placed on: from its annotation, or chosen here
  // (and annotated) when it has none.
  core::Result<std::vector<int>> gpusOf(const core::PodView& pod, size_t slot_count);
  core::Result<std::vector<int>> choose(const core::PodView& pod, size_t slot_count);
  const core::GpuDevice* gpuByIndex(int index) const;
  core::Status writeSpec(int slot, const core::GpuDevice& gpu);

  const BinderOptions options_;
  const std::vector<core::GpuDevice> gpus_;
  const NvidiaCdiSpec nvidia_spec_;
  const PodResourcesLister list_pod_resources_;
  PodDirectory& pods_;
  const GpuDaemons daemons_;

  // PreStarts share it; reconcile takes it alone, so it never deletes the spec
  // of a slot allocated after its List but bound before its delete.
  std::shared_mutex reconcile_mutex_;
  std::mutex choose_mutex_;  // one GPU choice at a time on this node
  mutable std::mutex bound_mutex_;
  std::map<int, int> bound_;  // slot -> GPU index
};

}  // namespace mpshare::node
