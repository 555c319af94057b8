#pragma once

// A cluster-mode extender for tests: started against the test API server and
// ready (nodes and pods listed) before the test goes on, as the scheduler
// would only call it once its /readyz says so.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "extender/cluster/cluster_extender.h"
#include "tests/support/require_ok.h"

namespace mpshare::testing_support {

// Throws when it cannot start or is not ready within `wait`, after recording
// a failure (so the failure carries the test's SCOPED_TRACE, e.g. its seed).
inline std::unique_ptr<extender::ClusterExtender> startReadyExtender(
    const platform::KubeConfig& kube, const extender::ClusterOptions& options,
    std::chrono::milliseconds wait, extender::ExtenderConfig config = {}) {
  auto started = extender::ClusterExtender::start(std::move(config), kube, options);
  if (!started) ADD_FAILURE() << "ClusterExtender::start: " << started.error().describe();
  auto extender = requireOk(std::move(started), "ClusterExtender::start");
  if (!extender->waitReady(wait)) {
    const std::string why =
        "ClusterExtender not ready within " + std::to_string(wait.count()) + " ms";
    ADD_FAILURE() << why;
    throw std::runtime_error(why);
  }
  return extender;
}

}  // namespace mpshare::testing_support
