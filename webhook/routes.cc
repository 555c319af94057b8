#include "webhook/routes.h"

#include <chrono>

#include "platform/json_text.h"
#include "platform/logging.h"
#include "webhook/review.h"

namespace mpshare::webhook {
namespace {

using platform::HttpRequest;
using platform::HttpResponse;

HttpResponse jsonError(int status, const std::string& message) {
  return {status, "application/json", platform::errorJson(message)};
}

HttpResponse methodNotAllowed(const HttpRequest& request, const char* allowed) {
  return jsonError(
      405, request.method + " is not allowed on " + request.path + " (use " + allowed + ")");
}

}  // namespace

WebhookRoutes::WebhookRoutes(Config config, platform::MetricsRegistry& registry)
    : config_(std::move(config)),
      registry_(registry),
      requests_(registry.counter("mpshare_webhook_requests_total",
                                 "Admission reviews answered, by outcome "
                                 "(allowed, patched, denied, bad_request, error).")),
      latency_(registry.histogram("mpshare_webhook_request_duration_seconds",
                                  "Time to answer one admission review, in seconds.",
                                  platform::latencyBuckets())),
      denials_(registry.counter("mpshare_webhook_denials_total", "Pods denied, by reason.")) {}

HttpResponse WebhookRoutes::handle(const HttpRequest& request) {
  if (request.path == "/mutate") {
    if (request.method != "POST") return methodNotAllowed(request, "POST");
    return mutate(request);
  }
  if (request.path == "/healthz" || request.path == "/readyz") {
    if (request.method != "GET") return methodNotAllowed(request, "GET");
    if (request.path == "/readyz" && !ready_.load()) return {503, "text/plain", "not ready\n"};
    return {200, "text/plain", "ok\n"};
  }
  return jsonError(404, "no route " + request.path +
                            " (routes: POST /mutate, GET /healthz, "
                            "GET /readyz)");
}

HttpResponse WebhookRoutes::mutate(const HttpRequest& request) {
  const auto start = std::chrono::steady_clock::now();
  std::string outcome = "error";
  HttpResponse response;
  try {
    ReviewResult result;
    if (request.body.size() > config_.max_request_bytes) {
      result.outcome = ReviewOutcome::kBadRequest;
      result.http_status = 400;
      result.error = "request body exceeds " + std::to_string(config_.max_request_bytes) + " bytes";
      result.body = platform::errorJson(result.error);
    } else {
      result = reviewAdmission(request.body, config_);
    }
    outcome = outcomeLabel(result.outcome);
    if (result.denial)
      denials_.inc({{"reason", std::string(core::denialReasonLabel(*result.denial))}});
    if (result.outcome == ReviewOutcome::kBadRequest) {
      platform::logWarn("bad admission request", {{"error", result.error}});
    }
    response = {result.http_status, "application/json", std::move(result.body)};
  } catch (const std::exception& e) {
    // reviewAdmission does not throw; this guards the guarantee of one reply.
    platform::logError("admission review failed", {{"error", e.what()}});
    response = jsonError(500, std::string("internal error: ") + e.what());
  }
  requests_.inc({{"outcome", outcome}});
  latency_.observe({},
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return response;
}

HttpResponse WebhookRoutes::handleMetrics(const HttpRequest& request) const {
  if (request.path != "/metrics")
    return jsonError(404, "no route " + request.path + " (use GET /metrics)");
  if (request.method != "GET") return methodNotAllowed(request, "GET");
  return {200, platform::kMetricsContentType, registry_.render()};
}

}  // namespace mpshare::webhook
