// Replays the Alibaba trace through the live extender's own code: one
// ExtenderService (standalone seams) with the policy given, fed the trace's
// nodes as labelled Nodes, and the pods in the simulator's arrival order for a
// seed, scheduled as kube-scheduler would (filter, prioritize the passing
// nodes, bind to the best). For fgd-plus-batch the pods of each burst of 16
// arrivals go to the pending sink first and the planner plans them
// (planNow(), on this thread, so a run is deterministic). It reports what
// `mpshare-extender simulate --inflate` reports at 100 % arrivals, from the
// service's placements instead of the simulator's placement loop.
//
// usage: live_replay --nodes CSV --pods CSV --policy fgd-plus|fgd-plus-batch --seed N
//                    [--format text|json] [--max-pods N] [--max-nodes N]
//
// What the live extender cannot be told of the trace (host budgets, a share of
// GPU memory) is said in bench/trace_objects.h.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/trace_objects.h"
#include "core/gpu_models.h"
#include "core/pending_plan.h"
#include "extender/service.h"
#include "extender/simulate/simulator.h"
#include "extender/simulate/trace.h"
#include "extender/standalone.h"
#include "nlohmann/json.hpp"
#include "platform/logging.h"

namespace mpshare::extender {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: live_replay --nodes CSV --pods CSV --policy fgd-plus|fgd-plus-batch --seed N\n"
    "                   [--format text|json] [--max-pods N] [--max-nodes N]\n"
    "  --max-pods/--max-nodes: the first N rows only (a quick slice of the trace)\n"
    "  Flags take --flag VALUE or --flag=VALUE.\n";

// The arrivals placed together, as the simulator's fgd-plus-batch holds them.
constexpr size_t kBurst = 16;
// Arrivals continue until they ask this share of the cluster's GPUs
// (`simulate --inflate` reports its figures at the first sample past 100 %).
constexpr double kTarget = 1.0;

struct Args {
  std::string nodes;
  std::string pods;
  std::string policy;
  std::optional<uint64_t> seed;
  std::string format = "text";
  size_t max_pods = std::numeric_limits<size_t>::max();
  size_t max_nodes = std::numeric_limits<size_t>::max();
};

template <typename T>
bool parseNumber(std::string_view text, T* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// An error message, "" for --help, or nullopt when the flags are good.
std::optional<std::string> parseArgs(int argc, char** argv, Args* args) {
  const std::vector<std::string_view> list(argv + 1, argv + argc);
  for (const std::string_view arg : list) {
    if (arg == "--help" || arg == "-h") return std::string();
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string_view flag = list[i];
    std::optional<std::string_view> value;
    if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (i + 1 < list.size()) {
      value = list[i + 1];
      ++i;
    }
    const std::string name(flag);
    if (name != "--nodes" && name != "--pods" && name != "--policy" && name != "--seed" &&
        name != "--format" && name != "--max-pods" && name != "--max-nodes") {
      return "unknown argument \"" + name + "\"";
    }
    if (!value) return name + ": needs a value";
    const std::string v(*value);
    if (name == "--nodes") args->nodes = v;
    if (name == "--pods") args->pods = v;
    if (name == "--policy") {
      if (v != "fgd-plus" && v != "fgd-plus-batch") {
        return "--policy: \"" + v + "\" is not replayed; allowed: fgd-plus, fgd-plus-batch";
      }
      args->policy = v;
    }
    if (name == "--seed") {
      uint64_t seed = 0;
      if (!parseNumber(v, &seed)) return "--seed: \"" + v + "\" is not a whole number >= 0";
      args->seed = seed;
    }
    if (name == "--format") {
      if (v != "text" && v != "json") return "--format: \"" + v + "\" is not text or json";
      args->format = v;
    }
    if (name == "--max-pods" || name == "--max-nodes") {
      size_t n = 0;
      if (!parseNumber(v, &n) || n == 0) return name + ": \"" + v + "\" is not a whole number > 0";
      (name == "--max-pods" ? args->max_pods : args->max_nodes) = n;
    }
  }
  if (args->nodes.empty() || args->pods.empty() || args->policy.empty() || !args->seed) {
    return std::string("--nodes, --pods, --policy and --seed are required");
  }
  return std::nullopt;
}

struct Timing {
  std::vector<double> ms;
  [[nodiscard]] nlohmann::json summary() const {
    if (ms.empty()) return {{"count", 0}};
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const size_t p99 = (sorted.size() * 99 + 99) / 100 - 1;  // nearest rank
    return {{"count", sorted.size()},
            {"mean_ms", std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size()},
            {"p99_ms", sorted[std::min(p99, sorted.size() - 1)]}};
  }
};

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Totals {
  int64_t arrived_pods = 0;
  double arrived_gpus = 0.0;
  int64_t gpu_pods = 0;
  int64_t skipped_host_only = 0;
  int64_t bound = 0;
  int64_t failed = 0;
  int64_t failed_waiting = 0;  // refused because its batch placed it nowhere
  int64_t bind_refused = 0;
  double allocated_gpus = 0.0;
  int64_t batches = 0;
  std::map<std::string, int64_t> plan_binds;  // followed, elsewhere, stale, unplanned
  Timing plan_now;
  Timing filter_prioritize;
};

class Replay {
 public:
  Replay(const std::vector<SimNode>& nodes, const std::vector<SimPod>& pods, ExtenderConfig config)
      : pods_(pods), service_(std::move(config), lookup_, binder_) {
    for (const SimNode& node : nodes) {
      service_.upsertNode(nodeViewOf(node));
      names_by_model_[node.model].push_back(node.name);
      all_names_.push_back(node.name);
      memory_by_model_[node.model] = node.gpu_memory_mib;
    }
  }

  [[nodiscard]] ExtenderService& service() { return service_; }

  // One burst: planned together (fgd-plus-batch), then scheduled one by one.
  void burst(const std::vector<size_t>& picks, size_t first_arrival, Totals& totals) {
    std::vector<core::PodView> views;
    std::vector<const SimPod*> asked;
    for (size_t i = 0; i < picks.size(); ++i) {
      const SimPod& pod = pods_[picks[i]];
      if (pod.gpus == 0) {
        ++totals.skipped_host_only;
        continue;
      }
      views.push_back(podViewOf(pod, first_arrival + i, smallestMemory(pod)));
      asked.push_back(&pod);
    }
    totals.gpu_pods += static_cast<int64_t>(views.size());
    PendingPlanner* planner = service_.planner();
    if (planner != nullptr && !views.empty()) {
      for (size_t i = 0; i < views.size(); ++i) {
        // As the pod watch builds it (extender/cluster/cluster_cache.cc, pendingOf).
        auto demand = core::demandOf(views[i], service_.config().demand);
        service_.pendingSink()->podPending(core::PendingPod{views[i].uid, views[i].key(), **demand,
                                                            core::gpuProductsOf(views[i]), 0,
                                                            createdAt(first_arrival + i)});
      }
      const auto start = Clock::now();
      planner->planNow();
      totals.plan_now.ms.push_back(msSince(start));
      ++totals.batches;
    }
    for (size_t i = 0; i < views.size(); ++i) {
      schedule(views[i], *asked[i], totals);
    }
  }

 private:
  // The smallest GPU memory among the models the pod may run on.
  int64_t smallestMemory(const SimPod& pod) const {
    int64_t smallest = std::numeric_limits<int64_t>::max();
    for (const auto& [model, memory] : memory_by_model_) {
      if (pod.models.empty() ||
          std::find(pod.models.begin(), pod.models.end(), model) != pod.models.end()) {
        smallest = std::min(smallest, memory);
      }
    }
    return smallest == std::numeric_limits<int64_t>::max() ? 16384 : smallest;
  }

  // The nodes kube-scheduler's own filters leave for the pod: those of its models.
  std::vector<std::string> candidatesOf(const SimPod& pod) const {
    if (pod.models.empty()) return all_names_;
    std::vector<std::string> names;
    for (const std::string& model : modelsOf(pod)) {
      if (const auto it = names_by_model_.find(model); it != names_by_model_.end()) {
        names.insert(names.end(), it->second.begin(), it->second.end());
      }
    }
    return names;
  }

  void schedule(const core::PodView& pod, const SimPod& trace_pod, Totals& totals) {
    PendingPlanner* planner = service_.planner();
    const bool waiting = planner != nullptr && planner->waitsForItsBatch(pod.uid);
    ExtenderArgs args;
    args.pod = pod;
    args.node_names = candidatesOf(trace_pod);
    const auto start = Clock::now();
    args.node_names = service_.filter(args).passed;
    std::vector<HostScore> scores;
    if (!args.node_names.empty()) scores = service_.prioritize(args);
    totals.filter_prioritize.ms.push_back(msSince(start));
    if (scores.empty()) {
      ++totals.failed;
      totals.failed_waiting += waiting ? 1 : 0;
      if (planner != nullptr) planner->podNotPending(pod.uid);
      return;
    }
    // The highest score, the first of equals (the extender gives one node 10).
    const auto best =
        std::max_element(scores.begin(), scores.end(),
                         [](const auto& a, const auto& b) { return a.score < b.score; });
    const std::optional<core::PlannedPlacement> plan =
        planner != nullptr ? planner->planFor(pod.uid) : std::nullopt;
    const BindOutcome outcome =
        service_.bindPod(BindingArgs{pod.name, pod.namespace_name, pod.uid, best->host});
    if (outcome.status != BindStatus::kBound) {
      ++totals.bind_refused;
      ++totals.failed;
      if (planner != nullptr) planner->podNotPending(pod.uid);
      return;
    }
    ++totals.bound;
    totals.allocated_gpus += trace_pod.gpuShare();
    if (planner != nullptr) {
      std::string how = "unplanned";
      if (plan) {
        std::vector<int> gpus;
        service_.ledger().read([&](const core::LedgerState& state) {
          if (const core::Reservation* r = state.reservation(pod.uid)) gpus = r->gpu_indices;
        });
        how = plan->node != best->host ? "elsewhere"
                                       : (plan->gpu_indices == gpus ? "followed" : "stale");
      }
      ++totals.plan_binds[how];
    }
  }

  const std::vector<SimPod>& pods_;
  MemoryPodLookup lookup_;
  MemoryBinder binder_;
  ExtenderService service_;
  std::vector<std::string> all_names_;
  std::map<std::string, std::vector<std::string>> names_by_model_;
  std::map<std::string, int64_t> memory_by_model_;
};

int run(const Args& args) {
  auto nodes = loadNodes(args.nodes);
  if (!nodes) {
    std::cerr << "live_replay: " << nodes.error().describe() << "\n";
    return 2;
  }
  auto pods = loadPods(args.pods);
  if (!pods) {
    std::cerr << "live_replay: " << pods.error().describe() << "\n";
    return 2;
  }
  if (nodes->size() > args.max_nodes) nodes->resize(args.max_nodes);
  if (pods->size() > args.max_pods) pods->resize(args.max_pods);
  int skipped_nodes = 0;
  std::erase_if(*nodes, [&](const SimNode& n) { return n.gpus == 0 && ++skipped_nodes > 0; });
  int total_gpus = 0;
  double total_ask = 0.0;
  for (const SimNode& n : *nodes) total_gpus += n.gpus;
  for (const SimPod& p : *pods) total_ask += p.gpuShare();
  if (total_gpus == 0 || total_ask <= 0.0) {
    std::cerr << "live_replay: "
              << (total_gpus == 0 ? "--nodes: no node has a GPU" : "--pods: no pod asks for a GPU")
              << "\n";
    return 2;
  }

  ExtenderConfig config;
  config.policy = args.policy;
  config.plan.in_background = false;
  config.plan.batch_size = kBurst;
  config.pod_seed = seedOf(*pods);
  // The simulator weighs fragmentation by the list's typical pods throughout:
  // the window never replaces the seed, and every shape of it is used.
  config.pod_window.min_pods = std::numeric_limits<size_t>::max();
  config.pod_window.max_shapes = std::max<size_t>(1, config.pod_seed.size());
  Replay replay(*nodes, *pods, config);
  if (const auto rejected = replay.service().rejectedNodes(); !rejected.empty()) {
    std::cerr << "live_replay: the inventory rejected a node: " << rejected.begin()->second << "\n";
    return 1;
  }

  // Arrivals exactly as simulate() draws them for --seed (extender/simulate/simulator.cc):
  // fresh shuffles of the same index list from one generator, and a batch also
  // ends where the simulator takes a sample (every 1 % of arrivals).
  const auto started = Clock::now();
  Totals totals;
  std::mt19937_64 rng(*args.seed);
  std::vector<size_t> order(pods->size());
  std::iota(order.begin(), order.end(), 0);
  size_t next_in_order = order.size();
  const double goal = kTarget * total_gpus;
  double next_sample = 0.01;
  std::vector<size_t> burst;
  size_t burst_start = 0;
  const size_t burst_size = args.policy == "fgd-plus-batch" ? kBurst : 1;
  while (totals.arrived_gpus < goal) {
    if (next_in_order == order.size()) {
      std::shuffle(order.begin(), order.end(), rng);
      next_in_order = 0;
    }
    const size_t pick = order[next_in_order++];
    if (burst.empty()) burst_start = static_cast<size_t>(totals.arrived_pods);
    ++totals.arrived_pods;
    totals.arrived_gpus += (*pods)[pick].gpuShare();
    burst.push_back(pick);
    const bool last = totals.arrived_gpus >= goal;
    if (burst.size() >= burst_size || last || totals.arrived_gpus / total_gpus >= next_sample) {
      replay.burst(burst, burst_start, totals);
      burst.clear();
    }
    while (totals.arrived_gpus / total_gpus >= next_sample) next_sample += 0.01;
  }
  const double wall = std::chrono::duration<double>(Clock::now() - started).count();
  std::string invariant;
  size_t reservations = 0;
  replay.service().ledger().read([&](const core::LedgerState& state) {
    invariant = state.checkInvariant();
    reservations = state.reservations().size();
  });

  nlohmann::json out = {
      {"policy", args.policy},
      {"seed", *args.seed},
      {"nodes", nodes->size()},
      {"nodes_skipped_without_gpu", skipped_nodes},
      {"gpus", total_gpus},
      {"arrived_pods", totals.arrived_pods},
      {"arrived_share", totals.arrived_gpus / total_gpus},
      {"gpu_pods", totals.gpu_pods},
      {"host_only_pods_skipped", totals.skipped_host_only},
      {"bound_pods", totals.bound},
      {"failed_pods", totals.failed},
      {"failed_waiting_for_batch", totals.failed_waiting},
      {"bind_refused", totals.bind_refused},
      {"allocated_gpus", totals.allocated_gpus},
      {"allocated_share", totals.allocated_gpus / total_gpus},
      {"reservations", reservations},
      {"ledger_invariant", invariant.empty() ? "ok" : invariant},
      {"host_budgets", "not tracked: the inventory reads no host CPU or memory label"},
      {"batches", totals.batches},
      {"plan_binds", totals.plan_binds},
      {"seconds", wall},
      {"plan_now", totals.plan_now.summary()},
      {"filter_prioritize", totals.filter_prioritize.summary()},
  };
  if (args.format == "json") {
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("policy %s, seed %llu, %zu nodes, %d GPUs, %.2f s\n", args.policy.c_str(),
                static_cast<unsigned long long>(*args.seed), nodes->size(), total_gpus, wall);
    std::printf(
        "at %.2f %% arrivals: allocated %.2f %%, %lld GPU pods failed (%lld waiting for "
        "their batch), %lld host-only pods skipped\n",
        100.0 * totals.arrived_gpus / total_gpus, 100.0 * totals.allocated_gpus / total_gpus,
        static_cast<long long>(totals.failed), static_cast<long long>(totals.failed_waiting),
        static_cast<long long>(totals.skipped_host_only));
    std::printf("plan binds: %s; ledger invariant: %s\n", out["plan_binds"].dump().c_str(),
                invariant.empty() ? "ok" : invariant.c_str());
    std::printf("planNow %s; filter+prioritize %s\n", out["plan_now"].dump().c_str(),
                out["filter_prioritize"].dump().c_str());
  }
  return invariant.empty() && totals.bind_refused == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mpshare::extender

int main(int argc, char** argv) {
  // One INFO line per bind would cost more than the binds; refusals are counted.
  mpshare::platform::setLogLevel(mpshare::platform::LogLevel::kError);
  mpshare::extender::Args args;
  if (const auto problem = mpshare::extender::parseArgs(argc, argv, &args)) {
    if (problem->empty()) {
      std::cout << mpshare::extender::kUsage;
      return 0;
    }
    std::cerr << "live_replay: " << *problem << "\n" << mpshare::extender::kUsage;
    return 2;
  }
  return mpshare::extender::run(args);
}
