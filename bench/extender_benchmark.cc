// filter + prioritize for one pod against N nodes x 8 GPUs, through the routes
// (JSON in, JSON out, no sockets), in both node forms. The Nodes form includes
// parsing the whole NodeList, as kube-scheduler sends it without a node cache.
// Counters p50_us/p99_us are per filter+prioritize pair.
//   build-rel/bench/extender_benchmark --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "extender/standalone_extender.h"

namespace mpshare::extender {
namespace {

using nlohmann::json;

json nodeJson(int i) {
  return {{"metadata",
           {{"name", "gpu-" + std::to_string(i)},
            {"labels",
             {{"mpshare.io/mps", "enabled"},
              {"nvidia.com/gpu.count", "8"},
              {"nvidia.com/gpu.memory", "81559"},
              {"nvidia.com/gpu.replicas", "48"},
              {"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"},
              {"kubernetes.io/hostname", "gpu-" + std::to_string(i)}}}}},
          {"status", {{"capacity", {{"cpu", "192"}, {"memory", "2064000Mi"}, {"nvidia.com/gpu", "384"}}}}}};
}

json podJson(const std::string& name) {
  return {{"metadata",
           {{"name", name},
            {"namespace", "ml"},
            {"uid", "uid-" + name},
            {"annotations", {{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "8Gi"}}}}},
          {"spec",
           {{"schedulerName", "mpshare-scheduler"},
            {"containers", {{{"name", "server"}, {"image", "nvcr.io/nvidia/tritonserver:24.08-py3"},
                             {"resources", {{"limits", {{"nvidia.com/gpu", "1"}}}}}}}}}}};
}

// N nodes, about a third of their GPUs partly reserved, so the policy has real
// choices to make rather than a cluster of identical empty GPUs.
std::unique_ptr<StandaloneExtender> cluster(int nodes) {
  auto extender = StandaloneExtender::create(ExtenderConfig{}, nullptr);
  std::mt19937 rng(7);
  for (int i = 0; i < nodes; ++i) {
    core::NodeView view;
    view.name = "gpu-" + std::to_string(i);
    for (const auto& [k, v] : nodeJson(i)["metadata"]["labels"].items()) {
      view.labels[k] = v.get<std::string>();
    }
    (*extender)->service().upsertNode(view);
    for (int g = 0; g < 8; ++g) {
      if (rng() % 3 != 0) {
        continue;
      }
      core::Demand demand;
      demand.thread_percentage = 10 + static_cast<int>(rng() % 60);
      demand.memory_mib = 1024 + static_cast<int64_t>(rng() % 40000);
      const std::string uid = view.name + "-" + std::to_string(g);
      (void)(*extender)->service().ledger().reserve(core::ReserveRequest{uid, uid, view.name, {g}, demand});
    }
  }
  return std::move(*extender);
}

void run(benchmark::State& state, bool nodes_form) {
  const int nodes = static_cast<int>(state.range(0));
  auto extender = cluster(nodes);
  json args{{"Pod", podJson("infer-0")}};
  if (nodes_form) {
    json items = json::array();
    for (int i = 0; i < nodes; ++i) {
      items.push_back(nodeJson(i));
    }
    args["Nodes"] = {{"apiVersion", "v1"}, {"kind", "NodeList"}, {"items", items}};
    args["NodeNames"] = nullptr;
  } else {
    json names = json::array();
    for (int i = 0; i < nodes; ++i) {
      names.push_back("gpu-" + std::to_string(i));
    }
    args["Nodes"] = nullptr;
    args["NodeNames"] = names;
  }
  platform::HttpRequest filter{"POST", "/scheduler/filter", "", {}, args.dump()};
  platform::HttpRequest prioritize{"POST", "/scheduler/prioritize", "", {}, args.dump()};
  std::vector<double> micros;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto filtered = extender->routes().handle(filter);
    auto scored = extender->routes().handle(prioritize);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    benchmark::DoNotOptimize(filtered);
    benchmark::DoNotOptimize(scored);
    if (filtered.status != 200 || scored.status != 200) {
      state.SkipWithError("extender answered an error");
      break;
    }
  }
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
  }
  state.counters["request_bytes"] = static_cast<double>(filter.body.size());
}

void BM_FilterPrioritize_NodeNames(benchmark::State& state) { run(state, false); }
void BM_FilterPrioritize_Nodes(benchmark::State& state) { run(state, true); }

BENCHMARK(BM_FilterPrioritize_NodeNames)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_Nodes)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mpshare::extender

BENCHMARK_MAIN();
