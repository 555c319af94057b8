// Cost of the pure review path, no sockets: parse an AdmissionReview, decide,
// build the JSON Patch, serialise the answer. Run from a Release build:
//   build-rel/bench/webhook_review_benchmark

#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "webhook/review.h"

namespace {

std::string fixture(const char* name) {
  std::ifstream in(std::string(MPSHARE_SOURCE_DIR) + "/tests/fixtures/admission/" + name + "/request.json");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void reviewFixture(benchmark::State& state, const char* name) {
  const std::string body = fixture(name);
  const mpshare::webhook::Config config;
  for (auto _ : state) {
    auto result = mpshare::webhook::reviewAdmission(body, config);
    benchmark::DoNotOptimize(result.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}

void BM_ReviewPatched(benchmark::State& state) { reviewFixture(state, "create-existing-env-and-volumes"); }
void BM_ReviewDenied(benchmark::State& state) { reviewFixture(state, "deny-thread-percentage"); }
void BM_ReviewNotGpu(benchmark::State& state) { reviewFixture(state, "create-no-gpu"); }
void BM_ReviewMalformed(benchmark::State& state) {
  const std::string body = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}})";
  const mpshare::webhook::Config config;
  for (auto _ : state) benchmark::DoNotOptimize(mpshare::webhook::reviewAdmission(body, config).body.data());
}

BENCHMARK(BM_ReviewPatched);
BENCHMARK(BM_ReviewDenied);
BENCHMARK(BM_ReviewNotGpu);
BENCHMARK(BM_ReviewMalformed);

}  // namespace

BENCHMARK_MAIN();
