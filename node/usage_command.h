#pragma once

// `mpshare-node usage`: one sample of the node's GPU usage by pod, printed for
// a person at the node (or as JSON). Wiring only: the GPU processes (NVML or
// --processes-file), their owners (--proc-root) and the pods (--pods-file or
// the API server) go through the same report the agent's metrics use.

#include <iosfwd>
#include <memory>

#include "node/gpu_processes.h"
#include "node/serve_options.h"

namespace mpshare::node {

// NVML's process sampler, or the file when `processes_file` is set.
core::Result<std::unique_ptr<GpuProcessSource>> openGpuProcessSource(
    const std::string& processes_file);

// Prints the usage; 0, or 1 with the reason on `err`.
int runUsage(const UsageOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mpshare::node
