// What /mutate tells an operator: the outcome label of every kind of request
// (only a fault of the webhook is outcome="error", the one that pages), and the
// one log line per denial, naming the pod, the review's UID and the message.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "platform/logging.h"
#include "tests/support/captured_log.h"
#include "tests/support/read_file.h"
#include "webhook/routes.h"

namespace mpshare::webhook {
namespace {

namespace fs = std::filesystem;
using testing_support::readFile;

const fs::path kFixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/admission";

std::string fixture(const char* name) { return readFile(kFixtures / name / "request.json"); }

Config smallBodies() {
  Config config;
  config.max_request_bytes = 4096;
  return config;
}

ReviewResult throwingReview(std::string_view, const Config&) {
  throw std::runtime_error("index out of range");
}

class DecisionLogTest : public ::testing::Test {
 protected:
  static platform::HttpResponse mutate(WebhookRoutes& routes, const std::string& body,
                                       std::map<std::string, std::string> headers = {}) {
    return routes.handle({"POST", "/mutate", "timeout=10s", std::move(headers), body});
  }

  testing_support::CapturedLog log_;
};

TEST_F(DecisionLogTest, EachKindOfRequestHasItsOwnOutcome) {
  const std::map<std::string, std::string> json_type{{"content-type", "application/json"}};
  const struct {
    const char* name;
    std::string body;
    std::map<std::string, std::string> headers;
    ReviewFunction review;
    int status;
    const char* outcome;
  } cases[] = {
      {"admitted unchanged", fixture("create-no-gpu"), json_type, &reviewAdmission, 200, "allowed"},
      {"admitted with a patch, charset given",
       fixture("create-annotated"),
       {{"content-type", "Application/JSON; charset=utf-8"}},
       &reviewAdmission,
       200,
       "patched"},
      {"no Content-Type is taken as JSON",
       fixture("create-annotated"),
       {},
       &reviewAdmission,
       200,
       "patched"},
      {"denied for a bad annotation", fixture("deny-thread-percentage"), json_type,
       &reviewAdmission, 200, "denied"},
      {"malformed JSON", "{\"apiVersion\":", json_type, &reviewAdmission, 400, "bad_request"},
      {"not an AdmissionReview", R"({"apiVersion":"v1","kind":"Pod"})", json_type, &reviewAdmission,
       400, "bad_request"},
      {"wrong content type",
       fixture("create-annotated"),
       {{"content-type", "text/plain"}},
       &reviewAdmission,
       415,
       "bad_request"},
      {"oversized body", std::string(5000, ' '), json_type, &reviewAdmission, 400, "bad_request"},
      {"internal exception", fixture("create-annotated"), json_type, &throwingReview, 500, "error"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    platform::MetricsRegistry registry;
    WebhookRoutes routes(smallBodies(), registry, c.review);
    EXPECT_EQ(mutate(routes, c.body, c.headers).status, c.status);
    const std::string metrics = routes.handleMetrics({"GET", "/metrics", "", {}, ""}).body;
    EXPECT_NE(metrics.find("mpshare_webhook_requests_total{outcome=\"" + std::string(c.outcome) +
                           "\"} 1\n"),
              std::string::npos)
        << metrics;
    EXPECT_EQ(metrics.find("mpshare_webhook_requests_total{outcome="),
              metrics.rfind("mpshare_webhook_requests_total{outcome="))
        << "one outcome per request:\n"
        << metrics;
  }
}

TEST_F(DecisionLogTest, WrongContentTypeNamesWhatWasSent) {
  platform::MetricsRegistry registry;
  WebhookRoutes routes(Config{}, registry);
  const auto response =
      mutate(routes, fixture("create-annotated"), {{"content-type", "application/yaml"}});
  EXPECT_EQ(response.status, 415);
  EXPECT_EQ(response.body,
            R"({"error":"Content-Type must be application/json, got \"application/yaml\""})");
}

TEST_F(DecisionLogTest, DenialIsOneInfoLineWithPodUidAndMessage) {
  platform::MetricsRegistry registry;
  WebhookRoutes routes(Config{}, registry);
  ASSERT_EQ(mutate(routes, fixture("deny-thread-percentage")).status, 200);
  EXPECT_EQ(log_.lines(),
            std::vector<std::string>{
                "INFO pod denied pod=ml/bad-threads uid=93b42587-0000-4000-8000-000000000009 "
                "reason=thread_percentage message=\"mpshare.io/thread-percentage: must be an "
                "integer 1-100, got \\\"130\\\"\""});
}

TEST_F(DecisionLogTest, DeniedPodWithoutANameIsNamedByGenerateName) {
  // A Deployment's pod on CREATE: no name yet, the namespace only in the request.
  const std::string review =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{)"
      R"("uid":"u-7","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",)"
      R"("namespace":"ml","object":{"metadata":{"generateName":"infer-7d9f8c-",)"
      R"("annotations":{"mpshare.io/thread-percentage":"0"}},"spec":{"containers":[)"
      R"({"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}}}})";
  platform::MetricsRegistry registry;
  WebhookRoutes routes(Config{}, registry);
  ASSERT_EQ(mutate(routes, review).status, 200);
  const auto lines = log_.lines();
  ASSERT_EQ(lines.size(), 1U) << log_.str();
  EXPECT_EQ(lines[0].rfind("INFO pod denied pod=ml/infer-7d9f8c- uid=u-7 reason=thread_percentage "
                           "message=",
                           0),
            0U)
      << lines[0];
}

TEST_F(DecisionLogTest, AdmittedPodsAreNotLogged) {
  platform::MetricsRegistry registry;
  WebhookRoutes routes(Config{}, registry);
  for (const char* name : {"create-annotated", "create-no-gpu", "delete-ignored"}) {
    ASSERT_EQ(mutate(routes, fixture(name)).status, 200) << name;
  }
  EXPECT_EQ(log_.str(), "");
}

}  // namespace
}  // namespace mpshare::webhook
