// Hostile AdmissionReview bodies through the real /mutate route, in process:
// numbers beyond a double (answered 500 "number overflow" and counted as
// outcome="error", which pages) and bodies nested far past the depth limit.
// Each must be a 400 naming the problem, counted as bad_request.

#include <gtest/gtest.h>

#include <string>

#include "platform/json_limits.h"
#include "webhook/routes.h"

namespace mpshare::webhook {
namespace {

using platform::kMaxJsonDepth;

// A Pod CREATE with `extra` as a member of the pod: the body, request and
// object are 3 levels, so the body nests 3 + depth(extra) deep.
std::string review(const std::string& extra) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",)"
         R"("kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{)"
         R"("metadata":{"name":"p"},"spec":{"containers":[{"name":"s","resources":{"limits":)"
         R"({"nvidia.com/gpu":"1"}}}]},"extra":)" +
         extra + "}}}";
}
constexpr size_t kOuter = 3;

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

class HostileBodyTest : public ::testing::Test {
 protected:
  platform::HttpResponse mutate(const std::string& body) {
    return routes_.handle({"POST", "/mutate", "timeout=10s", {}, body});
  }
  std::string metrics() const {
    return routes_.handleMetrics({"GET", "/metrics", "", {}, ""}).body;
  }

  platform::MetricsRegistry registry_;
  WebhookRoutes routes_{Config{}, registry_};
};

std::string refusal(const std::string& message) {
  return R"({"error":"invalid AdmissionReview: body: )" + message + "\"}";
}

std::string outOfRange(size_t at, const std::string& number) {
  return "number out of range at byte " + std::to_string(at) + ": " + number +
         " (numbers must fit a double, up to about 1.8e308, and integers 64 bits)";
}

TEST_F(HostileBodyTest, NumbersOutOfRangeAre400NamingWhere) {
  const struct {
    const char* name;
    std::string extra;
    const char* number;  // nullptr: accepted
  } cases[] = {
      {"beyond a double, in a field never read", "1e400", "1e400"},
      {"negative, in an array", "[0,-1.5e999]", "-1.5e999"},
      {"an integer beyond 64 bits", R"({"n":99999999999999999999})", "99999999999999999999"},
      {"after an earlier, fitting one", "[1e308,2e308]", "2e308"},
      {"underflow is zero, not an error", "1e-400", nullptr},
      {"the largest integers fit", "[18446744073709551615,-9223372036854775808]", nullptr},
      {"in a string it is text", R"("1e400")", nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string body = review(c.extra);
    const auto reply = mutate(body);
    if (c.number == nullptr) {
      EXPECT_EQ(reply.status, 200) << reply.body;
      continue;
    }
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(reply.body, refusal(outOfRange(body.find(c.number), c.number)));
  }
}

TEST_F(HostileBodyTest, DeepBodiesAre400NamingTheLimitAtAnyDepth) {
  const struct {
    const char* name;
    size_t depth;  // of the whole body
    bool accepted;
  } cases[] = {
      {"60,000 deep", 60'000, false},
      {"3 MB deep", 1'500'000, false},
      {"one past the limit", kMaxJsonDepth + 1, false},
      {"at the limit", kMaxJsonDepth, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string body = review(nested(c.depth - kOuter));
    const auto reply = mutate(body);
    if (c.accepted) {
      EXPECT_EQ(reply.status, 200) << reply.body.substr(0, 300);
      continue;
    }
    const size_t extra_at = body.find("\"extra\":") + 8;
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(reply.body, refusal(platform::tooDeepMessage(extra_at + kMaxJsonDepth - kOuter)));
  }
  // Brackets inside strings are text, however many.
  EXPECT_EQ(mutate(review("\"" + nested(60'000) + "\"")).status, 200);
}

TEST_F(HostileBodyTest, RefusalsCountAsBadRequestsNotErrors) {
  EXPECT_EQ(mutate(review("1e400")).status, 400);
  EXPECT_EQ(mutate(review(nested(60'000))).status, 400);
  EXPECT_EQ(mutate(review("{}")).status, 200);
  const std::string text = metrics();
  EXPECT_NE(text.find(R"(mpshare_webhook_requests_total{outcome="bad_request"} 2)"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(R"(outcome="error")"), std::string::npos) << text;
}

}  // namespace
}  // namespace mpshare::webhook
