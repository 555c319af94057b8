#pragma once

// `mpshare-node inventory [--format text|json]`: the GPUs the agent sees, for
// a person (text) or a script (json).

#include <string>
#include <string_view>
#include <vector>

#include "core/gpu_device.h"
#include "core/result.h"

namespace mpshare::node {

// "text": a table with a header, one row per GPU, columns padded to fit:
//   INDEX  UUID                                      PRODUCT                MEMORY     MIG
//   0      GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f  NVIDIA-H100-80GB-HBM3  81559 MiB  no
// "json": one line,
//   {"gpus":[{"index":0,"uuid":"GPU-...","product":"...","memoryMiB":81559,"migEnabled":false}]}
// Both end with a newline. Any other format is an error naming --format and
// the allowed values.
core::Result<std::string> formatInventory(const std::vector<core::GpuDevice>& gpus,
                                          std::string_view format);

}  // namespace mpshare::node
