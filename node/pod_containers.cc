#include "node/pod_containers.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/annotations.h"
#include "node/cgroup_path.h"
#include "platform/kube_json.h"

namespace mpshare::node {

std::map<std::string, std::string> containerIdsFromJson(const nlohmann::json& pod) {
  std::map<std::string, std::string> ids;
  const auto status = pod.find("status");
  if (status == pod.end() || !status->is_object()) return ids;
  for (const char* section :
       {"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"}) {
    const auto list = status->find(section);
    if (list == status->end() || !list->is_array()) continue;
    for (const auto& entry : *list) {
      if (!entry.is_object()) continue;
      const auto name = entry.find("name");
      const auto id = entry.find("containerID");
      if (name == entry.end() || id == entry.end() || !name->is_string() || !id->is_string())
        continue;
      const auto runtime_id = runtimeContainerId(id->get_ref<const std::string&>());
      if (!runtime_id.empty()) ids[std::string(runtime_id)] = name->get<std::string>();
    }
  }
  return ids;
}

core::Result<std::vector<NodePod>> nodePodsFromJson(const nlohmann::json& document,
                                                    const std::string& source) {
  std::vector<NodePod> pods;
  auto add = [&](const nlohmann::json& item, const std::string& at) -> core::Status {
    auto pod = platform::podFromJson(item);
    if (!pod) return core::invalidArgument(source, at + pod.error().describe());
    pods.push_back({std::move(*pod), containerIdsFromJson(item)});
    return {};
  };
  if (!document.is_object()) {
    return core::invalidArgument(source, "expected a v1.PodList or a v1.Pod object");
  }
  if (const auto items = document.find("items"); items != document.end()) {
    if (!items->is_array()) return core::invalidArgument(source, "items: expected an array");
    for (size_t i = 0; i < items->size(); ++i) {
      if (auto ok = add((*items)[i], "items[" + std::to_string(i) + "]: "); !ok) return ok.error();
    }
    return pods;
  }
  if (auto ok = add(document, ""); !ok) return ok.error();
  return pods;
}

std::optional<int64_t> pinnedLimitMiB(const std::string& value) {
  size_t start = 0;
  while (start <= value.size()) {
    const auto end = std::min(value.find(',', start), value.size());
    const std::string entry = value.substr(start, end - start);
    const auto eq = entry.find('=');
    if (eq != std::string::npos && entry.substr(0, eq) == "0" && eq + 2 <= entry.size()) {
      const char unit = entry.back();
      const std::string digits = entry.substr(eq + 1, entry.size() - eq - 2);
      int64_t amount = 0;
      const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), amount);
      if (ec != std::errc() || ptr != digits.data() + digits.size() || amount <= 0) {
        return std::nullopt;
      }
      if (unit == 'M' || unit == 'm') return amount;
      if (unit == 'G' || unit == 'g') return amount * 1024;
      return std::nullopt;
    }
    start = end + 1;
  }
  return std::nullopt;
}

ContainerLimits limitsOf(const core::PodView& pod, const std::string& container) {
  ContainerLimits limits;
  for (const auto& c : pod.containers) {
    if (c.name != container) continue;
    for (const auto& var : c.env) {
      if (!var.value) continue;
      if (var.name == core::kThreadPercentageEnv) {
        if (auto pct = core::parseThreadPercentage(*var.value)) limits.thread_percentage = *pct;
      } else if (var.name == core::kPinnedMemLimitEnv) {
        limits.memory_mib = pinnedLimitMiB(*var.value);
      }
    }
  }
  if (limits.thread_percentage || limits.memory_mib) return limits;
  // Without the env (a pod admitted before the webhook ran, or a hand-written
  // one) the annotations say what the pod was reserved.
  core::AnnotationRules rules;
  rules.min_memory_limit_mib = 1;
  if (auto parsed = core::parseMpsLimits(pod.annotations, rules)) {
    limits.thread_percentage = parsed->thread_percentage;
    limits.memory_mib = parsed->memory_limit_mib;
  }
  return limits;
}

}  // namespace mpshare::node
