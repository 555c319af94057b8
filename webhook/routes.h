#pragma once

// The webhook's HTTP surface as a plain function (no sockets): POST /mutate,
// GET /healthz, GET /readyz, and GET /metrics for the separate metrics listener.

#include <atomic>

#include "platform/http_server.h"
#include "platform/metrics.h"
#include "webhook/config.h"
#include "webhook/review.h"

namespace mpshare::webhook {

// How /mutate answers a body: reviewAdmission, or a stand-in in tests (one that
// throws, to exercise the guarantee of one reply).
using ReviewFunction = ReviewResult (*)(std::string_view body, const Config& config);

class WebhookRoutes {
 public:
  // Registers the webhook's metrics in `registry`, which must outlive this object.
  // Each denial is logged at INFO, one line naming the pod, the review's UID and
  // the message; admitted pods are not logged.
  WebhookRoutes(Config config, platform::MetricsRegistry& registry,
                ReviewFunction review = &reviewAdmission);

  // The HTTPS listener's handler. Example: handle({"POST", "/mutate", "timeout=10s", {},
  // body}) -> 200 with the response AdmissionReview; a malformed body -> 400
  // {"error": "invalid AdmissionReview: request.uid: is missing"}; a Content-Type
  // other than application/json -> 415 (no Content-Type is taken as JSON).
  platform::HttpResponse handle(const platform::HttpRequest& request);

  // The plain-HTTP metrics listener's handler: GET /metrics, 404 otherwise.
  platform::HttpResponse handleMetrics(const platform::HttpRequest& request) const;

  // /readyz answers 503 until this is set (after the listener is up) and
  // after shutdown starts, so the Service stops routing before the process exits.
  void setReady(bool ready) { ready_.store(ready); }

 private:
  platform::HttpResponse mutate(const platform::HttpRequest& request);

  const Config config_;
  const ReviewFunction review_;
  platform::MetricsRegistry& registry_;
  platform::Counter& requests_;
  platform::Histogram& latency_;
  platform::Counter& denials_;
  std::atomic<bool> ready_{true};
};

}  // namespace mpshare::webhook
