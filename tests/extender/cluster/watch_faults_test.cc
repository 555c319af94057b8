// The watch-driven cache under seeded faults on its list and watch
// connections, while the API server's objects keep changing under it.
//
// Per seed, for kChurnTime: other actors create GPU pods already bound with
// an mpshare.io/gpu-index, bind pending ones, place whole-GPU pods without
// mpshare's annotations, delete pods and finish them (Succeeded/Failed);
// nodes are added, relabelled (GPU count, memory, clients, the selector
// label, a malformed label) and removed. A scheduler creates pods and places
// them through the extender's filter (over every node) and bind (on nodes
// no one else places on), binding a pod whose bind failed again later, as
// kube-scheduler does, on the same node or the other. Meanwhile a fault
// proxy cuts list and watch connections part-way (mid-chunk, mid-event,
// mid-handshake), stalls them past the client's idle timeout, slows them;
// the API server expires watches (410 as an event or as the HTTP status on
// the re-watch), answers lists and watches with 500s, stalls and cuts its
// watches, and sends or withholds bookmarks.
//
// Checked for every seed:
//  - no bind the extender makes overcommits a GPU: after each one the API
//    server's pods on the scheduler's nodes fit their GPUs' budgets (threads,
//    memory, clients), and the ledger holds no over-budget GPU there;
//  - once the faults stop, the cache converges within kWait to exactly what
//    the API server holds: the ledger (nodes, their GPU budgets, every
//    placement and overcommit flag) equals the one a fresh extender builds,
//    and matches the API server's nodes and placed pods read directly.
// CI runs kDefaultSeeds; MPSHARE_WATCH_FAULT_SEEDS=N runs seeds 1..N,
// MPSHARE_WATCH_FAULT_SEED=S only S (docs/reliability.md has a long run).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "core/annotations.h"
#include "core/demand.h"
#include "extender/cluster/cluster_extender.h"
#include "platform/kube_json.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/extender/cluster/ready_extender.h"
#include "tests/support/eventually.h"
#include "tests/support/fault_proxy.h"

namespace mpshare::extender {
namespace {

using kubetest::Kind;
using kubetest::makeNode;
using kubetest::makePod;
using kubetest::TestApiServer;
using nlohmann::json;
using testsupport::FaultProxy;
using testsupport::FaultRates;
using Clock = std::chrono::steady_clock;

constexpr int kDefaultSeeds = 3;
// How long objects change and faults fly, per seed.
constexpr auto kChurnTime = std::chrono::milliseconds(1500);
// The bound on convergence once the faults stop (generous: 2 shared cores).
constexpr auto kWait = std::chrono::seconds(30);
constexpr auto kIdleTimeout = std::chrono::milliseconds(250);
// Only the scheduler places pods here, and only through the extender; their
// labels only grow. Any over-budget GPU on them is the extender's doing.
const std::vector<std::string> kScheduledNodes = {"s0", "s1"};
// Nodes that come, change and go, with pods placed by other actors.
constexpr int kChurnNodes = 5;

ClusterOptions fastOptions() {
  ClusterOptions options;
  options.page_size = 5;  // several pages per list, so lists fail between pages
  options.watch_timeout_seconds = 30;
  options.idle_timeout = kIdleTimeout;
  options.backoff_initial = std::chrono::milliseconds(5);
  options.backoff_max = std::chrono::milliseconds(50);
  return options;
}

std::string churnNode(int i) { return "c" + std::to_string(i); }

// Null when it did not start or get ready (the failure is recorded): the
// caller still has threads to stop before it fails.
std::unique_ptr<ClusterExtender> startExtender(const platform::KubeConfig& kube) {
  try {
    return testing_support::startReadyExtender(kube, fastOptions(), kWait);
  } catch (const std::exception&) {
    return nullptr;
  }
}

bool live(const json& pod) {
  const std::string phase = pod["status"].value("phase", "");
  return phase != "Succeeded" && phase != "Failed";
}

std::string nodeOf(const json& pod) { return pod["spec"].value("nodeName", ""); }

std::vector<json> listAll(TestApiServer& server, Kind kind) {
  int64_t version = 0;
  return server.store().list(kind, {}, &version);
}

// A GPU over budget on one of the scheduler's nodes: which, and the keys of
// the pods on it.
struct OverBudget {
  std::string gpu;  // "s0 GPU1"
  std::set<std::string> pods;
};

// The scheduler's nodes as the API server holds them: every GPU whose live
// pods add up past its budget (threads, memory, clients). A pod there
// without a usable gpu-index is reported as a GPU of its own.
std::vector<OverBudget> truthOverBudget(TestApiServer& server) {
  const ExtenderConfig config;
  std::map<std::string, core::NodeCapacity> capacity;
  for (const auto& name : kScheduledNodes) {
    auto view = platform::nodeFromJson(*server.store().get(Kind::kNodes, name));
    capacity[name] = *core::nodeCapacityFromLabels(*view, config.inventory);
  }
  std::map<std::string, std::pair<core::GpuUsage, std::set<std::string>>> used;
  std::vector<OverBudget> over;
  for (const auto& pod : listAll(server, Kind::kPods)) {
    if (!live(pod) || !capacity.count(nodeOf(pod))) continue;
    const auto view = platform::podFromJson(pod);
    const auto demand = core::demandOf(*view, config.demand);
    const auto index = view->annotations.find(std::string(core::kGpuIndexAnnotation));
    const auto indices = index == view->annotations.end()
                             ? core::Result<std::vector<int>>(core::Error{})
                             : core::parseGpuIndices(index->second);
    const auto& gpus = capacity[nodeOf(pod)].gpus;
    if (!demand.ok() || !demand->has_value() || !indices ||
        std::any_of(indices->begin(), indices->end(),
                    [&](int i) { return i < 0 || i >= static_cast<int>(gpus.size()); })) {
      over.push_back({nodeOf(pod) + ": no usable gpu-index", {view->key()}});
      continue;
    }
    for (const int gpu : *indices) {
      const core::GpuDemand need = core::resolveOn(**demand, gpus[static_cast<size_t>(gpu)]);
      auto& [sum, pods] = used[nodeOf(pod) + " GPU" + std::to_string(gpu)];
      sum.threads += need.threads;
      sum.memory_mib += need.memory_mib;
      sum.clients += need.clients;
      pods.insert(view->key());
      const auto& cap = gpus[static_cast<size_t>(gpu)];
      if (sum.threads > cap.threads || sum.memory_mib > cap.memory_mib ||
          sum.clients > cap.clients) {
        over.push_back({nodeOf(pod) + " GPU" + std::to_string(gpu), {}});
      }
    }
  }
  for (auto& o : over) {
    if (o.pods.empty()) o.pods = used[o.gpu].second;
  }
  return over;
}

// The ledger's own view of the scheduler's nodes: a GPU over budget among
// the reservations bind took (an error), or a pod the cache recorded over
// budget there (its GPU and the pods on it).
std::vector<OverBudget> ledgerOverBudget(ClusterExtender& extender) {
  std::vector<OverBudget> over;
  extender.service().ledger().read([&](const core::LedgerState& state) {
    if (const std::string broken = state.checkInvariant(); !broken.empty()) {
      over.push_back({"ledger: " + broken, {}});
    }
    for (const auto& [uid, r] : state.reservations()) {
      if (!r.overcommitted || !std::count(kScheduledNodes.begin(), kScheduledNodes.end(), r.node)) {
        continue;
      }
      for (const int gpu : r.gpu_indices) {
        OverBudget o{"ledger: " + r.node + " GPU" + std::to_string(gpu), {}};
        for (const auto& [other, placed] : state.reservations()) {
          if (placed.node == r.node &&
              std::count(placed.gpu_indices.begin(), placed.gpu_indices.end(), gpu)) {
            o.pods.insert(placed.pod_key);
          }
        }
        over.push_back(std::move(o));
      }
    }
  });
  return over;
}

// The first overcommit the extender let happen, if any. A bind whose Binding
// lands while its reply and the check that follows are both lost holds its
// share (unsettled) until the outcome is known, so it is no excuse.
struct Verdict {
  std::string violation;
};
void judge(const std::vector<OverBudget>& over, const std::string& when, Verdict& verdict) {
  for (const auto& o : over) {
    std::string pods;
    for (const auto& pod : o.pods) pods += " " + pod;
    if (verdict.violation.empty())
      verdict.violation = when + ": " + o.gpu + " over budget, pods" + pods;
  }
}

std::string mpshareShare(std::mt19937_64& random) {
  static const char* kThreads[] = {"20", "25", "40", "50"};
  return kThreads[random() % 4];
}
std::string mpshareMemory(std::mt19937_64& random) {
  return std::to_string(1 + random() % 6) + "Gi";
}

// Other actors: everything that changes the API server's objects besides the
// scheduler. Each step is one change, drawn from the seed.
class World {
 public:
  World(TestApiServer& server, uint64_t seed) : server_(server), random_(seed) {}

  void createInitial() {
    for (const auto& name : kScheduledNodes)
      server_.store().create(Kind::kNodes, makeNode(name, 2, 16384, 4));
    for (int i = 0; i < 2; ++i) addChurnNode(i);
    for (int i = 0; i < 8; ++i) placeForeign();
  }

  void step() {
    ++changes_;
    switch (random_() % 14) {
      case 0:
      case 1:
        placeForeign();
        break;
      case 2:
        createPendingForeign();
        break;
      case 3:
        bindPendingForeign();
        break;
      case 4:
        placeWholeGpu();
        break;
      case 5:
      case 6:
        deleteAPod();
        break;
      case 7:
      case 8:
        finishAPod();
        break;
      case 9:
        addChurnNode(static_cast<int>(random_() % kChurnNodes));
        break;
      case 10:
      case 11:
        relabelChurnNode();
        break;
      case 12:
        server_.store().remove(Kind::kNodes, churnNode(static_cast<int>(random_() % kChurnNodes)));
        break;
      default:
        growScheduledNode();
        break;
    }
  }

  [[nodiscard]] int changes() const { return changes_; }

 private:
  std::string present(int tries = 4) {
    for (int t = 0; t < tries; ++t) {
      const std::string name = churnNode(static_cast<int>(random_() % kChurnNodes));
      if (server_.store().get(Kind::kNodes, name)) return name;
    }
    return churnNode(0);  // may be absent: a pod bound to a node that is gone
  }

  void addChurnNode(int i) {
    if (server_.store().get(Kind::kNodes, churnNode(i))) return;
    server_.store().create(Kind::kNodes, makeNode(churnNode(i), 1 + static_cast<int>(random_() % 4),
                                                  8192 * (1 + static_cast<int>(random_() % 4)),
                                                  2 + static_cast<int>(random_() % 7)));
  }

  void relabelChurnNode() {
    auto node = server_.store().get(Kind::kNodes, present());
    if (!node) return;
    auto& labels = (*node)["metadata"]["labels"];
    switch (random_() % 6) {
      case 0:
      case 1:
        labels["nvidia.com/gpu.count"] = std::to_string(1 + random_() % 4);
        break;
      case 2:
        labels["nvidia.com/gpu.memory"] = std::to_string(8192 * (1 + random_() % 4));
        break;
      case 3:
        labels["nvidia.com/gpu.replicas"] = std::to_string(2 + random_() % 7);
        break;
      case 4:  // leaves the selection, or comes back into it
        labels["mpshare.io/mps"] =
            labels.value("mpshare.io/mps", "") == "enabled" ? "disabled" : "enabled";
        break;
      default:  // unusable until relabelled again
        labels["nvidia.com/gpu.memory"] = random_() % 2 ? "16GB" : "16384";
        break;
    }
    server_.store().update(Kind::kNodes, *node);
  }

  void growScheduledNode() {
    auto node = server_.store().get(Kind::kNodes, kScheduledNodes[random_() % 2]);
    auto& labels = (*node)["metadata"]["labels"];
    if (random_() % 2) {
      const int gpus = std::stoi(labels["nvidia.com/gpu.count"].get<std::string>());
      labels["nvidia.com/gpu.count"] = std::to_string(std::min(4, gpus + 1));
    } else {
      const int memory = std::stoi(labels["nvidia.com/gpu.memory"].get<std::string>());
      labels["nvidia.com/gpu.memory"] = std::to_string(std::min(32768, memory + 2048));
    }
    server_.store().update(Kind::kNodes, *node);
  }

  std::map<std::string, std::string> shareAnnotations() {
    return {{"mpshare.io/thread-percentage", mpshareShare(random_)},
            {"mpshare.io/memory-limit", mpshareMemory(random_)}};
  }

  // Bound by another mpshare-aware actor, annotated; the index may be one the
  // node does not have (then it counts as whole GPUs).
  void placeForeign() {
    auto annotations = shareAnnotations();
    annotations["mpshare.io/gpu-index"] = std::to_string(random_() % 4);
    server_.store().create(Kind::kPods, makePod({.name = "f" + std::to_string(++pods_),
                                                 .node = present(),
                                                 .phase = "Running",
                                                 .annotations = annotations}));
  }

  void createPendingForeign() {
    server_.store().create(Kind::kPods, makePod({.name = "p" + std::to_string(++pods_),
                                                 .annotations = shareAnnotations()}));
  }

  void bindPendingForeign() {
    for (auto pod : listAll(server_, Kind::kPods)) {
      if (pod["metadata"]["name"].get<std::string>()[0] != 'p' || !nodeOf(pod).empty()) continue;
      pod["spec"]["nodeName"] = present();
      pod["metadata"]["annotations"]["mpshare.io/gpu-index"] = std::to_string(random_() % 2);
      pod["status"]["phase"] = "Running";
      server_.store().update(Kind::kPods, pod);
      return;
    }
  }

  // Placed by something that knows nothing of mpshare: counted as whole GPUs.
  void placeWholeGpu() {
    server_.store().create(Kind::kPods, makePod({.name = "g" + std::to_string(++pods_),
                                                 .node = present(),
                                                 .phase = "Running",
                                                 .gpus = 1 + static_cast<int>(random_() % 2)}));
  }

  std::optional<json> anyLivePod() {
    auto pods = listAll(server_, Kind::kPods);
    std::erase_if(pods, [](const json& pod) { return !live(pod); });
    if (pods.empty()) return std::nullopt;
    return pods[random_() % pods.size()];
  }

  void deleteAPod() {
    if (auto pod = anyLivePod()) {
      server_.store().remove(Kind::kPods, "ml/" + (*pod)["metadata"]["name"].get<std::string>());
    }
  }

  void finishAPod() {
    if (auto pod = anyLivePod(); pod && !nodeOf(*pod).empty()) {
      (*pod)["status"]["phase"] = random_() % 2 ? "Succeeded" : "Failed";
      server_.store().update(Kind::kPods, *pod);
    }
  }

  TestApiServer& server_;
  std::mt19937_64 random_;
  int pods_ = 0;
  int changes_ = 0;
};

// A pod whose bind was answered with an error, waiting for the scheduler to
// retry it: its name, UID and the node it was last bound to.
struct Retry {
  std::string name;
  std::string uid;
  std::string node;
  int tries = 1;
};

struct SchedulerResult {
  int filters = 0;
  int binds = 0;  // bound
  int failed_calls = 0;
  std::set<std::string> errored;  // pods whose bind was answered with an error
  int retries = 0;                // binds of those pods again
  std::vector<Retry> pending;     // errored, not yet bound again or dropped
  Verdict verdict;
};

// Binds `retry` again, as the scheduler does with a pod whose bind failed;
// true when bound.
bool bindAgain(ClusterExtender& extender, const Retry& retry) {
  const json args{
      {"PodName", retry.name}, {"PodNamespace", "ml"}, {"PodUID", retry.uid}, {"Node", retry.node}};
  const auto bound = extender.handle({"POST", "/scheduler/bind", "", {}, args.dump()});
  return bound.status == 200 && json::parse(bound.body).value("Error", "x").empty();
}

// Creates a pod, filters the scheduler's nodes, binds it to one that passed;
// after every bind, checks the API server's truth and the ledger.
void schedule(ClusterExtender& extender, TestApiServer& server, uint64_t seed,
              const std::atomic<bool>& done, SchedulerResult& result) {
  std::mt19937_64 random(seed);
  // Filter sees the churning nodes too (over budget, relabelled, gone), but
  // the scheduler binds only to its own.
  json names = json::array();
  for (const auto& name : kScheduledNodes) names.push_back(name);
  for (int i = 0; i < kChurnNodes; ++i) names.push_back(churnNode(i));
  for (int n = 0; !done; ++n) {
    const std::string name = "q" + std::to_string(n);
    server.store().create(
        Kind::kPods,
        makePod({.name = name,
                 .annotations = {{"mpshare.io/thread-percentage", mpshareShare(random)},
                                 {"mpshare.io/memory-limit", mpshareMemory(random)}}}));
    const json pod = *server.store().get(Kind::kPods, "ml/" + name);
    ++result.filters;
    const auto filtered = extender.handle(
        {"POST", "/scheduler/filter", "", {}, json{{"Pod", pod}, {"NodeNames", names}}.dump()});
    json passed = json::array();
    if (filtered.status == 200) {
      for (const auto& node : json::parse(filtered.body).value("NodeNames", json::array())) {
        if (std::count(kScheduledNodes.begin(), kScheduledNodes.end(), node))
          passed.push_back(node);
      }
    }
    if (passed.empty()) {
      // No room now (or not ready): the scheduler would retry later; this
      // pod is dropped so that pending pods do not pile up.
      if (filtered.status != 200) ++result.failed_calls;
      server.store().remove(Kind::kPods, "ml/" + name);
      std::this_thread::sleep_for(std::chrono::milliseconds(2 + random() % 5));
      continue;
    }
    const json args{{"PodName", name},
                    {"PodNamespace", "ml"},
                    {"PodUID", pod["metadata"]["uid"]},
                    {"Node", passed[random() % passed.size()]}};
    const auto bound = extender.handle({"POST", "/scheduler/bind", "", {}, args.dump()});
    if (bound.status == 200 && json::parse(bound.body).value("Error", "x").empty()) {
      ++result.binds;
    } else {
      ++result.failed_calls;
      result.errored.insert("ml/" + name);
      // Kept, as the scheduler keeps it, so that a Binding that landed
      // without its reply stays live while other pods are bound.
      result.pending.push_back({name, pod["metadata"]["uid"], args["Node"]});
    }
    const std::string when = "after binding " + name;
    judge(truthOverBudget(server), when + " (API server)", result.verdict);
    judge(ledgerOverBudget(extender), when + " (ledger)", result.verdict);
    // Now and then the oldest errored pod is bound again: on the same node
    // (its held share is reused) or on the other one (refused while the first
    // outcome is unknown); after three tries it is dropped (deleted).
    if (!result.pending.empty() && random() % 4 == 0) {
      Retry retry = result.pending.front();
      result.pending.erase(result.pending.begin());
      if (random() % 3 == 0)
        retry.node = retry.node == kScheduledNodes[0] ? kScheduledNodes[1] : kScheduledNodes[0];
      ++result.retries;
      if (bindAgain(extender, retry)) {
        ++result.binds;
      } else if (++retry.tries < 3) {
        result.pending.push_back(retry);
      } else {
        server.store().remove(Kind::kPods, "ml/" + retry.name);
      }
      judge(truthOverBudget(server), "after binding " + retry.name + " again (API server)",
            result.verdict);
      judge(ledgerOverBudget(extender), "after binding " + retry.name + " again (ledger)",
            result.verdict);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + random() % 3));
  }
}

struct FaultTally {
  std::map<std::string, int> server;  // fault kind -> count
  int total() const {
    int sum = 0;
    for (const auto& [kind, count] : server) sum += count;
    return sum;
  }
};

// Seeded faults on the list and watch connections until `done`.
void injectFaults(TestApiServer& server, FaultProxy& proxy, uint64_t seed,
                  const std::atomic<bool>& done, FaultTally& tally) {
  std::mt19937_64 random(seed);
  // The bookmarks this schedule withholds, of those it would send.
  const double withheld = static_cast<double>(random() % 100) / 100.0;
  const auto wait = [&](int from_ms, int to_ms) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(from_ms + static_cast<int>(random() % (to_ms - from_ms + 1))));
  };
  const FaultRates calm{.delay = 0.05, .max_delay = std::chrono::milliseconds(5)};
  proxy.setRates(calm);
  // Every kind of fault in turn, in an order drawn anew each round, so that
  // even a short schedule meets them all.
  std::vector<int> kinds(10);
  std::iota(kinds.begin(), kinds.end(), 0);
  size_t next = kinds.size();
  while (!done) {
    wait(5, 40);
    if (next == kinds.size()) {
      std::shuffle(kinds.begin(), kinds.end(), random);
      next = 0;
    }
    switch (kinds[next++]) {
      case 0:  // connections cut part-way, stalled past the idle timeout, delayed
        ++tally.server["proxy bursts"];
        proxy.setRates({.cut_request = 0.1,
                        .cut_reply = 0.3,
                        .delay = 0.2,
                        .max_cut_bytes = 6000,
                        .max_delay = std::chrono::milliseconds(20),
                        .stall = 0.2,
                        .stall_min = kIdleTimeout + std::chrono::milliseconds(50),
                        .stall_max = kIdleTimeout * 3});
        wait(50, 200);
        proxy.setRates(calm);
        break;
      case 1:  // slow lists and watches: most chunks held up to 60 ms
        ++tally.server["slow connections"];
        proxy.setRates({.delay = 0.8, .max_delay = std::chrono::milliseconds(60)});
        wait(100, 250);
        proxy.setRates(calm);
        break;
      case 2:
        ++tally.server["watches cut mid-event"];
        server.dropWatchesMidEvent();
        break;
      case 3:
        ++tally.server["watches stalled"];
        server.setStalled(true);
        wait(static_cast<int>(kIdleTimeout.count()) + 50,
             2 * static_cast<int>(kIdleTimeout.count()));
        server.setStalled(false);
        break;
      case 4:
        ++tally.server["410 as a watch event"];
        server.expireWatches(false);
        break;
      case 5:
        ++tally.server["410 on the re-watch"];
        server.expireWatches(true);
        break;
      case 6: {  // the relist that follows an expiry meets 500s
        ++tally.server["500s on list or watch"];
        server.expireWatches(random() % 2 == 0);
        server.failNext(1 + static_cast<int>(random() % 3), 500,
                        random() % 2 ? "/api/v1/pods" : "/api/v1/nodes");
        break;
      }
      case 7: {  // ... or resets
        ++tally.server["resets on relist"];
        server.expireWatches(random() % 2 == 0);
        proxy.setRates({.cut_request = 0.3, .cut_reply = 0.4, .max_cut_bytes = 4000});
        wait(30, 100);
        proxy.setRates(calm);
        break;
      }
      case 8:
        ++tally.server["watches closed"];
        server.closeWatches();
        break;
      default:
        if (static_cast<double>(random() % 100) / 100.0 < withheld) {
          ++tally.server["bookmarks withheld"];
        } else {
          ++tally.server["bookmarks sent"];
          server.sendBookmarks();
        }
        break;
    }
  }
  proxy.setRates({});
  server.failNext(0, 500);
  server.setStalled(false);
}

std::string describe(const core::LedgerSnapshot& snapshot) {
  std::string out;
  for (const auto& node : snapshot.nodes) {
    out += "  node " + node.name() + ": " + std::to_string(node.gpus.size()) + " GPUs\n";
  }
  for (const auto& r : snapshot.reservations) {
    out += "  " + r.pod_key + " on " + r.node + " GPU " + core::formatGpuIndices(r.gpu_indices) +
           (r.overcommitted ? " (over budget)" : "") + "\n";
  }
  return out;
}

// The ledger against the API server read directly: the managed nodes with
// the GPUs their labels give, and one reservation per live placed GPU pod on
// them, on the GPUs its annotation names when the node has them.
void expectMatchesApiServer(const core::LedgerSnapshot& got, TestApiServer& server) {
  const ExtenderConfig config;
  std::map<std::string, core::NodeCapacity> nodes;
  for (const auto& node : listAll(server, Kind::kNodes)) {
    const auto view = platform::nodeFromJson(node);
    if (!core::isManagedNode(*view, config.inventory)) continue;
    if (auto capacity = core::nodeCapacityFromLabels(*view, config.inventory)) {
      nodes[view->name] = *capacity;
    }
  }
  std::map<std::string, core::NodeCapacity> in_ledger;
  for (const auto& node : got.nodes) in_ledger[node.name()] = node.capacity;
  EXPECT_EQ(in_ledger, nodes) << "ledger:\n" << describe(got);

  std::map<std::string, std::string> want;  // pod key -> node and GPUs
  for (const auto& pod : listAll(server, Kind::kPods)) {
    const auto view = platform::podFromJson(pod);
    const auto node = nodes.find(nodeOf(pod));
    if (!live(pod) || node == nodes.end()) continue;
    const auto demand = core::demandOf(*view, config.demand);
    if (!demand.ok() || !demand->has_value()) continue;
    const int gpus = static_cast<int>(node->second.gpus.size());
    if ((*demand)->gpus > gpus) continue;  // cannot run there: not counted
    std::vector<int> indices;
    const auto index = view->annotations.find(std::string(core::kGpuIndexAnnotation));
    if (index != view->annotations.end()) {
      if (auto parsed = core::parseGpuIndices(index->second)) indices = *parsed;
    }
    if (indices.empty() ||
        std::any_of(indices.begin(), indices.end(), [&](int i) { return i >= gpus; })) {
      indices.clear();  // placed outside mpshare, or a GPU the node lacks: whole GPUs from 0
      for (int i = 0; i < (*demand)->gpus; ++i) indices.push_back(i);
    }
    want[view->key()] = node->first + " GPU " + core::formatGpuIndices(indices);
  }
  std::map<std::string, std::string> have;
  for (const auto& r : got.reservations) {
    have[r.pod_key] = r.node + " GPU " + core::formatGpuIndices(r.gpu_indices);
  }
  EXPECT_EQ(have, want);
}

std::vector<uint64_t> seeds() {
  if (const char* one = std::getenv("MPSHARE_WATCH_FAULT_SEED")) return {std::stoull(one)};
  int count = kDefaultSeeds;
  if (const char* many = std::getenv("MPSHARE_WATCH_FAULT_SEEDS")) count = std::stoi(many);
  std::vector<uint64_t> out;
  for (int s = 1; s <= count; ++s) out.push_back(static_cast<uint64_t>(s));
  return out;
}

TEST(WatchFaultsTest, TheCacheConvergesToTheApiServerAndNoBindOvercommits) {
  const auto all = seeds();
  std::vector<double> converge_ms;
  long changes = 0, versions = 0, binds = 0, filters = 0, server_faults = 0;
  long cuts = 0, stalls = 0, delays = 0, lists = 0, expired = 0, failures = 0;
  long failed_binds = 0, retries = 0;
  std::map<std::string, int> kinds;
  for (const uint64_t seed : all) {
    SCOPED_TRACE("seed " + std::to_string(seed) +
                 " (rerun: MPSHARE_WATCH_FAULT_SEED=" + std::to_string(seed) + ")");
    TestApiServer server;
    server.setRandomChunking(seed);  // events split over many chunks
    World world(server, seed * 7919);
    world.createInitial();
    FaultProxy proxy(static_cast<uint16_t>(server.port()), seed);
    platform::KubeConfig kube = server.clientConfig();
    kube.server.port = proxy.port();
    auto extender = startExtender(kube);
    ASSERT_NE(extender, nullptr);
    const int64_t first_version = server.store().resourceVersion();

    std::atomic<bool> done{false};
    FaultTally tally;
    SchedulerResult scheduled;
    std::thread faults([&] { injectFaults(server, proxy, seed ^ 0xfa017, done, tally); });
    std::thread scheduler([&] { schedule(*extender, server, seed * 31, done, scheduled); });
    std::mt19937_64 pace(seed);
    for (const auto end = Clock::now() + kChurnTime; Clock::now() < end;) {
      world.step();
      std::this_thread::sleep_for(std::chrono::milliseconds(2 + pace() % 12));
    }
    done = true;
    scheduler.join();
    faults.join();
    // The pods still waiting for a retry are bound again on the node last
    // tried, now without faults: one whose Binding landed there is found
    // there, one whose Binding did not is bound now; one refused (its share
    // held on the other node, or the node filled up meanwhile) is dropped.
    for (const Retry& retry : scheduled.pending) {
      ++scheduled.retries;
      if (bindAgain(*extender, retry)) {
        ++scheduled.binds;
      } else {
        server.store().remove(Kind::kPods, "ml/" + retry.name);
      }
      judge(truthOverBudget(server), "after binding " + retry.name + " at the end (API server)",
            scheduled.verdict);
      judge(ledgerOverBudget(*extender), "after binding " + retry.name + " at the end (ledger)",
            scheduled.verdict);
    }
    const auto stopped = Clock::now();
    EXPECT_EQ(scheduled.verdict.violation, "");

    // Watches the faulty extender's cache from the moment the faults stop:
    // when it last changed is when it converged, if it ends right.
    struct View {
      core::LedgerSnapshot ledger;
      std::map<std::string, std::string> rejected;
      size_t pods = 0;
      bool operator==(const View&) const = default;
    };
    const auto viewOf = [](ClusterExtender& e) {
      return View{e.service().ledger().snapshot(), e.service().rejectedNodes(),
                  e.cache().podCount()};
    };
    std::mutex sampled_mutex;
    View sampled = viewOf(*extender);
    auto sampled_at = Clock::now();
    std::atomic<bool> sampling{true};
    std::thread sampler([&] {
      for (int round = 0; sampling; ++round) {
        // The API server sends each watch a bookmark now and then (about
        // once a minute; here every 100 ms).
        if (round % 50 == 0) server.sendBookmarks();
        View now = viewOf(*extender);
        {
          std::lock_guard lock(sampled_mutex);
          if (!(now == sampled)) {
            sampled = std::move(now);
            sampled_at = Clock::now();
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    // What the cache must converge to: what a fresh extender builds from the
    // API server without faults.
    auto fresh = startExtender(server.clientConfig());
    if (fresh == nullptr) {
      sampling = false;
      sampler.join();
      FAIL() << "no fresh extender";
    }
    const View want = viewOf(*fresh);
    View got;
    double took = 0;
    const bool converged = testing_support::eventually(
        [&] {
          std::lock_guard lock(sampled_mutex);
          got = sampled;
          took = std::chrono::duration<double, std::milli>(sampled_at - stopped).count();
          return got == want;
        },
        kWait);
    sampling = false;
    sampler.join();
    EXPECT_TRUE(converged) << "ledger:\n"
                           << describe(got.ledger) << "fresh extender's:\n"
                           << describe(want.ledger);
    EXPECT_EQ(got.rejected, want.rejected);
    EXPECT_EQ(got.pods, want.pods);
    expectMatchesApiServer(got.ledger, server);
    judge(ledgerOverBudget(*extender), "converged", scheduled.verdict);
    EXPECT_EQ(scheduled.verdict.violation, "");

    // Proof that the faults reached the cache and the scheduler got work done.
    const auto node_stats = extender->nodeStats();
    const auto pod_stats = extender->podStats();
    EXPECT_GT(node_stats.failures + pod_stats.failures + node_stats.expired + pod_stats.expired, 0);
    EXPECT_GT(scheduled.binds, 0);

    const auto counts = proxy.counts();
    converge_ms.push_back(took);
    changes += world.changes();
    versions += server.store().resourceVersion() - first_version;
    binds += scheduled.binds;
    failed_binds += static_cast<long>(scheduled.errored.size());
    retries += scheduled.retries;
    filters += scheduled.filters;
    server_faults += tally.total();
    for (const auto& [kind, count] : tally.server) kinds[kind] += count;
    cuts += counts.requests_cut + counts.replies_cut;
    stalls += counts.stalls;
    delays += counts.delays;
    lists += node_stats.lists + pod_stats.lists;
    expired += node_stats.expired + pod_stats.expired;
    failures += node_stats.failures + pod_stats.failures;
    if (std::getenv("MPSHARE_WATCH_FAULT_SEEDS") != nullptr) {
      std::cout << "seed " << seed << ": converged in " << took << " ms, " << world.changes()
                << " changes, " << scheduled.binds << " binds, " << tally.total() << " faults, "
                << counts.requests_cut + counts.replies_cut << " cuts, " << counts.stalls
                << " stalls, " << scheduled.errored.size() << " binds answered with an error, "
                << scheduled.retries << " retried\n";
    }
    if (HasFailure()) break;
  }
  std::sort(converge_ms.begin(), converge_ms.end());
  std::cout << "seeds " << all.size() << ": object changes " << changes << " (" << versions
            << " resource versions), filters " << filters << ", binds " << binds << " ("
            << failed_binds << " answered with an error, " << retries
            << " retries of those), faults " << server_faults << " scheduled + proxy: " << cuts
            << " connections cut, " << stalls << " stalled, " << delays
            << " chunks delayed; cache: " << lists << " lists, " << expired << " 410s, " << failures
            << " failed lists/watches; converged in median "
            << (converge_ms.empty() ? 0 : converge_ms[converge_ms.size() / 2]) << " ms, max "
            << (converge_ms.empty() ? 0 : converge_ms.back()) << " ms\n";
  for (const auto& [kind, count] : kinds) std::cout << "  " << kind << ": " << count << "\n";
}

}  // namespace
}  // namespace mpshare::extender
