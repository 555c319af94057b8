// mpshare-test-apiserver: the in-process test API server as a program, so the
// real `mpshare-extender serve` can run in cluster mode on a machine without
// Kubernetes. It seeds a synthetic cluster, writes DIR/kubeconfig (its address,
// CA and bearer token) and serves until SIGINT or SIGTERM.
//
//   mpshare-test-apiserver --dir /tmp/api [--nodes 1000] [--pods 10000] [--gpus-per-node 8]
//   [--pending 5] mpshare-extender serve --listen 127.0.0.1:8888 --kubeconfig /tmp/api/kubeconfig

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/cluster_seed.h"
#include "platform/base64.h"
#include "platform/stop_signals.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"

namespace {

constexpr const char* kUsage =
    "usage: mpshare-test-apiserver --dir DIR [--nodes N] [--pods N] [--gpus-per-node N] [--pending "
    "N]\n"
    "  Serves a synthetic cluster on 127.0.0.1 (HTTPS, bearer token) and writes DIR/kubeconfig.\n"
    "  --pods: running pods already bound with mpshare.io/gpu-index; --pending: unbound pods\n"
    "  pending-0.. in namespace ml (30 % threads, 4Gi) for trying /filter and /bind.\n";

bool parseCount(const std::string& flag, const std::string& text, int& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || out < 0) {
    std::cerr << "mpshare-test-apiserver: " << flag << ": expected a whole number >= 0, got \""
              << text << "\"\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int pending = 0;
  mpshare::bench::ClusterShape shape{.nodes = 3, .pods = 0, .gpus_per_node = 2};
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= args.size()) {
      std::cerr << "mpshare-test-apiserver: " << flag << " needs a value\n" << kUsage;
      return 2;
    }
    const std::string& value = args[++i];
    if (flag == "--dir") {
      dir = value;
    } else if (flag == "--nodes") {
      if (!parseCount(flag, value, shape.nodes)) return 2;
    } else if (flag == "--pods") {
      if (!parseCount(flag, value, shape.pods)) return 2;
    } else if (flag == "--gpus-per-node") {
      if (!parseCount(flag, value, shape.gpus_per_node)) return 2;
    } else if (flag == "--pending") {
      if (!parseCount(flag, value, pending)) return 2;
    } else {
      std::cerr << "mpshare-test-apiserver: unknown flag " << flag
                << " (takes --dir, --nodes, --pods, --gpus-per-node, --pending)\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::cerr << "mpshare-test-apiserver: --dir is required\n" << kUsage;
    return 2;
  }
  if (shape.pods > 0 && shape.nodes == 0) {
    std::cerr << "mpshare-test-apiserver: --pods needs at least one node (--nodes >= 1)\n";
    return 2;
  }
  // Clients hang up on watches at any moment; StopSignals also ignores SIGPIPE.
  const mpshare::platform::StopSignals stop_signals;

  mpshare::kubetest::TestApiServer server;
  mpshare::bench::seedCluster(server.store(), shape);
  for (int i = 0; i < pending; ++i) {
    server.store().create(
        mpshare::kubetest::Kind::kPods,
        mpshare::kubetest::makePod({.name = "pending-" + std::to_string(i),
                                    .annotations = {{"mpshare.io/thread-percentage", "30"},
                                                    {"mpshare.io/memory-limit", "4Gi"}}}));
  }
  std::filesystem::create_directories(dir);
  const auto config = server.clientConfig();
  const std::string path = (std::filesystem::path(dir) / "kubeconfig").string();
  std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                      << "clusters:\n- name: test\n  cluster:\n    server: https://127.0.0.1:"
                      << server.port() << "\n    certificate-authority-data: "
                      << mpshare::platform::base64Encode(server.caPem()) << "\n"
                      << "users:\n- name: test\n  user:\n    token: " << config.token << "\n"
                      << "contexts:\n- name: test\n  context: {cluster: test, user: test}\n";
  std::cout << "serving " << shape.nodes << " nodes, " << shape.pods << " running and " << pending
            << " pending pods on https://127.0.0.1:" << server.port() << "; kubeconfig: " << path
            << std::endl;
  (void)stop_signals.wait();
  return 0;
}
