#include "core/annotations.h"

#include <algorithm>
#include <array>

#include "core/quantity.h"

namespace mpshare::core {
namespace {

constexpr std::array<std::string_view, 3> kKnownAnnotations{
    kThreadPercentageAnnotation, kMemoryLimitAnnotation, kGpuIndexAnnotation};

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

Result<int> parseThreadPercentage(std::string_view text) {
  const std::string field(kThreadPercentageAnnotation);
  const auto bad = [&] {
    return invalidArgument(field, "must be an integer 1-100, got " + quoted(text));
  };
  if (text.empty() || text.size() > 3) return bad();
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return bad();
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 100) return bad();
  return value;
}

Result<int64_t> parseMemoryLimitMiB(std::string_view text, int64_t min_mib) {
  const std::string field(kMemoryLimitAnnotation);
  const std::string allowed = "a Kubernetes quantity of at least " + std::to_string(min_mib) +
                              "Mi (e.g. 512Mi, 4Gi, 1.5Gi, 8G)";
  auto quantity = parseQuantity(text);
  if (!quantity) {
    return invalidArgument(field, quantity.error().message + "; expected " + allowed);
  }
  if (quantity->isNegative() || quantity->isZero()) {
    return invalidArgument(field, "must be " + allowed + ", got " + quoted(text));
  }
  const auto mib = quantity->floorDiv(kMiB);
  if (!mib) return invalidArgument(field, "is too large, got " + quoted(text));
  if (*mib < min_mib) {
    return invalidArgument(field, "must be " + allowed + ", got " + quoted(text) + " (" +
                                      std::to_string(*mib) + " MiB)");
  }
  return *mib;
}

Result<MpsLimits> parseMpsLimits(const std::map<std::string, std::string>& annotations,
                                 const AnnotationRules& rules, LimitsProblem* problem) {
  const auto failed = [problem](LimitsProblem which, Error error) {
    if (problem != nullptr) *problem = which;
    return error;
  };
  MpsLimits limits;
  for (const auto& [key, value] : annotations) {
    if (!key.starts_with(kAnnotationPrefix)) continue;
    if (key == kThreadPercentageAnnotation) {
      auto pct = parseThreadPercentage(value);
      if (!pct) return failed(LimitsProblem::kThreadPercentage, pct.error());
      limits.thread_percentage = *pct;
    } else if (key == kMemoryLimitAnnotation) {
      auto mib = parseMemoryLimitMiB(value, rules.min_memory_limit_mib);
      if (!mib) return failed(LimitsProblem::kMemoryLimit, mib.error());
      limits.memory_limit_mib = *mib;
    } else if (key != kGpuIndexAnnotation) {
      std::string known;
      for (const auto k : kKnownAnnotations) known += (known.empty() ? "" : ", ") + std::string(k);
      return failed(LimitsProblem::kUnknownAnnotation,
                    invalidArgument(key, "unknown mpshare annotation (known: " + known + ")"));
    }
  }
  return limits;
}

bool hasMpshareAnnotations(const std::map<std::string, std::string>& annotations) {
  for (const auto& entry : annotations) {
    if (entry.first.starts_with(kAnnotationPrefix)) return true;
  }
  return false;
}

std::string formatPinnedMemLimit(int64_t mib) { return "0=" + std::to_string(mib) + "M"; }

MpsLimits withDefaults(MpsLimits limits, std::optional<int> default_thread_percentage,
                       std::optional<int64_t> default_memory_limit_mib) {
  if (!limits.thread_percentage) limits.thread_percentage = default_thread_percentage;
  if (!limits.memory_limit_mib) limits.memory_limit_mib = default_memory_limit_mib;
  return limits;
}

std::string formatGpuIndices(const std::vector<int>& indices) {
  std::string text;
  for (const int index : indices) text += (text.empty() ? "" : ",") + std::to_string(index);
  return text;
}

Result<std::vector<int>> parseGpuIndices(std::string_view text) {
  std::vector<int> indices;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view part = text.substr(start, comma - start);
    const bool digits =
        !part.empty() && part.size() <= 2 && part.find_first_not_of("0123456789") == part.npos;
    const int index = digits ? std::stoi(std::string(part)) : -1;
    if (index < 0 || index > 63 ||
        std::find(indices.begin(), indices.end(), index) != indices.end()) {
      return invalidArgument(
          std::string(kGpuIndexAnnotation),
          "\"" + std::string(text) +
              R"(" is not a list of distinct GPU ordinals 0-63 such as "0" or "0,1")");
    }
    indices.push_back(index);
    start = comma + 1;
  }
  return indices;
}

}  // namespace mpshare::core
