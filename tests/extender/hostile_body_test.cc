// Hostile request bodies through the real routes, in process: bodies nested far
// past the depth limit (a 117 KB one crashed the extender with a stack
// overflow) and numbers beyond a double. Each must be a 400 naming the problem
// and the limit, counted as bad_request; the extender keeps answering.

#include <gtest/gtest.h>

#include <string>

#include "extender/standalone_extender.h"
#include "platform/json_limits.h"
#include "tests/support/require_ok.h"

namespace mpshare::extender {
namespace {

using platform::kMaxJsonDepth;

constexpr const char* kPod =
    R"({"metadata":{"name":"p","namespace":"ml","uid":"u1","annotations":)"
    R"({"mpshare.io/thread-percentage":"30","mpshare.io/memory-limit":"4Gi"}},)"
    R"("spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}})";

constexpr const char* kNodeMetadata =
    R"({"name":"gpu-a","labels":{"mpshare.io/mps":"enabled","nvidia.com/gpu.count":"1",)"
    R"("nvidia.com/gpu.memory":"40960","nvidia.com/gpu.replicas":"4"}})";

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// The filter body in the Nodes form (the one that crashed) with `extra` as a
// member of the node: the body, Nodes, items and the node are 4 levels, so the
// body nests 4 + depth(extra) deep.
std::string nodesForm(const std::string& extra) {
  return std::string(R"({"Pod":)") + kPod + R"(,"Nodes":{"items":[{"metadata":)" + kNodeMetadata +
         R"(,"extra":)" + extra + "}]}}";
}
constexpr size_t kNodesFormOuter = 4;

// The NodeNames form (simdjson's fast path), `extra` one level down.
std::string nodeNamesForm(const std::string& extra) {
  return std::string(R"({"Pod":)") + kPod + R"(,"NodeNames":["gpu-a"],"extra":)" + extra + "}";
}
constexpr size_t kNodeNamesFormOuter = 1;

std::unique_ptr<StandaloneExtender> makeExtender() {
  return testing_support::requireOk(StandaloneExtender::create(ExtenderConfig{}, nullptr),
                                    "StandaloneExtender::create");
}

platform::HttpResponse post(StandaloneExtender& extender, const std::string& path,
                            const std::string& body) {
  platform::HttpRequest request;
  request.method = "POST";
  request.path = path;
  request.body = body;
  return extender.routes().handle(request);
}

// The refusal for a body whose `extra` starts at `extra_at` and sits `outer`
// levels down: the bracket that opens level kMaxJsonDepth + 1 is named.
std::string tooDeepAnswer(const char* kind, size_t extra_at, size_t outer) {
  return std::string(R"({"error":"malformed )") + kind +
         ": body: " + platform::tooDeepMessage(extra_at + kMaxJsonDepth - outer) + "\"}";
}

TEST(HostileBodyTest, DeepBodiesAre400NamingTheLimitAtAnyDepth) {
  const struct {
    const char* name;
    std::string (*form)(const std::string&);
    size_t outer;
    size_t depth;  // of the whole body
  } cases[] = {
      {"Nodes form, 60,000 deep (crashed)", nodesForm, kNodesFormOuter, 60'000},
      {"Nodes form, 3 MB deep", nodesForm, kNodesFormOuter, 1'500'000},
      {"Nodes form, one past the limit", nodesForm, kNodesFormOuter, kMaxJsonDepth + 1},
      {"NodeNames form, 60,000 deep", nodeNamesForm, kNodeNamesFormOuter, 60'000},
      {"NodeNames form, 3 MB deep", nodeNamesForm, kNodeNamesFormOuter, 1'500'000},
      {"NodeNames form, one past the limit", nodeNamesForm, kNodeNamesFormOuter, kMaxJsonDepth + 1},
  };
  auto extender = makeExtender();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string extra = nested(c.depth - c.outer);
    const std::string body = c.form(extra);
    const size_t extra_at = body.find("\"extra\":") + 8;
    for (const char* verb : {"/scheduler/filter", "/scheduler/prioritize"}) {
      const auto reply = post(*extender, verb, body);
      EXPECT_EQ(reply.status, 400) << verb;
      EXPECT_EQ(reply.body, tooDeepAnswer("ExtenderArgs", extra_at, c.outer)) << verb;
    }
  }
  const std::string bind =
      R"({"PodName":"p","PodNamespace":"ml","Node":"gpu-a","extra":)" + nested(60'000) + "}";
  const auto reply = post(*extender, "/scheduler/bind", bind);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body, tooDeepAnswer("ExtenderBindingArgs", bind.find("\"extra\":") + 8, 1));
}

TEST(HostileBodyTest, DepthUpToTheLimitAndBracketsInStringsAreAccepted) {
  const struct {
    const char* name;
    std::string body;
  } cases[] = {
      {"Nodes form at the limit", nodesForm(nested(kMaxJsonDepth - kNodesFormOuter))},
      {"NodeNames form at the limit", nodeNamesForm(nested(kMaxJsonDepth - kNodeNamesFormOuter))},
      {"brackets inside a string", nodesForm("\"" + nested(60'000) + "\"")},
      {"escaped quotes before brackets in a string",
       nodeNamesForm(R"("\"\\\")" + std::string(60'000, '[') + "\"")},
  };
  auto extender = makeExtender();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto reply = post(*extender, "/scheduler/filter", c.body);
    EXPECT_EQ(reply.status, 200) << reply.body.substr(0, 300);
    EXPECT_NE(reply.body.find(R"("Error":"")"), std::string::npos) << reply.body.substr(0, 300);
  }
}

TEST(HostileBodyTest, NumbersBeyondADoubleAre400NamingWhere) {
  const struct {
    const char* name;
    std::string body;
    const char* number;
    int status;
  } cases[] = {
      {"Nodes form", nodesForm("1e400"), "1e400", 400},
      {"NodeNames form", nodeNamesForm("[1,-1e400]"), "-1e400", 400},
      {"an integer beyond 64 bits", nodeNamesForm("99999999999999999999"), nullptr, 200},
      {"underflow is zero, not an error", nodeNamesForm("1e-400"), nullptr, 200},
      {"in a string it is text", nodesForm("\"1e400\""), nullptr, 200},
  };
  auto extender = makeExtender();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto reply = post(*extender, "/scheduler/filter", c.body);
    EXPECT_EQ(reply.status, c.status) << reply.body;
    if (c.number == nullptr) continue;
    const size_t at = c.body.find(c.number);
    EXPECT_EQ(reply.body,
              R"({"error":"malformed ExtenderArgs: body: number out of range at byte )" +
                  std::to_string(at) + ": " + c.number +
                  " (numbers must fit a double, up to about 1.8e308, and integers 64 "
                  "bits)\"}");
  }
}

TEST(HostileBodyTest, RefusalsCountAsBadRequestsAndServiceGoesOn) {
  auto extender = makeExtender();
  EXPECT_EQ(post(*extender, "/scheduler/filter", nodesForm(nested(60'000))).status, 400);
  EXPECT_EQ(post(*extender, "/scheduler/filter", nodesForm("1e400")).status, 400);
  EXPECT_EQ(post(*extender, "/scheduler/filter", nodesForm("{}")).status, 200);
  platform::HttpRequest request;
  request.method = "GET";
  request.path = "/metrics";
  const std::string metrics = extender->routes().handle(request).body;
  EXPECT_NE(
      metrics.find(R"(mpshare_extender_requests_total{outcome="bad_request",verb="filter"} 2)"),
      std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(mpshare_extender_requests_total{outcome="ok",verb="filter"} 1)"),
            std::string::npos);
  EXPECT_EQ(metrics.find(R"(outcome="error")"), std::string::npos);
}

}  // namespace
}  // namespace mpshare::extender
