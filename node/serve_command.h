#pragma once

// `mpshare-node serve` and `mpshare-node inventory`: wiring only. Start-up
// order matters and is checked here: every input is read and validated before
// anything is started (a bad spec or inventory stops the agent with the path
// named), then the MPS daemons, the pod cache, the device plugin (which serves
// before it registers), the reconcile loop and the metrics endpoint.

#include <iosfwd>
#include <vector>

#include "core/gpu_device.h"
#include "node/serve_options.h"

namespace mpshare::node {

// The node's usable GPUs: from --inventory, else NVML. MIG GPUs are dropped
// with a log line. An error names the file or the library and what to install.
core::Result<std::vector<core::GpuDevice>> loadGpus(const std::string& inventory_file);

// Runs until SIGTERM/SIGINT. Returns the exit code: 0 after a clean stop,
// 1 when start-up fails (the reason is logged).
int runServe(const ServeOptions& options);

// Prints the node's GPUs; 0, or 1 with the reason on `err`.
int runInventory(const InventoryOptions& options, std::ostream& out, std::ostream& err);

}  // namespace mpshare::node
