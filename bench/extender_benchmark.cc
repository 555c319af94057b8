// filter + prioritize for one pod against N nodes x 8 GPUs, through the routes
// (JSON in, JSON out, no sockets), in both node forms. The Nodes form includes
// parsing the whole NodeList, as kube-scheduler sends it without a node cache.
// Counters p50_us/p99_us are per filter+prioritize pair, filter_* and
// prioritize_* per call; *_reply_bytes are the answers' sizes. Every node
// passes the filter (the pod fits on all of them), so the replies are full size.
// The policy is fgd (with the built-in typical pods) unless a row names another; the
// *_Binpack rows run binpack for comparison. Prioritize remembers scores by
// node content (core/score_memo.h), so the calls after the first answer from
// that table: prioritize_first_us is the first call; the *_AfterBind rows
// change one node's reservations before each call, as a bind between two
// pods' calls does. The *_ScarceModel rows label every tenth node with a
// second GPU model (NVIDIA-L4) that a fifth of the typical pods are bound to
// (by node selector), as fgd-plus's pressure needs, and run fgd and fgd-plus
// on that cluster. The *_FgdPlusBatch rows run fgd-plus-batch with the measured
// pod planned among 15 others waiting (prioritize then looks its plan up and
// checks that it still fits); BM_PlanBatch times the planner itself: one batch
// of 16 waiting pods planned (the planner's thread, not a request's).
//   build-rel/bench/extender_benchmark --benchmark_min_time=2s
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/pending_plan.h"
#include "extender/standalone_extender.h"

namespace mpshare::extender {
namespace {

using nlohmann::json;

// The GPU models of the cluster: one, or every tenth node of a scarce second one.
enum class Mix { kOneModel, kScarceModel };
constexpr const char* kScarceModel = "NVIDIA-L4";

json nodeJson(int i, Mix mix = Mix::kOneModel) {
  const bool scarce = mix == Mix::kScarceModel && i % 10 == 0;
  return {{"metadata",
           {{"name", "gpu-" + std::to_string(i)},
            {"labels",
             {{"mpshare.io/mps", "enabled"},
              {"nvidia.com/gpu.count", "8"},
              {"nvidia.com/gpu.memory", "81559"},
              {"nvidia.com/gpu.replicas", "48"},
              {"nvidia.com/gpu.product", scarce ? kScarceModel : "NVIDIA-H100-80GB-HBM3"},
              {"kubernetes.io/hostname", "gpu-" + std::to_string(i)}}}}},
          {"status",
           {{"capacity", {{"cpu", "192"}, {"memory", "2064000Mi"}, {"nvidia.com/gpu", "384"}}}}}};
}

json podJson(const std::string& name) {
  return {{"metadata",
           {{"name", name},
            {"namespace", "ml"},
            {"uid", "uid-" + name},
            {"annotations",
             {{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "8Gi"}}}}},
          {"spec",
           {{"schedulerName", "mpshare-scheduler"},
            {"containers",
             {{{"name", "server"},
               {"image", "nvcr.io/nvidia/tritonserver:24.08-py3"},
               {"resources", {{"limits", {{"nvidia.com/gpu", "1"}}}}}}}}}}};
}

// N nodes, about a third of their GPUs partly reserved, so the policy has real
// choices to make rather than a cluster of identical empty GPUs.
std::unique_ptr<StandaloneExtender> cluster(int nodes, const std::string& policy, Mix mix) {
  ExtenderConfig config;
  config.plan.in_background = false;  // planNow() plans, on the measuring thread
  config.policy = policy;
  if (mix == Mix::kScarceModel) {
    // The built-in typical pods and, a fifth of them all, whole-GPU pods bound
    // to the scarce model. fgd keeps no products (the extender records them
    // for fgd-plus only), so to it they are whole-GPU pods anywhere.
    config.pod_seed = core::builtinPodShapes();
    core::ShapeCount bound{{1, 1000, 0}, 1766};
    if (policy == "fgd-plus" || policy == "fgd-plus-batch") {
      bound.shape.products = {kScarceModel};
    }
    config.pod_seed.push_back(bound);
  }
  auto extender = StandaloneExtender::create(config, nullptr);
  std::mt19937 rng(7);
  for (int i = 0; i < nodes; ++i) {
    core::NodeView view;
    view.name = "gpu-" + std::to_string(i);
    const json node = nodeJson(i, mix);  // named: a range-for over a temporary's member dangles
    for (const auto& [k, v] : node["metadata"]["labels"].items()) {
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
      auto reserved = (*extender)->service().ledger().reserve(
          core::ReserveRequest{uid, uid, view.name, {g}, demand});
      if (!reserved) {
        std::fprintf(stderr, "cluster setup: %s\n", reserved.error().describe().c_str());
        std::abort();
      }
    }
  }
  return std::move(*extender);
}

// `count` pods waiting for a node, fed to the planner as the pod watch feeds
// them: the first is `first` (the 30 % / 8 GiB pod of podJson()), the others
// replicas of a few workloads (a queue is mostly that): shares of 10-60 %
// threads with 4-32 GiB, and whole GPUs, younger in turn.
void feedQueue(StandaloneExtender& extender, const std::string& first, int count, int batch_no) {
  struct Workload {
    int threads;  // 0: whole GPU
    int64_t memory_mib;
  };
  constexpr Workload kWorkloads[] = {{10, 4096},  {25, 8192},  {30, 8192},
                                     {50, 16384}, {60, 32768}, {0, 0}};
  std::mt19937 rng(static_cast<unsigned>(batch_no));
  for (int i = 0; i < count; ++i) {
    core::PendingPod pod;
    pod.uid =
        i == 0 ? "uid-" + first : "queued-" + std::to_string(batch_no) + "-" + std::to_string(i);
    pod.key = "ml/" + pod.uid;
    pod.created = "2026-12-01T00:00:" + std::to_string(10 + i) + "Z";
    const Workload w = i == 0 ? Workload{30, 8192} : kWorkloads[rng() % std::size(kWorkloads)];
    if (w.threads > 0) {
      pod.demand.thread_percentage = w.threads;
      pod.demand.memory_mib = w.memory_mib;
    }
    extender.service().pendingSink()->podPending(pod);
  }
}

// What changes between two calls: nothing (the same pod asked again), or one
// node, as a bind between two pods' calls changes the node it reserved on.
enum class Between { kNothing, kOneNodeBound };

void run(benchmark::State& state, bool nodes_form, const std::string& policy = "fgd",
         Between between = Between::kNothing, Mix mix = Mix::kOneModel) {
  const int nodes = static_cast<int>(state.range(0));
  auto extender = cluster(nodes, policy, mix);
  if (policy == "fgd-plus-batch") {
    feedQueue(*extender, "infer-0", 16, 0);
    extender->service().planner()->planNow();
    if (!extender->service().planner()->planFor("uid-infer-0")) {
      state.SkipWithError("the measured pod has no plan");
      return;
    }
  }
  json args{{"Pod", podJson("infer-0")}};
  if (nodes_form) {
    json items = json::array();
    for (int i = 0; i < nodes; ++i) {
      items.push_back(nodeJson(i, mix));
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
  std::vector<double> pair_us;
  std::vector<double> filter_us;
  std::vector<double> prioritize_us;
  size_t filter_reply_bytes = 0;
  size_t prioritize_reply_bytes = 0;
  const auto since = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
        .count();
  };
  int64_t touched = 0;
  for (auto _ : state) {
    if (between == Between::kOneNodeBound) {
      // A small pod on the next node in turn, outside the timed calls: the
      // ledger change a bind makes.
      core::Demand small;
      small.thread_percentage = 1;
      small.memory_mib = 1;
      const std::string node = "gpu-" + std::to_string(touched % nodes);
      const int gpu = static_cast<int>((touched / nodes) % 8);
      const std::string uid = "touch-" + std::to_string(touched++);
      benchmark::DoNotOptimize(
          extender->service().ledger().reserve(core::ReserveRequest{uid, uid, node, {gpu}, small}));
    }
    const auto start = std::chrono::steady_clock::now();
    auto filtered = extender->routes().handle(filter);
    filter_us.push_back(since(start));
    const auto middle = std::chrono::steady_clock::now();
    auto scored = extender->routes().handle(prioritize);
    prioritize_us.push_back(since(middle));
    pair_us.push_back(since(start));
    benchmark::DoNotOptimize(filtered);
    benchmark::DoNotOptimize(scored);
    if (filtered.status != 200 || scored.status != 200) {
      state.SkipWithError("extender answered an error");
      break;
    }
    filter_reply_bytes = filtered.body.size();
    prioritize_reply_bytes = scored.body.size();
  }
  const auto percentiles = [&state](std::vector<double>& micros, const std::string& prefix) {
    if (micros.empty()) {
      return;
    }
    std::sort(micros.begin(), micros.end());
    state.counters[prefix + "p50_us"] = micros[micros.size() / 2];
    state.counters[prefix + "p99_us"] =
        micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
  };
  // The first call: every node's score computed (nothing remembered yet).
  if (!prioritize_us.empty()) {
    state.counters["prioritize_first_us"] = prioritize_us.front();
  }
  percentiles(pair_us, "");
  percentiles(filter_us, "filter_");
  percentiles(prioritize_us, "prioritize_");
  state.counters["request_bytes"] = static_cast<double>(filter.body.size());
  state.counters["filter_reply_bytes"] = static_cast<double>(filter_reply_bytes);
  state.counters["prioritize_reply_bytes"] = static_cast<double>(prioritize_reply_bytes);
}

void BM_FilterPrioritize_NodeNames(benchmark::State& state) { run(state, false); }
void BM_FilterPrioritize_Nodes(benchmark::State& state) { run(state, true); }
void BM_FilterPrioritize_NodeNames_Binpack(benchmark::State& state) {
  run(state, false, "binpack");
}
void BM_FilterPrioritize_NodeNames_AfterBind(benchmark::State& state) {
  run(state, false, "fgd", Between::kOneNodeBound);
}
void BM_FilterPrioritize_NodeNames_Binpack_AfterBind(benchmark::State& state) {
  run(state, false, "binpack", Between::kOneNodeBound);
}
void BM_FilterPrioritize_NodeNames_ScarceModel(benchmark::State& state) {
  run(state, false, "fgd", Between::kNothing, Mix::kScarceModel);
}
void BM_FilterPrioritize_NodeNames_FgdPlus_ScarceModel(benchmark::State& state) {
  run(state, false, "fgd-plus", Between::kNothing, Mix::kScarceModel);
}
void BM_FilterPrioritize_NodeNames_AfterBind_ScarceModel(benchmark::State& state) {
  run(state, false, "fgd", Between::kOneNodeBound, Mix::kScarceModel);
}
void BM_FilterPrioritize_NodeNames_FgdPlus_AfterBind_ScarceModel(benchmark::State& state) {
  run(state, false, "fgd-plus", Between::kOneNodeBound, Mix::kScarceModel);
}
void BM_FilterPrioritize_NodeNames_FgdPlusBatch_ScarceModel(benchmark::State& state) {
  run(state, false, "fgd-plus-batch", Between::kNothing, Mix::kScarceModel);
}
void BM_FilterPrioritize_NodeNames_FgdPlusBatch_AfterBind_ScarceModel(benchmark::State& state) {
  run(state, false, "fgd-plus-batch", Between::kOneNodeBound, Mix::kScarceModel);
}

// One batch of 16 waiting pods planned at N nodes x 8 GPUs (scarce-model
// cluster); each batch is dropped before the next, so every batch plans on
// the same cluster. Counters: plan_p50_us / plan_p99_us.
void BM_PlanBatch(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  auto extender = cluster(nodes, "fgd-plus-batch", Mix::kScarceModel);
  PendingPlanner& planner = *extender->service().planner();
  std::vector<double> plan_us;
  int batch_no = 0;
  for (auto _ : state) {
    state.PauseTiming();
    planner.keepOnlyPending({});
    feedQueue(*extender, "batch-" + std::to_string(batch_no), 16, batch_no);
    ++batch_no;
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    const size_t planned = planner.planNow();
    plan_us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
    if (planned == 0) {
      state.SkipWithError("nothing planned (the planner's thread took the batch)");
      break;
    }
  }
  std::sort(plan_us.begin(), plan_us.end());
  if (!plan_us.empty()) {
    state.counters["plan_p50_us"] = plan_us[plan_us.size() / 2];
    state.counters["plan_p99_us"] =
        plan_us[std::min(plan_us.size() - 1, plan_us.size() * 99 / 100)];
  }
}

BENCHMARK(BM_FilterPrioritize_NodeNames)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(5000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_Nodes)->Arg(100)->Arg(1000)->Arg(5000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_Binpack)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_AfterBind)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_Binpack_AfterBind)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_ScarceModel)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_FgdPlus_ScarceModel)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_AfterBind_ScarceModel)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_FgdPlus_AfterBind_ScarceModel)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_FgdPlusBatch_ScarceModel)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FilterPrioritize_NodeNames_FgdPlusBatch_AfterBind_ScarceModel)
    ->Arg(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PlanBatch)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mpshare::extender

BENCHMARK_MAIN();
