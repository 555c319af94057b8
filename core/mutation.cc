#include "core/mutation.h"

#include <array>
#include <utility>

namespace mpshare::core {
namespace {

// Below this the CUDA context (0.15-0.5 GiB, measured) eats a large share of the cap.
constexpr int64_t kWarnBelowMiB = 1024;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string describeContainer(const ContainerView& c) {
  switch (c.kind) {
    case ContainerKind::kRegular:
      return "container " + quoted(c.name);
    case ContainerKind::kInit:
      return "init container " + quoted(c.name);
    case ContainerKind::kSidecar:
      return "sidecar container " + quoted(c.name);
  }
  return quoted(c.name);
}

Decision deny(DenialReason reason, const Error& error) {
  Decision d;
  d.allowed = false;
  d.reason = reason;
  d.message = error.describe();
  return d;
}

DenialReason denialFor(LimitsProblem problem) {
  switch (problem) {
    case LimitsProblem::kThreadPercentage:
      return DenialReason::kThreadPercentage;
    case LimitsProblem::kMemoryLimit:
      return DenialReason::kMemoryLimit;
    case LimitsProblem::kUnknownAnnotation:
      return DenialReason::kUnknownAnnotation;
  }
  return DenialReason::kUnknownAnnotation;
}

// Reads the mpshare.io/ annotations with the extender's parser (annotations.h),
// so both report the same words; the failure's kind is the denial reason.
std::optional<Decision> readLimits(const PodView& pod, const WebhookRules& rules, MpsLimits* out) {
  LimitsProblem problem{};
  auto limits =
      parseMpsLimits(pod.annotations, AnnotationRules{rules.min_memory_limit_mib}, &problem);
  if (!limits) return deny(denialFor(problem), limits.error());
  *out = withDefaults(*limits, rules.default_thread_percentage, rules.default_memory_limit_mib);
  return std::nullopt;
}

// The env entries `container` still needs; a conflicting existing entry is an error.
Result<std::vector<EnvEdit>> envToAdd(const ContainerView& container,
                                      const std::vector<EnvEdit>& wanted) {
  std::vector<EnvEdit> missing;
  for (const auto& want : wanted) {
    bool present = false;
    for (const auto& have : container.env) {
      if (have.name != want.name) continue;
      if (have.value != want.value) {
        const std::string given = have.value ? quoted(*have.value) : "a valueFrom reference";
        return invalidArgument(
            describeContainer(container),
            "env " + want.name + " is already set to " + given + "; mpshare sets it to " +
                quoted(want.value) +
                " from the pod's annotations (remove the entry or make it match)");
      }
      present = true;
    }
    if (!present) missing.push_back(want);
  }
  return missing;
}

// The pipe-directory mount `container` still needs (nullopt when already there).
Result<std::optional<VolumeMountView>> mountToAdd(const ContainerView& container,
                                                  const ContainerMounts* mounts,
                                                  const DaemonAccess& daemon) {
  if (mounts != nullptr) {
    for (const auto& m : mounts->mounts) {
      const bool same_name = m.name == daemon.volume_name;
      const bool same_path = m.mount_path == daemon.pipe_directory;
      if (same_name && same_path) return std::optional<VolumeMountView>();
      if (same_name || same_path) {
        return invalidArgument(describeContainer(container),
                               "volumeMount " + quoted(m.name) + " at " + quoted(m.mount_path) +
                                   " clashes with the MPS pipe mount " +
                                   quoted(daemon.volume_name) + " at " +
                                   quoted(daemon.pipe_directory));
      }
    }
  }
  return std::optional<VolumeMountView>(VolumeMountView{daemon.volume_name, daemon.pipe_directory});
}

}  // namespace

std::optional<Operation> parseOperation(std::string_view text) {
  if (text == "CREATE") return Operation::kCreate;
  if (text == "UPDATE") return Operation::kUpdate;
  if (text == "DELETE") return Operation::kDelete;
  if (text == "CONNECT") return Operation::kConnect;
  return std::nullopt;
}

std::string_view denialReasonLabel(DenialReason reason) {
  switch (reason) {
    case DenialReason::kThreadPercentage:
      return "thread_percentage";
    case DenialReason::kMemoryLimit:
      return "memory_limit";
    case DenialReason::kUnknownAnnotation:
      return "unknown_annotation";
    case DenialReason::kAnnotationsWithoutGpu:
      return "annotations_without_gpu";
    case DenialReason::kGpuCount:
      return "gpu_count";
    case DenialReason::kInvalidGpuRequest:
      return "invalid_gpu_request";
    case DenialReason::kEnvConflict:
      return "env_conflict";
    case DenialReason::kVolumeConflict:
      return "volume_conflict";
  }
  return "unknown";
}

Decision decideAdmission(const PodView& pod, const PodVolumes& volumes, Operation operation,
                         const WebhookRules& rules) {
  if (operation != Operation::kCreate) return Decision{};

  auto request = gpuRequestOf(pod, rules.resources);
  if (!request) return deny(DenialReason::kInvalidGpuRequest, request.error());
  if (!request->isMpsPod()) {
    if (!hasMpshareAnnotations(pod.annotations)) return Decision{};
    std::string names;
    for (const auto& n : rules.resources.names) names += (names.empty() ? "" : " or ") + n;
    return deny(
        DenialReason::kAnnotationsWithoutGpu,
        invalidArgument("metadata.annotations",
                        "mpshare.io/ annotations are set but no container asks for a GPU (" +
                            names + "); remove the annotations or request 1 GPU"));
  }
  if (auto one = checkExactlyOneGpu(*request); !one) {
    return deny(DenialReason::kGpuCount, one.error());
  }

  Decision decision;
  if (auto denied = readLimits(pod, rules, &decision.limits)) return *denied;

  std::vector<EnvEdit> wanted;
  if (decision.limits.thread_percentage) {
    wanted.push_back(
        {std::string(kThreadPercentageEnv), std::to_string(*decision.limits.thread_percentage)});
  }
  if (decision.limits.memory_limit_mib) {
    wanted.push_back(
        {std::string(kPinnedMemLimitEnv), formatPinnedMemLimit(*decision.limits.memory_limit_mib)});
    if (*decision.limits.memory_limit_mib < kWarnBelowMiB) {
      decision.warnings.push_back(
          "mpshare.io/memory-limit " + std::to_string(*decision.limits.memory_limit_mib) +
          " MiB is below 1 GiB; the CUDA context itself takes 0.15-0.5 GiB of it");
    }
  }
  const DaemonAccess& daemon = rules.daemon;
  const bool inject_pipe = daemon.inject && daemon.pipe;
  if (inject_pipe) wanted.push_back({std::string(kPipeDirectoryEnv), daemon.pipe_directory});

  for (const auto& ask : request->asks) {
    const ContainerView& c = *ask.container;
    ContainerEdit edit;
    edit.init = c.kind != ContainerKind::kRegular;
    edit.index = c.index;
    edit.name = c.name;
    edit.has_env = c.has_env;
    auto env = envToAdd(c, wanted);
    if (!env) return deny(DenialReason::kEnvConflict, env.error());
    edit.env = std::move(*env);
    if (inject_pipe) {
      auto it = volumes.containers.find({edit.init, edit.index});
      const ContainerMounts* mounts = it == volumes.containers.end() ? nullptr : &it->second;
      edit.has_volume_mounts = mounts != nullptr && mounts->has_volume_mounts;
      auto mount = mountToAdd(c, mounts, daemon);
      if (!mount) return deny(DenialReason::kVolumeConflict, mount.error());
      edit.mount = *mount;
    }
    if (!edit.env.empty() || edit.mount) decision.edits.containers.push_back(std::move(edit));
  }

  if (inject_pipe) {
    decision.edits.has_volumes = volumes.has_volumes;
    auto it = volumes.host_paths.find(daemon.volume_name);
    if (it == volumes.host_paths.end()) {
      decision.edits.volume = HostPathVolume{daemon.volume_name, daemon.pipe_directory};
    } else if (it->second != daemon.pipe_directory) {
      return deny(DenialReason::kVolumeConflict,
                  invalidArgument("spec.volumes",
                                  "volume " + quoted(daemon.volume_name) + " must be hostPath " +
                                      quoted(daemon.pipe_directory) +
                                      " (the MPS pipe directory), got " + quoted(it->second)));
    }
  }
  // MPS clients and their server share memory through the host's IPC namespace,
  // whoever provides the pipe.
  if (daemon.inject) decision.edits.set_host_ipc = !volumes.host_ipc;
  return decision;
}

}  // namespace mpshare::core
