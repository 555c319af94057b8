#pragma once

// `mpshare-node usage`: the node's GPU usage by pod, for a person at the node
// (text) or a script (json).

#include <string>
#include <string_view>

#include "core/result.h"
#include "node/usage_report.h"

namespace mpshare::node {

// "text": one row per container on a GPU, then one line per GPU, then one
// paragraph per double-capped pod:
//   POD          CONTAINER  GPU  THREADS  MEMORY USED / LIMIT   SM   CLIENTS
//   ml/train-a   main       0    30%      1536 / 2048 MiB       20%  1
//   ml/train-b   main       0    50%      3072 / 2048 MiB  !    -    2 !
//
//   GPU 0 GPU-8f1d...: 5120 / 81559 MiB used, 3 MPS clients, 2 slices reserved
//   (80% of the threads), 0 processes outside pods
//
//   ! pod ml/train-b has 2 MPS client processes (pids 201, 202) on GPU 0: ...
// "-" where a value is not reported; "none" where no cap is set.
// "json": one line, {"gpus":[...],"containers":[...],"doubleCapped":[...]}
// with bytes as whole numbers and absent values as null.
// Any other format is an error naming --format and the allowed values.
core::Result<std::string> formatUsage(const UsageReport& report, std::string_view format);

}  // namespace mpshare::node
