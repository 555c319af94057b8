#include "node/cgroup_path.h"

#include <algorithm>
#include <array>
#include <vector>

namespace mpshare::node {
namespace {

// Runtime prefixes of a container's scope (systemd driver) or directory
// (cgroupfs driver with CRI-O). containerd's cgroupfs form has no prefix.
constexpr std::array<std::string_view, 4> kScopePrefixes = {"cri-containerd-", "crio-", "docker-",
                                                            "cri-dockerd-"};

bool isHex(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// A pod UID as the kubelet writes it (8-4-4-4-12 hex, '-' or '_' between), normalised to '-'.
std::optional<std::string> podUid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string uid(text);
  for (size_t i = 0; i < uid.size(); ++i) {
    const bool separator = i == 8 || i == 13 || i == 18 || i == 23;
    if (separator) {
      if (uid[i] != '-' && uid[i] != '_') return std::nullopt;
      uid[i] = '-';
    } else if (!isHex(std::string_view(&uid[i], 1))) {
      return std::nullopt;
    }
  }
  return uid;
}

// The pod UID of a pod's cgroup: "pod<uid>" (cgroupfs) or "...-pod<uid_>.slice" (systemd).
std::optional<std::string> podOfComponent(std::string_view component) {
  if (component.starts_with("pod")) return podUid(component.substr(3));
  if (!component.ends_with(".slice")) return std::nullopt;
  component.remove_suffix(6);
  const auto at = component.rfind("-pod");
  if (at == std::string_view::npos) return std::nullopt;
  return podUid(component.substr(at + 4));
}

// The container ID of the component below the pod's: "<id>", "<prefix><id>" or
// "<prefix><id>.scope". CRI-O's "crio-conmon-<id>" is its monitor, not the container.
std::optional<std::string> containerOfComponent(std::string_view component) {
  if (component.ends_with(".scope")) component.remove_suffix(6);
  if (component.starts_with("crio-conmon-")) return std::nullopt;
  for (const auto prefix : kScopePrefixes) {
    if (component.starts_with(prefix)) {
      component.remove_prefix(prefix.size());
      break;
    }
  }
  // Runtime IDs are 64 hex digits; shorter hex would be a guess.
  if (component.size() != 64 || !isHex(component)) return std::nullopt;
  return std::string(component);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

}  // namespace

std::optional<CgroupContainer> containerOfCgroupPath(std::string_view path) {
  const auto components = split(path, '/');
  // The innermost pod component wins: a nested node (kind) has kubepods twice at most,
  // and the container always sits right below its pod.
  for (size_t i = components.size(); i-- > 0;) {
    auto uid = podOfComponent(components[i]);
    if (!uid) continue;
    if (i + 1 >= components.size()) return std::nullopt;  // the pod's own cgroup
    auto id = containerOfComponent(components[i + 1]);
    if (!id) return std::nullopt;
    return CgroupContainer{std::move(*uid), std::move(*id)};
  }
  return std::nullopt;
}

std::optional<CgroupContainer> containerOfCgroupFile(std::string_view text) {
  std::optional<CgroupContainer> first_v1;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    // "hierarchy-ID:controller-list:cgroup-path"; the path may itself contain ':'.
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    auto found = containerOfCgroupPath(line.substr(second + 1));
    if (!found) continue;
    if (line.substr(0, second) == "0:") return found;  // cgroup v2's unified line
    if (!first_v1) first_v1 = std::move(found);
  }
  return first_v1;
}

std::string_view runtimeContainerId(std::string_view status_container_id) {
  const auto scheme = status_container_id.find("://");
  return scheme == std::string_view::npos ? status_container_id
                                          : status_container_id.substr(scheme + 3);
}

}  // namespace mpshare::node
