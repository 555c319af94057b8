#pragma once

// The Alibaba trace's nodes and pods (extender/simulate/trace.h) as the
// Kubernetes objects the live extender reads, for bench/live_replay.cc.
//
// What the live extender cannot be told, and the replay therefore leaves out:
// - host CPU and memory: the inventory reads only GPU labels (core/inventory.h),
//   so no node has a host budget; pods asking for no GPU are skipped (counted as
//   skipped), and no GPU pod fails for host CPU or memory.
// - a GPU share of memory: an mpshare.io/memory-limit is a size, the same on
//   every GPU. A shared pod asks its share of the smallest GPU memory among
//   the models it may run on (so it fits wherever the simulator lets it);
//   threads are its share in whole percent, as the simulator rounds them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/pod.h"
#include "core/pod_distribution.h"
#include "extender/simulate/trace.h"

namespace mpshare::extender {

// The simulator's typical pods (podTypesOf, TypeWeight::kTypical) as the
// extender's configured seed distribution: GPU shapes only (the extender counts
// no host-only pods, and shapes differing only in host CPU merge, since no node
// has a host budget). Weights become counts in millionths.
std::vector<core::ShapeCount> seedOf(const std::vector<SimPod>& pods);

// The Node a trace node stands for, with the labels GPU Feature Discovery
// writes and the inventory reads: selector, count, memory, replicas (= the
// node's MPS clients per GPU) and product (= the trace's model, e.g. "T4").
core::NodeView nodeViewOf(const SimNode& node);

// The models a pod may run on, without repeats; empty = any.
std::vector<std::string> modelsOf(const SimPod& pod);

// The Pod of arrival number `arrival` (UID "arrival-N", namespace "trace"),
// asking `pod.gpus` nvidia.com/gpu; a shared pod is annotated with its
// threads, max(1, gpu_milli / 10) %, and its share of `gpu_memory_mib` (the
// simulator's demandOnGpu() but for memory, see above). A pod of one model is
// bound to it by a nodeSelector on nvidia.com/gpu.product; a pod of several,
// by a required node affinity `nvidia.com/gpu.product In [its models]` (a
// nodeSelector names one value).
core::PodView podViewOf(const SimPod& pod, size_t arrival, int64_t gpu_memory_mib);

// RFC 3339 creation times one second apart from 2024-01-01, so the queue order
// (core::queuedBefore) is the arrival order.
std::string createdAt(size_t arrival);

}  // namespace mpshare::extender
