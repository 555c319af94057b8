#pragma once

// The slots mpshare-node advertises to the kubelet: GPU-agnostic device IDs
// "slot-000" .. "slot-<N-1>", N = GPUs x clients per GPU. A slot is bound to a
// GPU only when its container starts (PreStartContainer), through a per-slot
// CDI spec; these helpers name the slot in each place it appears.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mpshare::core {

// 3 -> "slot-003" (at least three digits; 48 x 8 GPUs = 384 slots still fit).
std::string slotId(int slot);

// "slot-003" -> 3. Anything else (other prefix, no digits, sign, out of
// [0, slot_count)) is an error naming the ID and the valid range.
Result<int> parseSlotId(std::string_view id, int slot_count);

// 3 -> "mpshare.io/gpu=slot-003", the fully qualified CDI device name.
std::string cdiDeviceName(int slot);

// 3 -> "cdi.k8s.io/mpshare_slot-003": the container annotation key that
// carries the same CDI device for runtimes that read CDI from annotations.
std::string cdiAnnotationKey(int slot);

// 3 -> "mpshare.io-gpu-slot-003.json": the spec file in the CDI directory.
std::string cdiSpecFileName(int slot);

// "mpshare.io-gpu-slot-003.json" -> 3; -1 for any other file name (the
// reconcile loop touches only files it could have written).
int slotOfSpecFileName(std::string_view file_name);

// Which slots the kubelet should see Unhealthy while some GPUs' MPS daemons
// are down (true = healthy). A slot bound to a down GPU is unhealthy; so are
// enough unbound slots, highest first, that each down GPU takes
// `clients_per_gpu` slots out of the node's allocatable: the scheduler stops
// sending pods the node could only place on its healthy GPUs.
// Example: 4 slots, 2 per GPU, slot 0 bound to GPU1, GPU1 down
//   -> {false, true, true, false}.
std::vector<bool> slotHealth(int slot_count, int clients_per_gpu,
                             const std::map<int, int>& gpu_of_slot, const std::set<int>& down_gpus);

}  // namespace mpshare::core
