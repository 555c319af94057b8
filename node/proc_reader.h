#pragma once

// The owner of each GPU process from the node's /proc: its cgroup names the pod
// and container (node/cgroup_path.h), its comm tells the MPS server apart. The
// root is configurable so tests (and a node without containers, as in
// tests/gpu/run_usage_validation.sh) can use a fixture tree with the same layout:
//   <root>/<pid>/cgroup   <root>/<pid>/comm

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "node/usage_report.h"

namespace mpshare::node {

// Owners of `pids`; a PID whose files cannot be read (it ended, or the agent
// does not share the host's PID namespace) gets an owner without a container.
std::map<uint32_t, ProcessOwner> readProcessOwners(const std::string& proc_root,
                                                   const std::vector<uint32_t>& pids);

// Every PID of the samples' processes, for readProcessOwners().
std::vector<uint32_t> processIds(const std::vector<GpuSample>& samples);

}  // namespace mpshare::node
