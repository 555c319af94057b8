#pragma once

// Per-slot CDI specs built from NVIDIA's (docs: gpu-pinning.md section 6.2,
// step 4c). NVIDIA's spec (`nvidia-ctk cdi generate`, or the GPU operator with
// CDI enabled) already knows every device node, driver library and hook a
// container needs for one GPU; mpshare copies those edits into a spec of its
// own kind, one device per slot, and adds the MPS pipe mount and the env that
// pins the slot to its GPU.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/gpu_device.h"
#include "core/result.h"

namespace mpshare::node {

inline constexpr std::string_view kNvidiaCdiKind = "nvidia.com/gpu";
// Where a slot's container finds its GPU's MPS pipe directory.
inline constexpr std::string_view kContainerPipeDir = "/run/mpshare/mps/pipe";

// One device of a CDI spec: its name ("0", "GPU-<uuid>", "all") and its
// containerEdits object, kept as read so the copy is verbatim.
struct CdiDevice {
  std::string name;
  nlohmann::json container_edits = nlohmann::json::object();

  bool operator==(const CdiDevice&) const = default;
};

// NVIDIA's CDI spec, as far as mpshare reads it.
struct NvidiaCdiSpec {
  std::string source;       // the file read; named in later errors
  std::string cdi_version;  // "0.5.0"
  std::vector<CdiDevice> devices;
  // Edits every NVIDIA device shares (/dev/nvidiactl, /dev/nvidia-uvm, driver
  // library mounts, nvidia-cdi-hook hooks, env); an empty object when absent.
  nlohmann::json container_edits = nlohmann::json::object();

  bool operator==(const NvidiaCdiSpec&) const = default;
};

// Parses a CDI spec in JSON or YAML. `source` names the input in errors, which
// also give the path inside it:
//   /var/run/cdi/nvidia.yaml: devices[2].containerEdits: expected an object, got a string
// Checked: cdiVersion (x.y.z), kind == "nvidia.com/gpu", devices (a list of
// {name, containerEdits}, names unique), and the edits mpshare copies: env (strings),
// deviceNodes (objects with a path), mounts (objects with hostPath and
// containerPath), hooks (objects with hookName and path). Other fields are kept as read.
core::Result<NvidiaCdiSpec> parseNvidiaCdiSpec(std::string_view text, std::string_view source);

// Reads and parses the file at `path`. A missing file is an error naming the path
// and what produces it (`nvidia-ctk cdi generate --output=<path>`, or the GPU
// operator with CDI enabled).
core::Result<NvidiaCdiSpec> loadNvidiaCdiSpec(const std::string& path);

// The containerEdits of the device for `gpu`: the one named by its UUID
// ("GPU-8f1d...") when the spec has it, else by its index ("0"). Names are
// unambiguous either way; the UUID survives a change in device order. An error
// names the GPU, the names looked for and the devices the spec has.
core::Result<nlohmann::json> deviceEditsFor(const NvidiaCdiSpec& spec, const core::GpuDevice& gpu);

struct SlotSpecInputs {
  int slot = 0;
  core::GpuDevice gpu;
  std::string host_pipe_dir;  // the GPU's MPS pipe directory on the host
  std::string container_pipe_dir = std::string(kContainerPipeDir);
};

// The CDI spec (JSON text, keys sorted, 2-space indent, trailing newline) that
// binds slot `inputs.slot` to `inputs.gpu`:
//   {"cdiVersion": max(NVIDIA's, "0.5.0"), "kind": "mpshare.io/gpu",
//    "devices": [{"name": "slot-003", "containerEdits": E}]}
// E = NVIDIA's common edits, then the GPU's device edits (the order a CDI
// runtime applies NVIDIA's own spec in), each field's lists concatenated, plus
//   mounts: {"hostPath": host_pipe_dir, "containerPath": container_pipe_dir,
//            "options": ["rbind", "rw"]}
//   env:    CUDA_MPS_PIPE_DIRECTORY=<container_pipe_dir>, CUDA_VISIBLE_DEVICES=<uuid>,
//           NVIDIA_VISIBLE_DEVICES=void
// Copied env entries for those three variables are dropped, so each appears
// once with mpshare's value. Errors: an unknown GPU (deviceEditsFor), a negative
// slot, a UUID not starting "GPU-", pipe directories that are not absolute.
core::Result<std::string> slotSpecJson(const NvidiaCdiSpec& spec, const SlotSpecInputs& inputs);

}  // namespace mpshare::node
