// Cluster-mode figures for docs/benchmarks.md, against the in-process test API
// server over real HTTPS on 127.0.0.1:
//  - watch latency: a pod event written to the API server's store until the
//    ledger shows it (placed pod -> reservation, Succeeded -> released);
//  - relist: a full paginated list of every live pod (HTTP, TLS, JSON) plus
//    rebuilding the cache and ledger from it, and the initial sync of a
//    starting extender (nodes and pods listed in parallel);
//  - memory: heap held by the cache and ledger once they hold the cluster.
//
//   cluster_benchmark [--nodes 1000] [--pods 10000] [--events 300] [--runs 5]

#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/cluster_seed.h"
#include "extender/cluster/cluster_cache.h"
#include "extender/cluster/cluster_extender.h"
#include "extender/service.h"
#include "extender/standalone.h"
#include "testing/apiserver/test_api_server.h"

namespace {

using mpshare::bench::ClusterShape;
using mpshare::kubetest::Kind;
using mpshare::kubetest::TestApiServer;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

size_t heapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

// "p50 / p90 / p99 / max" of `samples` (ms), sorted in place.
std::string percentiles(std::vector<double>& samples) {
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double q) {
    return samples[std::min(samples.size() - 1,
                            static_cast<size_t>(q * static_cast<double>(samples.size())))];
  };
  std::ostringstream out;
  out.precision(2);
  out << std::fixed << at(0.5) << " / " << at(0.9) << " / " << at(0.99) << " / " << samples.back()
      << " ms";
  return out.str();
}

std::string medianRange(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  std::ostringstream out;
  out.precision(0);
  out << std::fixed << samples[samples.size() / 2] << " ms (" << samples.front() << "–"
      << samples.back() << ")";
  return out.str();
}

template <typename Predicate>
void spinUntil(Predicate predicate) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!predicate()) {
    if (Clock::now() > deadline) throw std::runtime_error("event never reached the ledger");
    std::this_thread::yield();
  }
}

// Event -> ledger, one event at a time so each latency is undisturbed by queueing.
void watchLatency(TestApiServer& server, const ClusterShape& shape, int events) {
  mpshare::extender::ClusterOptions options;
  auto extender = mpshare::extender::ClusterExtender::start({}, server.clientConfig(), options);
  if (!extender.ok() || !(*extender)->waitReady(std::chrono::minutes(2))) {
    throw std::runtime_error("extender did not sync");
  }
  auto& ledger = (*extender)->service().ledger();
  std::vector<double> added, ended;
  // Event -1 is a warm-up: right after ready the watch may still be connecting.
  for (int i = -1; i < events; ++i) {
    const std::string name = "event-" + std::to_string(i + 1);
    nlohmann::json pod = mpshare::bench::placedPod(
        name, mpshare::bench::nodeName((i + 1) % shape.nodes), shape.gpus_per_node - 1);
    pod["metadata"]["uid"] = "bench-" + name;
    const std::string uid = pod["metadata"]["uid"];
    auto start = Clock::now();
    server.store().create(Kind::kPods, pod);
    spinUntil([&] { return ledger.reservation(uid).has_value(); });
    if (i >= 0) added.push_back(msSince(start));
    nlohmann::json done = *server.store().get(Kind::kPods, "ml/" + name);
    done["status"]["phase"] = "Succeeded";
    start = Clock::now();
    server.store().update(Kind::kPods, done);
    spinUntil([&] { return !ledger.reservation(uid).has_value(); });
    if (i >= 0) ended.push_back(msSince(start));
  }
  std::cout << "| pod placed -> reserved (" << events << " events) | " << percentiles(added)
            << " |\n"
            << "| pod Succeeded -> released (" << events << " events) | " << percentiles(ended)
            << " |\n";
}

// What one relist costs: the paginated list, then the cache and ledger rebuilt from it.
void relist(TestApiServer& server, int runs) {
  auto client = mpshare::platform::KubeClient::create(server.clientConfig());
  if (!client.ok()) throw std::runtime_error(client.error().describe());
  const mpshare::platform::ResourceQuery pods{"/api/v1/pods", "",
                                              "status.phase!=Succeeded,status.phase!=Failed"};
  const mpshare::platform::ResourceQuery nodes{"/api/v1/nodes", "mpshare.io/mps=enabled", ""};
  std::vector<double> list_ms, rebuild_ms, sync_ms;
  size_t heap = 0, items = 0;
  int pages = 0;
  for (int run = 0; run < runs; ++run) {
    auto node_list = (*client)->list(nodes, 500);
    auto start = Clock::now();
    auto pod_list = (*client)->list(pods, 500);
    list_ms.push_back(msSince(start));
    if (!node_list.ok() || !pod_list.ok()) throw std::runtime_error("list failed");
    items = pod_list->items.size();
    pages = pod_list->pages;
    malloc_trim(0);
    const size_t before = heapInUse();
    {
      mpshare::extender::MemoryPodLookup lookup;
      mpshare::extender::MemoryBinder binder;
      mpshare::extender::ExtenderService service({}, lookup, binder);
      mpshare::extender::ClusterCache cache(service.config(), service, service.ledger(), nullptr);
      cache.nodeSink().replace(node_list->items);
      start = Clock::now();
      cache.podSink().replace(pod_list->items);
      rebuild_ms.push_back(msSince(start));
      heap = heapInUse() - before;
    }
    start = Clock::now();
    auto extender = mpshare::extender::ClusterExtender::start({}, server.clientConfig());
    if (!extender.ok() || !(*extender)->waitReady(std::chrono::minutes(2))) {
      throw std::runtime_error("extender did not sync");
    }
    sync_ms.push_back(msSince(start));
  }
  std::cout << "| list every live pod (" << items << " pods, " << pages << " pages of 500) | "
            << medianRange(list_ms) << " |\n"
            << "| rebuild cache + ledger from that list | " << medianRange(rebuild_ms) << " |\n"
            << "| extender start -> ready (nodes and pods listed in parallel, ledger rebuilt) | "
            << medianRange(sync_ms) << " |\n"
            << "| heap held by cache + ledger | " << std::fixed << std::setprecision(1)
            << static_cast<double>(heap) / (1024.0 * 1024.0) << " MiB ("
            << heap / std::max<size_t>(1, items) << " bytes per pod) |\n";
}

int parseFlag(const std::string& flag, const std::string& text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    throw std::invalid_argument(flag + ": expected a whole number > 0, got \"" + text + "\"");
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  ClusterShape shape;
  int events = 300;
  int runs = 5;
  try {
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i];
      const int value = parseFlag(flag, argv[i + 1]);
      if (flag == "--nodes") {
        shape.nodes = value;
      } else if (flag == "--pods") {
        shape.pods = value;
      } else if (flag == "--events") {
        events = value;
      } else if (flag == "--runs") {
        runs = value;
      } else {
        throw std::invalid_argument("unknown flag " + flag +
                                    " (takes --nodes, --pods, --events, --runs)");
      }
    }
    if (argc % 2 == 0) throw std::invalid_argument(std::string(argv[argc - 1]) + " needs a value");
    std::cout << "cores " << std::thread::hardware_concurrency() << ", load average before "
              << loadAverage() << "\n";
    TestApiServer server;
    mpshare::bench::seedCluster(server.store(), shape);
    std::cout << "cluster: " << shape.nodes << " nodes x " << shape.gpus_per_node << " GPUs, "
              << shape.pods << " running pods\n\n| measurement | value |\n|---|---|\n";
    relist(server, runs);
    watchLatency(server, shape, events);
    std::cout << "\nload average after " << loadAverage() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "cluster_benchmark: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
