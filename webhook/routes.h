#pragma once

// The webhook's HTTP surface as a plain function (no sockets): POST /mutate,
// GET /healthz, GET /readyz, and GET /metrics for the separate metrics listener.

#include <atomic>

#include "platform/http_server.h"
#include "platform/metrics.h"
#include "webhook/config.h"

namespace mpshare::webhook {

class WebhookRoutes {
 public:
  // Registers the webhook's metrics in `registry`, which must outlive this object.
  WebhookRoutes(Config config, platform::MetricsRegistry& registry);

  // The HTTPS listener's handler. Example: handle({"POST", "/mutate", "timeout=10s", {},
  // body}) -> 200 with the response AdmissionReview; a malformed body -> 400
  // {"error": "invalid AdmissionReview: request.uid: is missing"}.
  platform::HttpResponse handle(const platform::HttpRequest& request);

  // The plain-HTTP metrics listener's handler: GET /metrics, 404 otherwise.
  platform::HttpResponse handleMetrics(const platform::HttpRequest& request) const;

  // /readyz answers 503 until this is set (after the listener is up) and
  // after shutdown starts, so the Service stops routing before the process exits.
  void setReady(bool ready) { ready_.store(ready); }

 private:
  platform::HttpResponse mutate(const platform::HttpRequest& request);

  const Config config_;
  platform::MetricsRegistry& registry_;
  platform::Counter& requests_;
  platform::Histogram& latency_;
  platform::Counter& denials_;
  std::atomic<bool> ready_{true};
};

}  // namespace mpshare::webhook
