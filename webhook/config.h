#pragma once

// mpshare-webhook's YAML configuration: one struct tree with in-class defaults,
// validated at load. docs/webhook.md documents every field.
//
//   webhook:
//     gpuResourceNames: [nvidia.com/gpu, nvidia.com/gpu.shared]
//     minMemoryLimit: 256Mi
//     defaultThreadPercentage: 50      # optional; absent = no limit
//     defaultMemoryLimit: 8Gi          # optional; absent = no limit
//     maxRequestBytes: 3Mi
//     daemonAccess:
//       inject: true                  # hostIPC (+ the pipe below) on GPU pods
//       pipe: true                    # pipe volume, mount, CUDA_MPS_PIPE_DIRECTORY
//       pipeDirectory: /run/mpshare/mps/pipe
//       volumeName: mpshare-mps-pipe

#include <cstddef>
#include <istream>

#include "core/mutation.h"
#include "core/result.h"

namespace mpshare::webhook {

struct Config {
  core::WebhookRules rules;
  // Bodies above this get HTTP 400 naming the limit. The API server's own limit on
  // an object is 3 MiB (etcd), so a real pod review fits.
  size_t max_request_bytes = size_t{3} << 20;
};

// Parses the YAML in `in`. Unknown keys are rejected, and every error names the
// full field path and what is allowed, e.g.
// `webhook.minMemoryLimit: must be a quantity >= 1Mi, got "abc"`.
// An empty document yields the defaults.
core::Result<Config> parseConfig(std::istream& in);

}  // namespace mpshare::webhook
