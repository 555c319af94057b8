#include "webhook/routes.h"

#include <cctype>
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

ReviewResult badRequest(int status, std::string error) {
  ReviewResult result;
  result.outcome = ReviewOutcome::kBadRequest;
  result.http_status = status;
  result.error = std::move(error);
  result.body = platform::errorJson(result.error);
  return result;
}

// The API server sends "application/json"; a missing header is taken as JSON
// (clients such as curl --data set one, hand-written ones may not).
bool isJsonContentType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  if (value.size() != kJson.size()) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kJson[i]) return false;
  }
  return true;
}

}  // namespace

WebhookRoutes::WebhookRoutes(Config config, platform::MetricsRegistry& registry,
                             ReviewFunction review)
    : config_(std::move(config)),
      review_(review),
      registry_(registry),
      requests_(registry.counter("mpshare_webhook_requests_total",
                                 "Admission reviews answered, by outcome (allowed, patched, "
                                 "denied, bad_request; error only for a fault of the webhook).")),
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
  // Anything but the outcomes below is a fault of the webhook, the one
  // outcome worth paging for (docs/operations.md).
  std::string_view outcome = "error";
  HttpResponse response;
  try {
    ReviewResult result;
    const auto content_type = request.headers.find("content-type");
    if (content_type != request.headers.end() && !isJsonContentType(content_type->second)) {
      result = badRequest(
          415, "Content-Type must be application/json, got \"" + content_type->second + "\"");
    } else if (request.body.size() > config_.max_request_bytes) {
      result = badRequest(
          400, "request body exceeds " + std::to_string(config_.max_request_bytes) + " bytes");
    } else {
      result = review_(request.body, config_);
    }
    if (result.outcome == ReviewOutcome::kDenied) {
      const std::string_view reason =
          result.denial ? core::denialReasonLabel(*result.denial) : std::string_view("other");
      denials_.inc({{"reason", std::string(reason)}});
      platform::logInfo("pod denied", {{"pod", result.pod},
                                       {"uid", result.uid},
                                       {"reason", std::string(reason)},
                                       {"message", result.denial_message}});
    } else if (result.outcome == ReviewOutcome::kBadRequest) {
      platform::logWarn("bad admission request", {{"error", result.error}});
    }
    response = {result.http_status, "application/json", std::move(result.body)};
    outcome = outcomeLabel(result.outcome);
  } catch (const std::exception& e) {
    // reviewAdmission does not throw; this guards the guarantee of one reply.
    platform::logError("admission review failed", {{"error", e.what()}});
    response = jsonError(500, std::string("internal error: ") + e.what());
  } catch (...) {
    platform::logError("admission review failed", {{"error", "unknown exception"}});
    response = jsonError(500, "internal error");
  }
  requests_.inc({{"outcome", std::string(outcome)}});
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
