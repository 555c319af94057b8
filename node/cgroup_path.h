#pragma once

// Which Kubernetes container a process runs in, from its /proc/<pid>/cgroup.
// The kubelet puts every container in a cgroup whose path names the pod UID and
// the runtime's container ID; the forms differ by cgroup version, cgroup driver
// and runtime, and all of these are understood:
//
//   cgroup v2, systemd driver, containerd
//     0::/kubepods.slice/kubepods-burstable.slice/
//        kubepods-burstable-pod1b2c..._..._...slice/cri-containerd-<id>.scope
//   cgroup v2, systemd driver, CRI-O      .../kubepods-pod<uid_>.slice/crio-<id>.scope
//   cgroup v1, cgroupfs driver, containerd
//     11:memory:/kubepods/burstable/pod1b2c...-...-.../<id>
//   cgroup v1, cgroupfs driver, CRI-O     .../pod<uid>/crio-<id>
//   nested under a node container (kind): /kubelet.slice/kubelet-kubepods.slice/...
//
// The systemd driver writes the UID with '_' for '-'; the result always has '-'.

#include <optional>
#include <string>
#include <string_view>

namespace mpshare::node {

struct CgroupContainer {
  std::string pod_uid;       // "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"
  std::string container_id;  // the runtime's ID, 64 hex digits, without "containerd://"

  bool operator==(const CgroupContainer&) const = default;
};

// The container named by one cgroup path ("/kubepods/burstable/pod<uid>/<id>"),
// or nullopt when the path is not a container of a pod: a host process, a pod's
// own slice, CRI-O's conmon scope, the agent's own cgroup.
std::optional<CgroupContainer> containerOfCgroupPath(std::string_view path);

// The container named by a whole /proc/<pid>/cgroup file: the cgroup v2 line
// ("0::...") when it names one, else the first v1 hierarchy that does.
std::optional<CgroupContainer> containerOfCgroupFile(std::string_view text);

// "containerd://<id>", "cri-o://<id>", "docker://<id>" (status.containerStatuses
// [].containerID) -> "<id>"; an ID without a scheme is returned as it is.
std::string_view runtimeContainerId(std::string_view status_container_id);

}  // namespace mpshare::node
