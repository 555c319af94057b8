#pragma once

// `mpshare-extender serve` without --standalone: API server from --kubeconfig,
// $KUBECONFIG or the in-cluster service account; /readyz turns ready once the
// ledger has been rebuilt from the cluster's pods.

#include "extender/config.h"
#include "extender/serve_command.h"
#include "platform/stop_signals.h"

namespace mpshare::extender {

// Serves until SIGINT or SIGTERM arrives; returns the exit code.
int runClusterServe(const ServeOptions& options, const ExtenderConfig& config,
                    const platform::StopSignals& stop_signals);

}  // namespace mpshare::extender
