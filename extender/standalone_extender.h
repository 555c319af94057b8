#pragma once

// A whole extender wired for standalone mode (no API server): config, inventory
// source, in-memory pod lookup and binder, metrics, routes. `serve --standalone`,
// the demo and the HTTP tests all build this one object.

#include <memory>

#include "extender/config.h"
#include "extender/metrics.h"
#include "extender/routes.h"
#include "extender/seams.h"
#include "extender/service.h"
#include "extender/standalone.h"
#include "platform/metrics.h"

namespace mpshare::extender {

class StandaloneExtender {
 public:
  // `nodes` may be null (nodes then come only from requests in the Nodes form,
  // at most config.max_learned_nodes of them: StandaloneService).
  // Fails when the node source does (e.g. an unreadable --nodes file).
  static core::Result<std::unique_ptr<StandaloneExtender>> create(ExtenderConfig config,
                                                                  NodeSource* nodes);

  [[nodiscard]] ExtenderRoutes& routes() { return routes_; }
  [[nodiscard]] StandaloneService& service() { return service_; }
  [[nodiscard]] MemoryBinder& binder() { return binder_; }

 private:
  explicit StandaloneExtender(ExtenderConfig config);

  platform::MetricsRegistry registry_;
  ExtenderMetrics metrics_;
  MemoryPodLookup pods_;
  MemoryBinder binder_;
  ReadyFlag ready_;
  StandaloneService service_;
  ExtenderRoutes routes_;
};

}  // namespace mpshare::extender
