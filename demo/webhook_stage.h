#pragma once

// The demo's first stage: the example pods go through a real mpshare-webhook
// server over HTTPS, as the API server would send them. Later stages (the
// scheduler extender) take the admitted pods it returns.

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace mpshare::demo {

struct ExamplePod {
  std::string file;    // manifests/examples/pods/<name>.yaml
  nlohmann::json pod;  // the manifest as JSON
};

struct AdmittedPod {
  std::string file;
  nlohmann::json pod;  // after the webhook's patch
};

// Reads every *.yaml in `dir`, sorted by name.
std::vector<ExamplePod> loadExamplePods(const std::string& dir);

// Starts the webhook (default config) on 127.0.0.1:0 over TLS with a freshly
// generated self-signed certificate in a temporary directory, POSTs each pod
// wrapped in an AdmissionReview with an HTTPS client that trusts only that CA,
// prints one table row per pod to `out`, and returns the admitted pods with
// their patches applied. Throws std::runtime_error when the server or a call fails.
std::vector<AdmittedPod> runWebhookStage(const std::vector<ExamplePod>& pods, std::ostream& out);

}  // namespace mpshare::demo
