// Cost of one metric update on the request path, and of one scrape, through
// platform/metrics.h. Run from a Release build:
//   build-rel/bench/metrics_benchmark

#include <benchmark/benchmark.h>

#include <string>

#include "platform/metrics.h"

namespace {

using mpshare::platform::MetricsRegistry;

// The webhook's request counter: one label whose value is a literal.
void BM_CounterIncOneLabel(benchmark::State& state) {
  MetricsRegistry registry;
  auto& counter = registry.counter("requests_total", "x");
  for (auto _ : state) counter.inc({{"outcome", "allowed"}});
}

// The extender's request counter: two labels.
void BM_CounterIncTwoLabels(benchmark::State& state) {
  MetricsRegistry registry;
  auto& counter = registry.counter("requests_total", "x");
  for (auto _ : state) counter.inc({{"verb", "filter"}, {"outcome", "ok"}});
}

// The webhook's latency histogram: no labels, the default 15 buckets.
void BM_HistogramObserveNoLabels(benchmark::State& state) {
  MetricsRegistry registry;
  auto& histogram = registry.histogram("seconds", "x", mpshare::platform::latencyBuckets());
  for (auto _ : state) histogram.observe({}, 0.0007);
}

// The extender's latency histogram: one label.
void BM_HistogramObserveOneLabel(benchmark::State& state) {
  MetricsRegistry registry;
  auto& histogram = registry.histogram("seconds", "x", mpshare::platform::latencyBuckets());
  for (auto _ : state) histogram.observe({{"verb", "filter"}}, 0.0007);
}

// One scrape of the extender's per-GPU gauges: 6 gauges x range(0) GPUs.
void BM_RenderGpuGauges(benchmark::State& state) {
  MetricsRegistry registry;
  for (int g = 0; g < 6; ++g) {
    auto& gauge = registry.gauge("gpu_gauge_" + std::to_string(g), "x");
    for (int i = 0; i < state.range(0); ++i) {
      gauge.set({{"node", "node-" + std::to_string(i / 8)}, {"gpu", std::to_string(i % 8)}}, i);
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(registry.render());
}

}  // namespace

BENCHMARK(BM_CounterIncOneLabel);
BENCHMARK(BM_CounterIncTwoLabels);
BENCHMARK(BM_HistogramObserveNoLabels);
BENCHMARK(BM_HistogramObserveOneLabel);
BENCHMARK(BM_RenderGpuGauges)->Arg(8)->Arg(800);

BENCHMARK_MAIN();
