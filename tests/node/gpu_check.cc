// mpshare-node-gpu-check: mpshare-node on a real GPU node, end to end, without
// a cluster. Plays the kubelet (device plugin registration, Allocate,
// PreStartContainer, PodResources) and the API server (in-process test
// server), runs the real agent binary against NVML and the real
// nvidia-cuda-mps-control, then starts an MPS client with exactly the
// environment a container would get: its slot's CDI spec (GPU, pipe
// directory) plus the limits the webhook injects. Reports, as JSON lines:
//   - the SMs and memory each client sees, against its thread limit;
//   - a client run with the same limits but no MPS daemon (the limits then
//     do nothing, which shows the agent's daemon is what applies them);
//   - the slots' health while the MPS control daemon is killed and restarted.
// Used by tests/gpu/run_node_validation.sh; never run by ctest.
//
//   mpshare-node-gpu-check --agent build/node/mpshare-node --probe ./mpshare-gpu-probe --dir /tmp/x

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/slots.h"
#include "node/nvml_inventory.h"
#include "platform/base64.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "testing/kubelet/fake_kubelet.h"
#include "tests/support/eventually.h"

namespace {

using namespace mpshare;
using namespace std::chrono_literals;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using mpshare::testing_support::eventually;

std::string flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

std::string run(const std::string& command) {
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    ::pclose(pipe);
  }
  return out;
}

int healthy(const std::vector<node::SlotHealth>& slots) {
  int n = 0;
  for (const auto& slot : slots) n += slot.healthy ? 1 : 0;
  return n;
}

void emit(const json& line) { std::cout << line.dump() << std::endl; }

}  // namespace

int main(int argc, char** argv) {
  const std::string agent = flag(argc, argv, "--agent", "");
  const std::string probe = flag(argc, argv, "--probe", "");
  const std::string dir = flag(argc, argv, "--dir", "/tmp/mpshare-node-check");
  if (agent.empty() || probe.empty()) {
    std::cerr << "usage: mpshare-node-gpu-check --agent PATH --probe PATH [--dir DIR]\n";
    return 2;
  }
  std::filesystem::remove_all(dir);
  for (const char* sub : {"plugins", "cdi", "mps"})
    std::filesystem::create_directories(dir + "/" + sub);

  // NVIDIA's CDI spec, as nvidia-ctk would write it for these GPUs (device
  // nodes only: the client below runs on the host, which has the driver).
  auto gpus = node::readNvmlInventory();
  if (!gpus || gpus->empty()) {
    std::cerr << "no GPU: " << (gpus ? "none found" : gpus.error().describe()) << "\n";
    return 1;
  }
  json spec = {{"cdiVersion", "0.5.0"},
               {"kind", "nvidia.com/gpu"},
               {"containerEdits",
                {{"deviceNodes", {{{"path", "/dev/nvidiactl"}}, {{"path", "/dev/nvidia-uvm"}}}}}},
               {"devices", json::array()}};
  for (const auto& gpu : *gpus) {
    const json edits = {{"deviceNodes", {{{"path", "/dev/nvidia" + std::to_string(gpu.index)}}}}};
    spec["devices"].push_back({{"name", std::to_string(gpu.index)}, {"containerEdits", edits}});
    spec["devices"].push_back({{"name", gpu.uuid}, {"containerEdits", edits}});
  }
  std::ofstream(dir + "/nvidia.json") << spec.dump(2);

  // The API server: the node and the pods the extender would have placed on GPU 0.
  kubetest::TestApiServer api;
  api.store().create(kubetest::Kind::kNodes, kubetest::makeNode("gpu-node"));
  const std::vector<int> percents{25, 60};
  for (int percent : percents) {
    api.store().create(kubetest::Kind::kPods,
                       kubetest::makePod({.name = "probe-" + std::to_string(percent),
                                          .node = "gpu-node",
                                          .annotations = {{"mpshare.io/gpu-index", "0"},
                                                          {"mpshare.io/thread-percentage",
                                                           std::to_string(percent)},
                                                          {"mpshare.io/memory-limit", "4Gi"}}}));
  }
  std::ofstream(dir + "/kubeconfig")
      << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
      << "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:" << api.port()
      << "\n    certificate-authority-data: " << platform::base64Encode(api.caPem())
      << "\nusers:\n- name: u\n  user:\n    token: " << api.clientConfig().token
      << "\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\n";

  // The kubelet's side.
  node::fakes::FakeKubelet kubelet({dir + "/plugins"});
  node::fakes::FakePodResources pod_resources(dir + "/pod-resources.sock");
  if (!kubelet.start().ok() || !pod_resources.start().ok()) return 1;

  const auto started = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(agent.c_str(), agent.c_str(), "serve", "--node-name", "gpu-node", "--kubeconfig",
            (dir + "/kubeconfig").c_str(), "--device-plugin-dir", (dir + "/plugins").c_str(),
            "--pod-resources-socket", (dir + "/pod-resources.sock").c_str(), "--cdi-dir",
            (dir + "/cdi").c_str(), "--nvidia-cdi-spec", (dir + "/nvidia.json").c_str(),
            "--mps-root", (dir + "/mps").c_str(), "--clients-per-gpu", "8", "--metrics-listen",
            "127.0.0.1:19400", "--reconcile-seconds", "2", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const int slots = static_cast<int>(gpus->size()) * 8;
  const bool registered = kubelet.waitForRegistrations(1, 30s) &&
                          eventually(
                              [&] {
                                const auto lists = kubelet.lists();
                                return !lists.empty() && healthy(lists.back()) == slots;
                              },
                              30s);
  emit({{"check", "registered"},
        {"ok", registered},
        {"slots", slots},
        {"seconds", std::chrono::duration<double>(Clock::now() - started).count()}});
  if (!registered) {
    ::kill(pid, SIGTERM);
    return 1;
  }

  // Each pod: the kubelet allocates a slot, PreStart binds it, the client runs
  // with the spec's env (the pipe directory as the container's mount shows it).
  std::vector<node::fakes::FakePod> held;
  int next_slot = slots - 1;
  for (int percent : percents) {
    const std::string name = "probe-" + std::to_string(percent);
    const std::string slot = core::slotId(next_slot--);
    held.push_back({"ml", name, {{"main", "nvidia.com/gpu.shared", {slot}}}});
    pod_resources.setPods(held);
    v1beta1::AllocateResponse allocated;
    const auto allocate = kubelet.allocate({{slot}}, &allocated);
    const auto prestart = kubelet.preStart({slot});
    const json slot_spec = json::parse(std::ifstream(
        dir + "/cdi/" + core::cdiSpecFileName(core::parseSlotId(slot, slots).value())));
    const json& edits = slot_spec["devices"][0]["containerEdits"];
    std::string env = "env";
    for (const auto& entry : edits["env"]) {
      const std::string text = entry;
      if (text.rfind("CUDA_MPS_PIPE_DIRECTORY=", 0) != 0) env += " '" + text + "'";
    }
    std::string host_pipe;
    for (const auto& mount : edits["mounts"]) {
      if (mount.value("containerPath", "") == "/run/mpshare/mps/pipe")
        host_pipe = mount["hostPath"];
    }
    env += " CUDA_MPS_PIPE_DIRECTORY=" + host_pipe +
           " CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=" + std::to_string(percent) +
           " CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=4096M";
    const std::string client =
        run(env + " " + probe + " --name " + name + " --limit-mib 4096 2>&1");
    const std::string servers = run("CUDA_MPS_PIPE_DIRECTORY=" + host_pipe +
                                    " sh -c 'echo get_server_list | nvidia-cuda-mps-control'");
    emit({{"check", "client"},
          {"pod", name},
          {"slot", slot},
          {"allocate_ok", allocate.ok()},
          {"cdi_device",
           allocate.ok() ? allocated.container_responses(0).cdi_devices(0).name() : ""},
          {"prestart_ok", prestart.ok()},
          {"prestart_error", prestart.error_message()},
          {"spec_env", edits["env"]},
          {"pipe", host_pipe},
          {"probe", client},
          {"mps_servers", servers}});
  }
  // The same limits with no daemon behind the pipe: MPS limits do not apply.
  std::filesystem::create_directories(dir + "/no-daemon");
  emit({{"check", "client-without-daemon"},
        {"probe", run("CUDA_MPS_PIPE_DIRECTORY=" + dir +
                      "/no-daemon CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=25 "
                      "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=4096M " +
                      probe + " --name no-daemon --limit-mib 4096 2>&1")}});

  // The MPS control daemon dies: its GPU's slots go Unhealthy, then Healthy.
  const auto lists_before = kubelet.lists().size();
  const auto killed_at = Clock::now();
  run("pkill -KILL -f 'nvidia-cuda-mps-control -f'");
  const bool went_down = eventually([&] { return healthy(kubelet.lists().back()) < slots; }, 20s);
  const double down_after = std::chrono::duration<double>(Clock::now() - killed_at).count();
  const int healthy_while_down = healthy(kubelet.lists().back());
  const bool came_back = eventually([&] { return healthy(kubelet.lists().back()) == slots; }, 60s);
  const double up_after = std::chrono::duration<double>(Clock::now() - killed_at).count();
  emit({{"check", "daemon-killed"},
        {"unhealthy_seen", went_down},
        {"seconds_to_unhealthy", down_after},
        {"healthy_slots_while_down", healthy_while_down},
        {"healthy_again", came_back},
        {"seconds_to_healthy", up_after},
        {"lists_sent", kubelet.lists().size() - lists_before}});
  // And a client after the restart is served by the new daemon.
  const std::string host_pipe = dir + "/mps/" + gpus->front().uuid + "/pipe";
  emit({{"check", "client-after-restart"},
        {"probe", run("CUDA_VISIBLE_DEVICES=" + gpus->front().uuid + " CUDA_MPS_PIPE_DIRECTORY=" +
                      host_pipe + " CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=25 " + probe +
                      " --name after-restart 2>&1")}});
  emit({{"check", "metrics"},
        {"text", run("curl -s 127.0.0.1:19400/metrics | grep '^mpshare_node'")}});

  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  emit({{"check", "stopped"},
        {"exit_code", WIFEXITED(status) ? WEXITSTATUS(status) : -1},
        {"daemons_left", run("pgrep -fc '[n]vidia-cuda-mps-control -f' || true")}});
  kubelet.stop();
  pod_resources.stop();
  return 0;
}
