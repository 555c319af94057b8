// Every expression of the chart's Grafana dashboard and alert rules returns
// series from the real Prometheus server scraping mpshare-node, the extender
// and the webhook, all on 127.0.0.1; promtool accepts the rules and the
// agent's metrics. The node agent runs on a stand-in node: GPU processes from
// a file, a /proc-shaped tree that puts them in two pods' containers (one pod
// with two MPS clients), the pods from the test API server, and a stand-in MPS
// daemon that keeps crashing on GPU 1 (so the daemon alerts have something to
// say). The double-capped pod also gets exactly one Event, however many
// samples see it.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "platform/base64.h"
#include "platform/kube_client.h"
#include "platform/self_signed_cert.h"
#include "platform/yaml_json.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/platform/test_client.h"
#include "tests/support/child_process.h"
#include "tests/support/read_file.h"

namespace mpshare {
namespace {

using kubetest::Kind;
using nlohmann::json;
using testing_support::ChildProcess;
using testing_support::freeLoopbackPort;
using testing_support::readFile;
using testing_support::runToExit;
using namespace std::chrono_literals;

const std::string kSource = MPSHARE_SOURCE_DIR;
const std::string kGpu0 = "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f";
const std::string kGpu1 = "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f";
const std::string kUidA = "aaaaaaaa-0000-4000-8000-000000000001";
const std::string kUidB = "bbbbbbbb-0000-4000-8000-000000000002";
const std::string kIdA(64, 'a');
const std::string kIdB(64, 'b');

void writeFile(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

platform::testing::ClientResponse get(int port, const std::string& target) {
  platform::testing::ClientOptions plain;
  plain.tls = false;
  try {
    platform::testing::TestConnection connection(static_cast<uint16_t>(port), plain);
    return connection.request("GET", target);
  } catch (const std::exception&) {
    return {};
  }
}

json pod(const std::string& name, const std::string& uid, const std::string& id,
         const std::string& threads, const std::string& limit) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "ml"},
            {"uid", uid},
            {"annotations", {{"mpshare.io/gpu-index", "0"}}}}},
          {"spec",
           {{"nodeName", "gpu-a"},
            {"containers",
             {{{"name", "main"},
               {"env",
                {{{"name", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"}, {"value", threads}},
                 {{"name", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"}, {"value", limit}}}}}}}}},
          {"status",
           {{"phase", "Running"},
            {"containerStatuses", {{{"name", "main"}, {"containerID", "containerd://" + id}}}}}}};
}

// Every PromQL expression of the dashboard (panel targets and query variables
// aside) with its variables set as "All" sets them.
std::vector<std::pair<std::string, std::string>> dashboardExpressions() {
  const json dashboard = json::parse(readFile(kSource + "/charts/mpshare/dashboards/mpshare.json"));
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel.value("targets", json::array())) {
      std::string expr = target["expr"];
      for (size_t at; (at = expr.find("$node")) != std::string::npos;) expr.replace(at, 5, ".*");
      found.emplace_back(
          panel["title"].get<std::string>() + " " + target["refId"].get<std::string>(), expr);
    }
  }
  return found;
}

std::vector<std::pair<std::string, std::string>> ruleExpressions(const std::string& path) {
  auto rules = platform::yamlToJson(readFile(path), platform::YamlScalars::kStrings);
  EXPECT_TRUE(rules) << rules.error().describe();
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& group : (*rules)["groups"]) {
    for (const auto& rule : group["rules"]) found.emplace_back(rule["alert"], rule["expr"]);
  }
  return found;
}

class PrometheusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(MPSHARE_PROMETHEUS) ||
        !std::filesystem::exists(MPSHARE_PROMTOOL)) {
      GTEST_SKIP() << "prometheus and promtool are not installed (Debian: apt-get install "
                      "prometheus)";
    }
    dir_ = platform::testing::makeTempDir();
  }
  void TearDown() override {
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

  std::string dir_;
};

TEST_F(PrometheusTest, EveryDashboardAndRuleExpressionReturnsSeries) {
  // The API server: the node, and two pods on GPU 0.
  kubetest::TestApiServer api;
  api.store().create(Kind::kNodes,
                     json{{"apiVersion", "v1"},
                          {"kind", "Node"},
                          {"metadata", {{"name", "gpu-a"}, {"labels", json::object()}}}});
  api.store().create(Kind::kPods, pod("train-a", kUidA, kIdA, "30", "0=2048M"));
  api.store().create(Kind::kPods, pod("train-b", kUidB, kIdB, "50", "0=2048M"));
  const auto config = api.clientConfig();
  writeFile(file("kubeconfig"),
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n"
            "  cluster:\n    server: https://127.0.0.1:" +
                std::to_string(api.port()) +
                "\n    certificate-authority-data: " + platform::base64Encode(api.caPem()) +
                "\nusers:\n- name: test\n  user:\n    token: " + config.token +
                "\ncontexts:\n- name: test\n  context: {cluster: test, user: test}\n");

  // The node: two GPUs, their processes, and each process's cgroup.
  writeFile(file("inventory.yaml"), "gpus:\n- {index: 0, uuid: " + kGpu0 +
                                        ", product: NVIDIA-H200, memoryMiB: 143771}\n"
                                        "- {index: 1, uuid: " +
                                        kGpu1 + ", product: NVIDIA-H200, memoryMiB: 143771}\n");
  writeFile(file("processes.yaml"),
            "gpus:\n- index: 0\n  processes:\n"
            "  - {pid: 101, memoryMiB: 1024, smPercent: 20}\n"
            "  - {pid: 201, memoryMiB: 1536, smPercent: 10}\n"
            "  - {pid: 202, memoryMiB: 1536, smPercent: 15}\n"
            "  - {pid: 300, memoryMiB: 32, mpsClient: false}\n"
            "  - {pid: 400, memoryMiB: 512, mpsClient: false}\n");
  const auto cgroup = [](const std::string& uid, const std::string& id) {
    std::string slice = uid;
    std::replace(slice.begin(), slice.end(), '-', '_');
    return "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + slice +
           ".slice/cri-containerd-" + id + ".scope\n";
  };
  writeFile(file("proc/101/cgroup"), cgroup(kUidA, kIdA));
  writeFile(file("proc/201/cgroup"), cgroup(kUidB, kIdB));
  writeFile(file("proc/202/cgroup"), cgroup(kUidB, kIdB));
  writeFile(file("proc/300/cgroup"), "0::/system.slice/mpshare-node.service\n");
  writeFile(file("proc/300/comm"), "nvidia-cuda-mps\n");
  writeFile(file("proc/400/cgroup"), "0::/user.slice/user-1000.slice/session-1.scope\n");
  // A stand-in MPS control daemon; GPU 1's exits at once, so it is restarted again and again.
  writeFile(file("nvidia-cuda-mps-control"),
            "#!/bin/sh\nif [ \"$1\" = \"-f\" ]; then\n  case \"$CUDA_MPS_PIPE_DIRECTORY\" in *" +
                kGpu1 + "*) exit 1 ;; esac\n  exec sleep 600\nfi\nexit 0\n");
  std::filesystem::permissions(file("nvidia-cuda-mps-control"), std::filesystem::perms::owner_all);

  const int node_port = freeLoopbackPort();
  const int extender_port = freeLoopbackPort();
  const int webhook_port = freeLoopbackPort();
  const int webhook_metrics_port = freeLoopbackPort();
  const int prometheus_port = freeLoopbackPort();
  std::filesystem::create_directories(file("plugins"));
  ChildProcess agent({MPSHARE_NODE_BINARY,
                      "serve",
                      "--node-name",
                      "gpu-a",
                      "--kubeconfig",
                      file("kubeconfig"),
                      "--device-plugin-dir",
                      file("plugins"),
                      "--pod-resources-socket",
                      file("pod-resources.sock"),
                      "--cdi-dir",
                      file("cdi"),
                      "--nvidia-cdi-spec",
                      kSource + "/tests/fixtures/cdi/nvidia/2gpu.yaml",
                      "--mps-root",
                      file("mps"),
                      "--inventory",
                      file("inventory.yaml"),
                      "--clients-per-gpu",
                      "4",
                      "--metrics-listen",
                      "127.0.0.1:" + std::to_string(node_port),
                      "--mps-control",
                      file("nvidia-cuda-mps-control"),
                      "--usage-seconds",
                      "1",
                      "--processes-file",
                      file("processes.yaml"),
                      "--proc-root",
                      file("proc")},
                     file("agent.log"));
  ChildProcess extender(
      {MPSHARE_EXTENDER_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(extender_port),
       "--standalone", "--nodes", kSource + "/tests/fixtures/extender/nodes.yaml"},
      file("extender.log"));
  const auto tls = platform::writeSelfSignedBundle(file("tls"));
  ChildProcess webhook(
      {MPSHARE_WEBHOOK_BINARY, "serve", "--listen", "127.0.0.1:" + std::to_string(webhook_port),
       "--tls-cert", tls.cert_file, "--tls-key", tls.key_file, "--metrics-listen",
       "127.0.0.1:" + std::to_string(webhook_metrics_port)},
      file("webhook.log"));

  const auto target = [](int port) { return "[\"127.0.0.1:" + std::to_string(port) + "\"]"; };
  writeFile(file("prometheus.yml"),
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "- job_name: mpshare-node\n  honor_labels: true\n"
            "  static_configs: [{targets: " +
                target(node_port) +
                ", labels: {node: gpu-a}}]\n"
                "- job_name: mpshare-extender\n  static_configs: [{targets: " +
                target(extender_port) +
                "}]\n"
                "- job_name: mpshare-webhook\n  static_configs: [{targets: " +
                target(webhook_metrics_port) + "}]\n");
  ChildProcess prometheus({MPSHARE_PROMETHEUS, "--config.file=" + file("prometheus.yml"),
                           "--storage.tsdb.path=" + file("tsdb"),
                           "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                          file("prometheus.log"));

  // One admission review, so the webhook's counters have a series.
  const auto review_deadline = std::chrono::steady_clock::now() + 20s;
  int reviewed = 0;
  while (reviewed != 200 && std::chrono::steady_clock::now() < review_deadline) {
    try {
      platform::testing::TestConnection connection(static_cast<uint16_t>(webhook_port), {});
      const json review = {{"apiVersion", "admission.k8s.io/v1"},
                           {"kind", "AdmissionReview"},
                           {"request",
                            {{"uid", "r1"},
                             {"operation", "CREATE"},
                             {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                             {"namespace", "ml"},
                             {"object",
                              {{"metadata", {{"name", "p"}, {"namespace", "ml"}}},
                               {"spec", {{"containers", {{{"name", "c"}}}}}}}}}}};
      reviewed =
          connection
              .request("POST", "/mutate", review.dump(), {{"Content-Type", "application/json"}})
              .status;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_EQ(reviewed, 200) << readFile(file("webhook.log"));

  // Every expression, until each returns series (rates need two samples).
  auto expressions = dashboardExpressions();
  const auto rules = ruleExpressions(kSource + "/charts/mpshare/rules/mpshare.rules.yaml");
  expressions.insert(expressions.end(), rules.begin(), rules.end());
  ASSERT_GE(expressions.size(), 20u);
  std::map<std::string, std::string> empty;
  const auto deadline = std::chrono::steady_clock::now() + 40s;
  do {
    empty.clear();
    for (const auto& [name, expr] : expressions) {
      const auto answer = get(prometheus_port, "/api/v1/query?query=" + platform::urlEncode(expr));
      const json body = json::parse(answer.body, nullptr, false);
      if (answer.status != 200 || body.is_discarded() || body["data"]["result"].empty()) {
        empty[name] = expr + " -> HTTP " + std::to_string(answer.status) + " " + answer.body;
      }
    }
    if (!empty.empty()) std::this_thread::sleep_for(500ms);
  } while (!empty.empty() && std::chrono::steady_clock::now() < deadline);
  for (const auto& [name, why] : empty) ADD_FAILURE() << name << ": no series: " << why;
  if (!empty.empty()) {
    ADD_FAILURE() << "agent log:\n"
                  << readFile(file("agent.log")) << "\nnode metrics:\n"
                  << get(node_port, "/metrics").body;
  }

  // The values behind the alerts: train-b holds 3072 MiB under a 2048 MiB cap with two clients.
  const auto query = [&](const std::string& expr) {
    return json::parse(
        get(prometheus_port, "/api/v1/query?query=" + platform::urlEncode(expr)).body);
  };
  const json doubled = query("mpshare_node_pod_double_capped == 1")["data"]["result"];
  ASSERT_EQ(doubled.size(), 1u);
  EXPECT_EQ(doubled[0]["metric"]["pod"], "train-b");
  EXPECT_EQ(doubled[0]["metric"]["namespace"], "ml");
  EXPECT_EQ(doubled[0]["metric"]["node"], "gpu-a");
  const json used =
      query("mpshare_node_container_gpu_memory_used_bytes{pod=\"train-b\"}")["data"]["result"];
  ASSERT_EQ(used.size(), 1u);
  EXPECT_EQ(used[0]["value"][1], std::to_string(3072LL * 1024 * 1024));

  // One Event for the double-capped pod, though it was seen in many samples.
  const auto events = api.events();
  ASSERT_EQ(events.size(), 1u) << json(events).dump();
  EXPECT_EQ(events[0]["reason"], "MpsDoubleCapped");
  EXPECT_EQ(events[0]["type"], "Warning");
  EXPECT_EQ(events[0]["involvedObject"]["name"], "train-b");
  EXPECT_EQ(events[0]["involvedObject"]["uid"], kUidB);
  EXPECT_NE(events[0]["message"].get<std::string>().find("up to 4096 MiB (2 x 2048 MiB)"),
            std::string::npos)
      << events[0]["message"];

  // The table a person at the node gets, with the pods from the API server.
  EXPECT_EQ(runToExit({MPSHARE_NODE_BINARY, "usage", "--node-name", "gpu-a", "--kubeconfig",
                       file("kubeconfig"), "--inventory", file("inventory.yaml"),
                       "--processes-file", file("processes.yaml"), "--proc-root", file("proc")},
                      file("usage.txt")),
            0);
  const std::string table = readFile(file("usage.txt"));
  EXPECT_NE(table.find("ml/train-b  main       0    50%      3072 / 2048 MiB  !"),
            std::string::npos)
      << table;

  // The agent's exposition follows Prometheus's naming and format rules.
  writeFile(file("node-metrics.txt"), get(node_port, "/metrics").body);
  EXPECT_EQ(
      runToExit({"/bin/sh", "-c",
                 std::string(MPSHARE_PROMTOOL) + " check metrics < " + file("node-metrics.txt")},
                file("promtool-metrics.log")),
      0)
      << readFile(file("promtool-metrics.log"));

  // promtool accepts the rules the chart ships.
  EXPECT_EQ(runToExit({MPSHARE_PROMTOOL, "check", "rules",
                       kSource + "/charts/mpshare/rules/mpshare.rules.yaml"},
                      file("promtool.log")),
            0)
      << readFile(file("promtool.log"));
}

}  // namespace
}  // namespace mpshare
