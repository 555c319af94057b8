#pragma once

// The user's interface: mpshare.io/ pod annotations, parsed into MPS client limits.
// Both the webhook (to inject env) and the extender (to reserve budget) read pods
// through these functions, so a pod means the same thing to both.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mpshare::core {

inline constexpr std::string_view kAnnotationPrefix = "mpshare.io/";
inline constexpr std::string_view kThreadPercentageAnnotation = "mpshare.io/thread-percentage";
inline constexpr std::string_view kMemoryLimitAnnotation = "mpshare.io/memory-limit";
inline constexpr std::string_view kGpuIndexAnnotation = "mpshare.io/gpu-index";

inline constexpr std::string_view kThreadPercentageEnv = "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE";
inline constexpr std::string_view kPinnedMemLimitEnv = "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT";
inline constexpr std::string_view kPipeDirectoryEnv = "CUDA_MPS_PIPE_DIRECTORY";

// Per-client limits a pod asks for; an absent annotation leaves its field empty.
struct MpsLimits {
  std::optional<int> thread_percentage;     // 1..100
  std::optional<int64_t> memory_limit_mib;  // whole MiB, >= the configured minimum
};

struct AnnotationRules {
  int64_t min_memory_limit_mib = 256;
};

// "30" -> 30. Only integers 1..100: MPS silently ignores 0, 101 and the like,
// so accepting them would promise a limit that never applies.
Result<int> parseThreadPercentage(std::string_view text);

// "4Gi" -> 4096, "1.5Gi" -> 1536, "8G" -> 7629 (rounded down to whole MiB).
// Zero, negative, unparseable, or below `min_mib` is an error.
Result<int64_t> parseMemoryLimitMiB(std::string_view text, int64_t min_mib);

// Which rule an annotation broke, as a type: the webhook's denial reason (and
// its metrics label) comes from this, never from the error's text.
enum class LimitsProblem { kThreadPercentage, kMemoryLimit, kUnknownAnnotation };

// The limits in `annotations`; errors name the annotation, what was given and what
// is allowed. Unknown mpshare.io/ keys are errors too: a typo must not silently
// become "no limit". On an error, `problem` (when given) says which rule it was.
Result<MpsLimits> parseMpsLimits(const std::map<std::string, std::string>& annotations,
                                 const AnnotationRules& rules, LimitsProblem* problem = nullptr);

// `limits` with each absent limit taken from its configured default (an empty
// default leaves it absent: no limit in that dimension). The webhook's env and
// the extender's reservation both come from this, so what the ledger charges a
// pod is what MPS enforces on it.
// Example: {30, nullopt} with defaults {50, 8192} -> {30, 8192}.
MpsLimits withDefaults(MpsLimits limits, std::optional<int> default_thread_percentage,
                       std::optional<int64_t> default_memory_limit_mib);

// True if any annotation key starts with mpshare.io/.
bool hasMpshareAnnotations(const std::map<std::string, std::string>& annotations);

// The exact CUDA_MPS_PINNED_DEVICE_MEM_LIMIT value MPS parses: "0=<MiB>M".
// (A decimal, a space, or an ordinal the container cannot see makes MPS ignore it.)
std::string formatPinnedMemLimit(int64_t mib);

// The value of mpshare.io/gpu-index, written by the extender at bind (and by
// mpshare-node for pods placed by others): {0, 1} -> "0,1".
std::string formatGpuIndices(const std::vector<int>& indices);

// "0" -> {0}; "0,1" -> {0, 1}: distinct device ordinals 0..63. Anything else is
// an error naming the annotation and the value, e.g.
//   mpshare.io/gpu-index: "one" is not a list of distinct GPU ordinals 0-63 such as "0" or "0,1"
Result<std::vector<int>> parseGpuIndices(std::string_view text);

}  // namespace mpshare::core
