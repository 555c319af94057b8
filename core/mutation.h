#pragma once

// The webhook's admission rules as a pure function: a pod, the operation and the
// configured rules in; a decision out (allow or deny, warnings, and the edits to
// make as plain data). webhook/ turns the edits into an RFC 6902 JSON Patch; this
// file knows nothing of JSON, so every rule is testable with plain structs.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/annotations.h"
#include "core/gpu_request.h"
#include "core/pod.h"
#include "core/result.h"

namespace mpshare::core {

enum class Operation { kCreate, kUpdate, kDelete, kConnect };

// "CREATE" -> kCreate; nullopt for anything else than the four admission operations.
std::optional<Operation> parseOperation(std::string_view text);

// How GPU containers reach the node's MPS control daemon (design.md: mpshare runs
// its own daemon with its pipe directory on a hostPath, reachable only with host IPC).
// inject: set hostIPC on a GPU pod (and, with pipe, the pipe directory). false for
// the capped mode under the device plugin's own MPS daemon.
// pipe: also mount the pipe directory and set CUDA_MPS_PIPE_DIRECTORY. false when
// mpshare-node runs the daemons: its per-slot CDI spec carries the pipe of the GPU
// the container is bound to, which is unknown at admission.
struct DaemonAccess {
  bool inject = true;
  bool pipe = true;
  // Host path of the daemon's pipe directory, mounted at the same path in the
  // container and exported as CUDA_MPS_PIPE_DIRECTORY.
  std::string pipe_directory = "/run/mpshare/mps/pipe";
  std::string volume_name = "mpshare-mps-pipe";
};

struct WebhookRules {
  GpuResourceNames resources;
  int64_t min_memory_limit_mib = 256;
  // Applied to a GPU pod that lacks the matching annotation; nullopt = no limit
  // (the pod holds a whole GPU).
  std::optional<int> default_thread_percentage;
  std::optional<int64_t> default_memory_limit_mib;
  DaemonAccess daemon;
};

struct EnvEdit {
  std::string name;
  std::string value;
};

// Additions to one container of spec.containers (init == false) or spec.initContainers.
struct ContainerEdit {
  bool init = false;
  int index = 0;
  std::string name;
  bool has_env = false;  // append to env when it exists, else create it
  std::vector<EnvEdit> env;
  bool has_volume_mounts = false;
  std::optional<VolumeMountView> mount;
};

struct HostPathVolume {
  std::string name;
  std::string path;
};

struct PodEdits {
  std::vector<ContainerEdit> containers;  // only containers that change
  bool has_volumes = false;
  std::optional<HostPathVolume> volume;
  bool set_host_ipc = false;

  [[nodiscard]] bool empty() const { return containers.empty() && !volume && !set_host_ipc; }
};

// A short, stable label for why a pod was denied (a metrics label, not prose).
enum class DenialReason {
  kThreadPercentage,       // mpshare.io/thread-percentage out of 1..100 or not an integer
  kMemoryLimit,            // mpshare.io/memory-limit unparseable, <= 0 or below the minimum
  kUnknownAnnotation,      // an mpshare.io/ key nobody reads
  kAnnotationsWithoutGpu,  // mpshare annotations on a pod with no GPU container
  kGpuCount,               // the pod does not need exactly one GPU
  kInvalidGpuRequest,      // a GPU amount that is not a whole number
  kEnvConflict,            // an MPS variable already set to another value
  kVolumeConflict,         // the pipe volume or mount path already used differently
};

// "thread_percentage", "memory_limit", ... (snake_case, Prometheus-friendly).
std::string_view denialReasonLabel(DenialReason reason);

struct Decision {
  bool allowed = true;
  std::optional<DenialReason> reason;  // set iff denied
  std::string message;  // set iff denied: names the field, the value, what is allowed
  std::vector<std::string> warnings;
  PodEdits edits;    // empty when denied
  MpsLimits limits;  // the limits injected (after defaults)
};

// The admission decision for `pod`. Only CREATE is changed; other operations are
// allowed untouched. Reinvocation-idempotent: running it on its own output
// yields no edits. Example: a CREATE of a pod annotated thread-percentage "30"
// whose container "server" asks nvidia.com/gpu: 1 and has no env ->
// allowed, edits.containers[0] = {index 0, has_env false,
// env {CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=30, CUDA_MPS_PIPE_DIRECTORY=...}}; with
// daemon.pipe false the env is {CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=30} and only
// hostIPC is added besides (no volume, no mount).
Decision decideAdmission(const PodView& pod, const PodVolumes& volumes, Operation operation,
                         const WebhookRules& rules);

}  // namespace mpshare::core
