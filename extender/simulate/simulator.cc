#include "extender/simulate/simulator.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <tuple>
#include <utility>

#include "core/batch_placement.h"
#include "core/ledger.h"
#include "core/placement.h"

namespace mpshare::extender {
namespace {

using core::Demand;
using core::NodeState;

// A policy's answer for one node, kept until the node changes. Policies are pure
// functions of (node state, demand), so an unchanged node gives the same answer.
struct CachedChoice {
  int64_t version = -1;
  bool fits = false;
  double score = 0.0;
  std::vector<int> gpus;
};

struct SimNodeState {
  const SimNode* spec = nullptr;
  const NodeState* state = nullptr;
  int64_t version = 0;
  int64_t frag_version = -1;
  double fragmentation = 0.0;
  std::vector<CachedChoice> cache;  // by pod shape id
};

// Scores closer than this are a tie (they differ only by rounding).
constexpr double kScoreTie = 1e-12;

bool modelAllowed(const SimPod& pod, const SimNode& node) {
  return pod.models.empty() ||
         std::find(pod.models.begin(), pod.models.end(), node.model) != pod.models.end();
}

// Host-only pods: binpack-like policies fill the busiest host, spread the emptiest.
double hostScore(const NodeState& node, const Demand& demand, bool pack) {
  if (node.capacity.cpu_milli <= 0) {
    return 0.5;
  }
  const double used = static_cast<double>(node.reserved_cpu_milli + demand.cpu_milli) /
                      static_cast<double>(node.capacity.cpu_milli);
  return pack ? used : 1.0 - used;
}

// Pods with the same demand on every node share a cache slot.
std::vector<int> shapeIds(const std::vector<SimPod>& pods, int* count) {
  std::map<std::tuple<int, int, int64_t, int64_t, int64_t, std::vector<std::string>>, int> ids;
  std::vector<int> out;
  out.reserve(pods.size());
  for (const SimPod& p : pods) {
    const auto key = std::make_tuple(p.gpus, p.gpu_milli, p.gpu_memory_mib.value_or(-1),
                                     p.cpu_milli, p.memory_mib, p.models);
    out.push_back(ids.emplace(key, static_cast<int>(ids.size())).first->second);
  }
  *count = static_cast<int>(ids.size());
  return out;
}

}  // namespace

std::vector<core::PodType> podTypesOf(const std::vector<SimPod>& pods, TypeWeight weight) {
  // (GPUs, share in milli, host CPU, host memory, models); memory stays 0 for kTypical.
  using Shape = std::tuple<int, int, int64_t, int64_t, std::vector<std::string>>;
  std::map<Shape, double> counts;
  for (const SimPod& p : pods) {
    if (weight == TypeWeight::kTypical) {
      counts[std::make_tuple(p.gpus, p.gpus > 0 ? p.gpu_milli : 0, p.cpu_milli, int64_t{0},
                             p.gpus > 0 ? p.models : std::vector<std::string>{})] += 1.0;
    } else if (p.gpus > 0) {
      counts[std::make_tuple(p.gpus, p.gpu_milli, p.cpu_milli, p.memory_mib, p.models)] += 1.0;
    }
  }
  std::vector<std::pair<Shape, double>> ranked(counts.begin(), counts.end());
  double kept_pods = std::numeric_limits<double>::infinity();
  if (weight == TypeWeight::kTypical) {
    // Most popular first; among equal counts the larger shape first (host CPU,
    // then share, GPUs and models), as the paper's reverse sort orders them.
    auto paper_key = [](const Shape& k) {
      return std::tie(std::get<2>(k), std::get<1>(k), std::get<0>(k), std::get<4>(k));
    };
    std::stable_sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : paper_key(a.first) > paper_key(b.first);
    });
    kept_pods = kTypicalPodShare * static_cast<double>(pods.size());
  }
  std::vector<core::PodType> types;
  double covered = 0.0;
  for (const auto& [shape, count] : ranked) {
    if (covered >= kept_pods) {
      break;
    }
    covered += count;
    core::PodType t;
    t.gpus = std::get<0>(shape);
    t.share = t.gpus > 0 ? std::get<1>(shape) / 1000.0 : 0.0;
    t.cpu_milli = std::get<2>(shape);
    t.host_memory_mib = std::get<3>(shape);
    t.products = std::get<4>(shape);
    t.weight = count;
    types.push_back(std::move(t));
  }
  return core::normalisePodTypes(std::move(types));
}

Demand demandOnGpu(const SimPod& pod, int64_t gpu_memory_mib) {
  Demand d;
  d.gpus = pod.gpus;
  d.cpu_milli = pod.cpu_milli;
  d.host_memory_mib = pod.memory_mib;
  if (pod.sharesGpu()) {
    d.thread_percentage = std::max(1, pod.gpu_milli / 10);
    d.memory_mib =
        pod.gpu_memory_mib.value_or(std::max<int64_t>(1, pod.gpu_milli * gpu_memory_mib / 1000));
  }
  return d;
}

Demand equalSliceDemand(const SimPod& pod, int64_t gpu_memory_mib, int slices) {
  Demand d = demandOnGpu(pod, gpu_memory_mib);
  const bool fits_slice = pod.gpu_memory_mib ? *pod.gpu_memory_mib * slices <= gpu_memory_mib
                                             : pod.gpu_milli * slices <= 1000;
  if (pod.sharesGpu() && fits_slice) {
    d.thread_percentage = core::kThreadPercentPerGpu / slices;
    d.memory_mib = gpu_memory_mib / slices;
  } else if (pod.sharesGpu()) {
    d.thread_percentage.reset();  // larger than a slice: only a whole GPU holds it
    d.memory_mib.reset();
  }
  return d;
}

core::Result<SimulationResult> simulate(const std::vector<SimNode>& nodes,
                                        const std::vector<SimPod>& pods,
                                        const SimulationOptions& options) {
  if (pods.empty()) {
    return core::invalidArgument("--pods", "the pod list is empty");
  }
  const std::vector<core::PodType> placement_types = podTypesOf(pods, TypeWeight::kTypical);
  const std::vector<core::PodType> measure_types = podTypesOf(pods, TypeWeight::kPodCount);
  const bool equal = options.policy == "equal-slices";
  if (equal && (options.slices < 1 || options.slices > core::kMpsMaxClientsPerGpu)) {
    return core::invalidArgument(
        "--policy", "equal-slices needs N in 1..48, got " + std::to_string(options.slices));
  }
  std::unique_ptr<core::PlacementPolicy> policy;
  // fgd-plus-batch: fgd-plus placing batches of arrivals jointly.
  const bool batching = options.policy == "fgd-plus-batch";
  const bool fgd_family = options.policy == "fgd" || options.policy == "fgd-plus" || batching;
  if (options.policy == "fgd") {
    policy = core::makeFgdPolicy(placement_types);
  } else if (options.policy == "fgd-plus" || batching) {
    std::map<std::string, int> gpus_by_model;
    for (const SimNode& n : nodes) {
      gpus_by_model[n.model] += n.gpus;
    }
    policy = core::makeFgdPlusPolicy(placement_types, gpus_by_model, options.fgd_plus);
  } else {
    auto made = core::makePolicy(equal ? "binpack" : options.policy);
    if (!made) {
      return core::invalidArgument(
          "--policy",
          "\"" + options.policy +
              "\" is not a policy; known: binpack, spread, fgd, fgd-plus, fgd-plus-batch, "
              "equal-slices N");
    }
    policy = std::move(*made);
  }
  const bool pack_hosts = options.policy != "spread";

  core::LedgerState ledger;
  int total_gpus = 0;
  for (const SimNode& n : nodes) {
    core::NodeCapacity capacity;
    capacity.name = n.name;
    capacity.gpu_product = n.model;
    capacity.cpu_milli = n.cpu_milli;
    capacity.memory_mib = n.memory_mib;
    for (int i = 0; i < n.gpus; ++i) {
      core::GpuCapacity gpu;
      gpu.index = i;
      gpu.memory_mib = n.gpu_memory_mib;
      gpu.clients = equal ? options.slices : n.clients_per_gpu;
      capacity.gpus.push_back(gpu);
    }
    total_gpus += n.gpus;
    (void)ledger.upsertNode(std::move(capacity));
  }
  if (total_gpus == 0) {
    return core::invalidArgument("--nodes", "no node has a GPU");
  }
  int shape_count = 0;
  const std::vector<int> shape_of = shapeIds(pods, &shape_count);
  std::vector<SimNodeState> cluster;
  cluster.reserve(nodes.size());
  for (const SimNode& n : nodes) {
    SimNodeState s;
    s.spec = &n;
    s.state = ledger.node(n.name);
    s.cache.resize(static_cast<size_t>(shape_count));
    cluster.push_back(std::move(s));
  }

  std::mt19937_64 rng(options.seed);
  // The order nodes are visited in, which decides among equal scores.
  std::vector<SimNodeState*> visit_order;
  visit_order.reserve(cluster.size());
  for (SimNodeState& s : cluster) {
    visit_order.push_back(&s);
  }
  std::mt19937_64 node_rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::shuffle(visit_order.begin(), visit_order.end(), node_rng);
  std::vector<size_t> order(pods.size());
  std::iota(order.begin(), order.end(), 0);
  size_t next_in_order = order.size();
  double total_ask = 0.0;
  for (const SimPod& p : pods) {
    total_ask += p.gpuShare();
  }
  const double goal = options.inflate ? options.target * total_gpus : total_ask;
  if (options.inflate && total_ask <= 0.0) {
    return core::invalidArgument("--inflate", "no pod asks for a GPU, so arrivals never grow");
  }

  SimulationResult result;
  result.policy = equal ? "equal-slices " + std::to_string(options.slices) : options.policy;
  result.seed = options.seed;
  result.nodes = static_cast<int>(nodes.size());
  result.gpus = total_gpus;
  SamplePoint now;
  auto sample = [&]() {
    double frag = 0.0;
    for (SimNodeState& s : cluster) {
      if (s.frag_version != s.version) {
        s.fragmentation = core::nodeFragmentation(core::shapeOf(*s.state), measure_types);
        s.frag_version = s.version;
      }
      frag += s.fragmentation;
    }
    now.fragmented_gpus = frag;
    now.allocated_share = now.allocated_gpus / total_gpus;
    now.arrived_share = now.arrived_gpus / total_gpus;
    now.unallocated_gpus = total_gpus - now.allocated_gpus;
    result.series.push_back(now);
    if (result.at_capacity.arrived_pods == 0 && now.arrived_share >= 1.0 - 1e-9) {
      result.at_capacity = now;
    }
  };
  const auto started = std::chrono::steady_clock::now();
  double next_sample = 0.01;
  uint64_t uid = 0;

  auto demandFor = [&](const SimPod& pod, const SimNode& spec) {
    return equal ? equalSliceDemand(pod, spec.gpu_memory_mib, options.slices)
                 : demandOnGpu(pod, spec.gpu_memory_mib);
  };
  auto evaluate = [&](const NodeState& state, const SimPod& pod, const SimNode& spec) {
    const Demand demand = demandFor(pod, spec);
    CachedChoice c;
    if (pod.gpus == 0 && !fgd_family) {
      c.fits = state.hostFits(demand);
      c.score = hostScore(state, demand, pack_hosts);
    } else {
      core::NodeChoice choice = policy->choose(state, demand);
      c.fits = choice.fits;
      c.score = choice.score;
      c.gpus = std::move(choice.gpu_indices);
    }
    return c;
  };
  // The best node for `pod` (the first visited among equal scores), or nullptr.
  // Nodes in `changed` are scored on their changed state, the others from the
  // cache of answers for their current state.
  auto bestFor = [&](const SimPod& pod, int shape, std::span<const core::ChangedNode> changed,
                     CachedChoice* out) -> SimNodeState* {
    SimNodeState* best = nullptr;
    CachedChoice trial_choice;
    for (SimNodeState* node : visit_order) {
      SimNodeState& s = *node;
      if (pod.gpus > s.spec->gpus || (pod.gpus > 0 && !modelAllowed(pod, *s.spec))) {
        continue;
      }
      const auto id = static_cast<int>(&s - cluster.data());
      const auto it = std::find_if(changed.begin(), changed.end(),
                                   [&](const core::ChangedNode& c) { return c.id == id; });
      const CachedChoice* choice = nullptr;
      if (it != changed.end()) {
        trial_choice = evaluate(it->state, pod, *s.spec);
        choice = &trial_choice;
      } else {
        CachedChoice& cached = s.cache[static_cast<size_t>(shape)];
        if (cached.version != s.version) {
          cached = evaluate(*s.state, pod, *s.spec);
          cached.version = s.version;
        }
        choice = &cached;
      }
      if (!choice->fits) {
        continue;
      }
      // Equal scores keep the first node visited: the visiting order is a seeded
      // shuffle, so no policy gains from the order of the node list.
      if (best == nullptr || choice->score > out->score + kScoreTie) {
        best = &s;
        *out = *choice;
      }
    }
    return best;
  };
  auto place = [&](const SimPod& pod, int shape) -> core::Result<bool> {
    ++uid;
    CachedChoice choice;
    SimNodeState* best = bestFor(pod, shape, {}, &choice);
    if (best == nullptr) {
      ++now.failed_pods;
      now.failed_gpus += pod.gpuShare();
      if (pod.gpus == 0) {
        ++now.failed_host_only_pods;
      } else if (pod.sharesGpu()) {
        ++now.failed_sharing_pods;
      } else if (pod.gpus == 1) {
        ++now.failed_whole_gpu_pods;
      } else {
        ++now.failed_multi_gpu_pods;
      }
      return false;
    }
    core::ReserveRequest request;
    request.uid = std::to_string(uid);
    request.pod_key = pod.name;
    request.node = best->spec->name;
    request.gpu_indices = choice.gpus;
    request.demand = demandFor(pod, *best->spec);
    auto reserved = ledger.reserve(request);
    if (!reserved) {
      return core::Error{
          core::ErrorCode::kInternal, "simulate",
          "the policy chose a placement the ledger refused: " + reserved.error().describe()};
    }
    ++best->version;
    now.allocated_gpus += pod.gpuShare();
    return true;
  };

  // Arrivals waiting to be placed together (one at a time unless batching).
  const size_t batch_size = batching ? std::max<size_t>(1, options.batch.size) : 1;
  std::vector<size_t> pending;
  std::mt19937_64 order_rng(options.seed ^ 0x5bd1e995ULL);
  core::BatchCluster batch_cluster;
  batch_cluster.pick =
      [&](size_t i, std::span<const core::ChangedNode> changed) -> std::optional<core::BatchPick> {
    const size_t pick = pending[i];
    CachedChoice choice;
    SimNodeState* best = bestFor(pods[pick], shape_of[pick], changed, &choice);
    if (best == nullptr) {
      return std::nullopt;
    }
    return core::BatchPick{static_cast<int>(best - cluster.data()), choice.gpus,
                           demandFor(pods[pick], *best->spec)};
  };
  batch_cluster.node = [&](int id) -> const NodeState& {
    return *cluster[static_cast<size_t>(id)].state;
  };
  batch_cluster.ask = [&](size_t i) { return pods[pending[i]].gpuShare(); };
  auto placePending = [&]() -> core::Result<bool> {
    std::vector<double> asks;
    asks.reserve(pending.size());
    for (const size_t pick : pending) {
      asks.push_back(pods[pick].gpuShare());
    }
    const std::vector<int> chosen = core::bestOrder(
        batch_cluster, core::batchOrders(asks, options.batch.orders, order_rng), measure_types);
    for (const int i : chosen) {
      const size_t pick = pending[static_cast<size_t>(i)];
      auto placed = place(pods[pick], shape_of[pick]);
      if (!placed) {
        return placed;
      }
    }
    pending.clear();
    return true;
  };

  while (options.inflate ? now.arrived_gpus < goal : uid + pending.size() < pods.size()) {
    if (next_in_order == order.size()) {
      std::shuffle(order.begin(), order.end(), rng);
      next_in_order = 0;
    }
    const size_t pick = order[next_in_order++];
    ++now.arrived_pods;
    now.arrived_gpus += pods[pick].gpuShare();
    pending.push_back(pick);
    // A batch also ends where a sample is taken, so every sample sees all the
    // pods arrived before it placed or failed.
    const bool last =
        options.inflate ? now.arrived_gpus >= goal : uid + pending.size() >= pods.size();
    if (pending.size() >= batch_size || last || now.arrived_gpus / total_gpus >= next_sample) {
      auto placed = placePending();
      if (!placed) {
        return placed.error();
      }
    }
    while (now.arrived_gpus / total_gpus >= next_sample) {
      sample();
      next_sample += 0.01;
      if (options.progress) {
        options.progress(std::min(1.0, now.arrived_gpus / goal));
      }
    }
  }
  sample();
  result.final_point = result.series.back();
  if (result.at_capacity.arrived_pods == 0) {
    result.at_capacity = result.final_point;
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (const std::string broken = ledger.checkInvariant(); !broken.empty()) {
    return core::Error{core::ErrorCode::kInternal, "simulate",
                       "ledger invariant broken: " + broken};
  }
  return result;
}

}  // namespace mpshare::extender
