// mpshare-node as a process, end to end, on a fake 2-GPU node: the fake
// kubelet (registration + PodResources), the test API server, NVIDIA's CDI
// spec from the fixtures, and a stand-in nvidia-cuda-mps-control. Covers the
// order a real node goes through: start, register, Allocate, PreStart, node
// labels, a daemon crash, an agent restart mid-way, a kubelet restart, and a
// clean stop on SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/slots.h"
#include "platform/base64.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "testing/kubelet/fake_kubelet.h"
#include "tests/platform/test_client.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/read_file.h"

namespace mpshare::node {
namespace {

using kubetest::Kind;
using nlohmann::json;
using testing_support::ChildProcess;
using testing_support::eventually;
using testing_support::readFile;
using namespace std::chrono_literals;

const std::string kGpu0 = "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f";
const std::string kGpu1 = "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f";

// For the agent to register, restart daemons, label the node.
constexpr std::chrono::milliseconds kWait = 10s;

// CUDA_VISIBLE_DEVICES of a slot's spec: the GPU its container gets.
std::string specUuid(const std::string& path) {
  const json spec = json::parse(readFile(path));
  for (const auto& env : spec["devices"][0]["containerEdits"]["env"]) {
    const std::string entry = env;
    if (entry.rfind("CUDA_VISIBLE_DEVICES=", 0) == 0) return entry.substr(entry.find('=') + 1);
  }
  return "";
}

int healthyCount(const std::vector<SlotHealth>& slots) {
  int n = 0;
  for (const auto& slot : slots) n += slot.healthy ? 1 : 0;
  return n;
}

class AgentProcessTest : public ::testing::Test {
 protected:
  AgentProcessTest() {
    std::filesystem::create_directories(dir_.file("plugins"));
    std::filesystem::create_directories(dir_.file("cdi"));
    std::ofstream(dir_.file("inventory.yaml"))
        << "gpus:\n  - {index: 0, uuid: " << kGpu0
        << ", product: NVIDIA-H100-80GB-HBM3, memoryMiB: 81559}\n"
        << "  - {index: 1, uuid: " << kGpu1
        << ", product: NVIDIA-H100-80GB-HBM3, memoryMiB: 81559}\n";
    // A stand-in MPS control daemon: `-f` records its pid and env and waits;
    // `quit` on stdin ends the daemon of $CUDA_MPS_PIPE_DIRECTORY.
    const std::string control = dir_.file("nvidia-cuda-mps-control");
    std::ofstream(control)
        << "#!/bin/sh\n"
        << "if [ \"$1\" = \"-f\" ]; then\n"
        << "  echo $$ > \"$CUDA_MPS_PIPE_DIRECTORY/daemon.pid\"\n"
        << "  env > \"$CUDA_MPS_PIPE_DIRECTORY/daemon.env\"\n"
        << "  exec sleep 600\n"
        << "fi\n"
        << "read command\n"
        << "[ \"$command\" = quit ] && kill $(cat \"$CUDA_MPS_PIPE_DIRECTORY/daemon.pid\")\n"
        << "exit 0\n";
    std::filesystem::permissions(control, std::filesystem::perms::owner_all);

    api_.store().create(Kind::kNodes, kubetest::makeNode("gpu-a"));
    api_.store().create(
        Kind::kPods,
        kubetest::makePod(
            {.name = "a", .node = "gpu-a", .annotations = {{"mpshare.io/gpu-index", "1"}}}));
    api_.store().create(
        Kind::kPods,
        kubetest::makePod(
            {.name = "b", .node = "gpu-a", .annotations = {{"mpshare.io/gpu-index", "0"}}}));
    const auto config = api_.clientConfig();
    std::ofstream(dir_.file("kubeconfig"))
        << "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        << "clusters:\n- name: test\n  cluster:\n    server: https://127.0.0.1:" << api_.port()
        << "\n    certificate-authority-data: " << platform::base64Encode(api_.caPem()) << "\n"
        << "users:\n- name: test\n  user:\n    token: " << config.token << "\n"
        << "contexts:\n- name: test\n  context: {cluster: test, user: test}\n";
    metrics_port_ = testing_support::freeLoopbackPort();
  }
  ~AgentProcessTest() override {
    if (agent_) agent_->signal(SIGKILL);
    agent_.reset();
    // Daemons the agent left behind when it was killed.
    for (const auto& uuid : {kGpu0, kGpu1}) {
      const std::string pid_file = dir_.file("mps/" + uuid + "/pipe/daemon.pid");
      if (std::filesystem::exists(pid_file)) ::kill(std::stoi(readFile(pid_file)), SIGKILL);
    }
  }

  void startKubelet() {
    kubelet_ =
        std::make_unique<fakes::FakeKubelet>(fakes::FakeKubelet::Options{dir_.file("plugins")});
    ASSERT_TRUE(kubelet_->start().ok());
  }

  // Its stdout (the slot table) to /dev/null; its log on the test's stderr.
  void startAgent() {
    agent_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{
            MPSHARE_NODE_BINARY,
            "serve",
            "--node-name",
            "gpu-a",
            "--kubeconfig",
            dir_.file("kubeconfig"),
            "--device-plugin-dir",
            dir_.file("plugins"),
            "--pod-resources-socket",
            dir_.file("pod-resources.sock"),
            "--cdi-dir",
            dir_.file("cdi"),
            "--nvidia-cdi-spec",
            std::string(MPSHARE_SOURCE_DIR) + "/tests/fixtures/cdi/nvidia/2gpu.yaml",
            "--mps-root",
            dir_.file("mps"),
            "--inventory",
            dir_.file("inventory.yaml"),
            "--clients-per-gpu",
            "4",
            "--metrics-listen",
            "127.0.0.1:" + std::to_string(metrics_port_),
            "--mps-control",
            dir_.file("nvidia-cuda-mps-control"),
            "--reconcile-seconds",
            "1"},
        "/dev/null", testing_support::Logged::kStdoutOnly);
  }

  std::string metrics() {
    platform::testing::ClientOptions plain;
    plain.tls = false;
    platform::testing::TestConnection connection(static_cast<uint16_t>(metrics_port_), plain);
    return connection.request("GET", "/metrics").body;
  }

  fakes::SocketDir dir_;
  kubetest::TestApiServer api_;
  std::unique_ptr<fakes::FakeKubelet> kubelet_;
  std::unique_ptr<ChildProcess> agent_;
  int metrics_port_ = 0;
};

TEST_F(AgentProcessTest, AGpuPerPodThroughCrashesAndRestarts) {
  fakes::FakePodResources pod_resources(dir_.file("pod-resources.sock"));
  ASSERT_TRUE(pod_resources.start().ok());
  startKubelet();
  startAgent();

  // Registered, with 2 GPUs x 4 slots, all healthy once both daemons run.
  ASSERT_TRUE(kubelet_->waitForRegistrations(1, 15s));
  EXPECT_TRUE(kubelet_->lastOptions()->pre_start_required());
  ASSERT_TRUE(eventually(
      [&] {
        const auto lists = kubelet_->lists();
        return !lists.empty() && lists.back().size() == 8 && healthyCount(lists.back()) == 8;
      },
      kWait));
  EXPECT_NE(readFile(dir_.file("mps/" + kGpu1 + "/pipe/daemon.env"))
                .find("CUDA_VISIBLE_DEVICES=" + kGpu1),
            std::string::npos);

  // The kubelet gives pod a slot-006 and pod b slot-001: slot numbers say nothing of the GPU.
  pod_resources.setPods({{"ml", "a", {{"main", "nvidia.com/gpu.shared", {"slot-006"}}}},
                         {"ml", "b", {{"main", "nvidia.com/gpu.shared", {"slot-001"}}}}});
  v1beta1::AllocateResponse allocated;
  ASSERT_TRUE(kubelet_->allocate({{"slot-006"}, {"slot-001"}}, &allocated).ok());
  EXPECT_EQ(allocated.container_responses(0).cdi_devices(0).name(), "mpshare.io/gpu=slot-006");
  ASSERT_TRUE(kubelet_->preStart({"slot-006"}).ok());
  ASSERT_TRUE(kubelet_->preStart({"slot-001"}).ok());
  EXPECT_EQ(specUuid(dir_.file("cdi/mpshare.io-gpu-slot-006.json")), kGpu1);
  EXPECT_EQ(specUuid(dir_.file("cdi/mpshare.io-gpu-slot-001.json")), kGpu0);
  EXPECT_NE(readFile(dir_.file("cdi/mpshare.io-gpu-slot-006.json"))
                .find(dir_.file("mps/" + kGpu1 + "/pipe")),
            std::string::npos);

  // A container of a pod the kubelet does not list: refused with the reason.
  const auto refused = kubelet_->preStart({"slot-003"});
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("no container holds slot-003"), std::string::npos)
      << refused.error_message();

  // The node is labelled for the extender.
  ASSERT_TRUE(eventually(
      [&] {
        const json node = *api_.store().get(Kind::kNodes, "gpu-a");
        return node["metadata"]["labels"].value("mpshare.io/gpu.count", "") == "2";
      },
      kWait));
  const json labels = (*api_.store().get(Kind::kNodes, "gpu-a"))["metadata"]["labels"];
  EXPECT_EQ(labels["mpshare.io/gpu.memory"], "81559");
  EXPECT_EQ(labels["mpshare.io/gpu.clients"], "4");
  const std::string scraped = metrics();
  EXPECT_NE(scraped.find("mpshare_node_prestart_total{outcome=\"bound\"} 2"), std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("mpshare_node_slots_bound 2"), std::string::npos) << scraped;

  // GPU0's daemon dies: its share of slots goes Unhealthy, then Healthy once restarted.
  const std::string daemon0 = readFile(dir_.file("mps/" + kGpu0 + "/pipe/daemon.pid"));
  ASSERT_FALSE(daemon0.empty());
  ::kill(std::stoi(daemon0), SIGKILL);
  ASSERT_TRUE(eventually([&] { return healthyCount(kubelet_->lists().back()) == 4; }, kWait));
  const auto down = kubelet_->lists().back();
  EXPECT_FALSE(down[1].healthy);  // slot-001 is bound to GPU0
  EXPECT_TRUE(down[6].healthy);   // slot-006 is bound to GPU1
  ASSERT_TRUE(eventually([&] { return healthyCount(kubelet_->lists().back()) == 8; }, 20s));

  // The agent dies mid-way: a new one re-registers and loses nothing.
  agent_->signal(SIGKILL);
  ASSERT_TRUE(agent_->waitForExit(kWait));
  for (const auto& uuid : {kGpu0, kGpu1})
    ::kill(std::stoi(readFile(dir_.file("mps/" + uuid + "/pipe/daemon.pid"))), SIGKILL);
  pod_resources.setPods(
      {{"ml", "a", {{"main", "nvidia.com/gpu.shared", {"slot-006"}}}}});  // b ended
  startAgent();
  ASSERT_TRUE(kubelet_->waitForRegistrations(2, 15s));
  ASSERT_TRUE(kubelet_->preStart({"slot-006"}).ok());  // a's container restarts
  EXPECT_EQ(specUuid(dir_.file("cdi/mpshare.io-gpu-slot-006.json")), kGpu1);
  ASSERT_TRUE(eventually(
      [&] { return !std::filesystem::exists(dir_.file("cdi/mpshare.io-gpu-slot-001.json")); },
      kWait));
  EXPECT_TRUE(std::filesystem::exists(dir_.file("cdi/mpshare.io-gpu-slot-006.json")));

  // The kubelet restarts: a new kubelet.sock, a new registration, Allocate works.
  kubelet_->stop();
  startKubelet();
  ASSERT_TRUE(kubelet_->waitForRegistrations(1, 15s));
  ASSERT_TRUE(kubelet_->allocate({{"slot-002"}}, &allocated).ok());

  // SIGTERM: a clean stop, the daemons told to quit.
  agent_->signal(SIGTERM);
  const auto status = agent_->waitForExit(15s);
  ASSERT_TRUE(status) << "no exit within 15 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  pod_resources.stop();
}

}  // namespace
}  // namespace mpshare::node
