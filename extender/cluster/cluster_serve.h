#pragma once

// `mpshare-extender serve` without --standalone: API server from --kubeconfig,
// $KUBECONFIG or the in-cluster service account; /readyz turns ready once the
// ledger has been rebuilt from the cluster's pods.

#include <signal.h>

#include "extender/config.h"
#include "extender/serve_command.h"

namespace mpshare::extender {

// Serves until a signal in `stop_signals` arrives; returns the exit code.
int runClusterServe(const ServeOptions& options, const ExtenderConfig& config, const sigset_t& stop_signals);

}  // namespace mpshare::extender
