#pragma once

// HTTP routes of mpshare-extender as a pure function HttpRequest -> HttpResponse:
//   POST {prefix}/filter, {prefix}/prioritize, {prefix}/bind  (kube-scheduler JSON)
//   GET  /healthz, /readyz, /metrics, /state
// A malformed body is a 400 naming what is wrong; an internal failure becomes
// the Error field (filter, bind) or a 500 (prioritize, whose errors the
// scheduler only logs). Nothing thrown escapes.
//
// Each verb call is counted by outcome (ExtenderMetrics::request): `ok`;
// `invalid_pod` (the pod's GPU annotations are invalid); `refused` (a bind the
// scheduler retries: no room left, unknown pod or node); `bad_request` (a
// malformed body); and `error` only for a fault of the extender or of the API
// server it binds through, the outcome to alert on.

#include <nlohmann/json.hpp>

#include "extender/seams.h"
#include "extender/service.h"
#include "platform/http_server.h"

namespace mpshare::extender {

// How a verb call ended, as counted by ExtenderMetrics::request (see above).
enum class RouteOutcome { kOk, kInvalidPod, kRefused, kBadRequest, kError };
// "ok", "invalid_pod", "refused", "bad_request", "error": the metrics label.
std::string_view routeOutcomeLabel(RouteOutcome outcome);

class ExtenderRoutes {
 public:
  // Both must outlive the routes.
  ExtenderRoutes(ExtenderService& service, const Readiness& readiness);

  platform::HttpResponse handle(const platform::HttpRequest& request);
  // For startHttpServer(): [&routes](const auto& r) { return routes.handle(r); }
  platform::HttpHandler handler();

 private:
  // Each sets `outcome` when it is not kOk.
  platform::HttpResponse filter(const platform::HttpRequest& request, RouteOutcome& outcome);
  platform::HttpResponse prioritize(const platform::HttpRequest& request, RouteOutcome& outcome);
  platform::HttpResponse bind(const platform::HttpRequest& request, RouteOutcome& outcome);
  platform::HttpResponse state();
  platform::HttpResponse metrics();

  ExtenderService& service_;
  const Readiness& readiness_;
};

// GET /state: every managed node and GPU with capacity, reserved, free and its
// pods, sorted, plus rejected nodes with their reasons.
nlohmann::json stateToJson(const core::LedgerSnapshot& snapshot,
                           const std::map<std::string, std::string>& rejected);

// GET /state's "podDistribution": the policy, where its typical pods come from,
// the window and each shape with its pods and weight, e.g.
//   {"policy": "fgd", "source": "learned", "windowPods": 2000, "minPods": 200, ...,
//    "shapes": [{"gpus": 1, "gpuMilli": 300, "gpuMemoryMiB": 8192, "pods": 812,
//                "weight": 0.406}, ...]}
// null for a policy without one.
nlohmann::json distributionToJson(std::string_view policy,
                                  const std::optional<core::DistributionView>& view,
                                  const core::DistributionWindow& window);

}  // namespace mpshare::extender
