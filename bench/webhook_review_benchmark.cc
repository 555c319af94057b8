// Cost of the pure review path, no sockets: parse an AdmissionReview, decide,
// build the JSON Patch, serialise the answer. Run from a Release build:
//   build-rel/bench/webhook_review_benchmark

#include <benchmark/benchmark.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "webhook/review.h"
#include "webhook/routes.h"

namespace {

std::string fixture(const char* name) {
  std::ifstream in(std::string(MPSHARE_SOURCE_DIR) + "/tests/fixtures/admission/" + name +
                   "/request.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The API server sends compact JSON; the fixtures are pretty-printed for review.
std::string compact(const std::string& pretty) { return nlohmann::json::parse(pretty).dump(); }

void reviewBody(benchmark::State& state, const std::string& body) {
  const mpshare::webhook::Config config;
  for (auto _ : state) {
    auto result = mpshare::webhook::reviewAdmission(body, config);
    benchmark::DoNotOptimize(result.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void reviewFixture(benchmark::State& state, const char* name) { reviewBody(state, fixture(name)); }

// The body bench/webhook_wrk.sh POSTs: so this is the per-request share of
// the review path in that load test.
void BM_ReviewAnnotatedCompact(benchmark::State& state) {
  reviewBody(state, compact(fixture("create-annotated")));
}

// The same body through the /mutate route: the review plus the route's
// request counter and latency histogram, i.e. all the webhook adds to the stack.
void BM_MutateRouteAnnotatedCompact(benchmark::State& state) {
  mpshare::platform::MetricsRegistry registry;
  mpshare::webhook::WebhookRoutes routes(mpshare::webhook::Config{}, registry);
  const mpshare::platform::HttpRequest request{
      "POST", "/mutate", "timeout=10s", {}, compact(fixture("create-annotated"))};
  for (auto _ : state) {
    auto response = routes.handle(request);
    if (response.status != 200) {
      state.SkipWithError("/mutate did not answer 200");
      break;
    }
    benchmark::DoNotOptimize(response.body.data());
  }
}

void BM_ReviewPatched(benchmark::State& state) {
  reviewFixture(state, "create-existing-env-and-volumes");
}
void BM_ReviewDenied(benchmark::State& state) { reviewFixture(state, "deny-thread-percentage"); }
void BM_ReviewNotGpu(benchmark::State& state) { reviewFixture(state, "create-no-gpu"); }
void BM_ReviewMalformed(benchmark::State& state) {
  const std::string body =
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})";
  const mpshare::webhook::Config config;
  for (auto _ : state)
    benchmark::DoNotOptimize(mpshare::webhook::reviewAdmission(body, config).body.data());
}

BENCHMARK(BM_ReviewAnnotatedCompact);
BENCHMARK(BM_MutateRouteAnnotatedCompact);
BENCHMARK(BM_ReviewPatched);
BENCHMARK(BM_ReviewDenied);
BENCHMARK(BM_ReviewNotGpu);
BENCHMARK(BM_ReviewMalformed);

}  // namespace

BENCHMARK_MAIN();
