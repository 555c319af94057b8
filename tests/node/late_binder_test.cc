// LateBinder: PreStartContainer's slot -> pod -> GPU -> CDI spec, with an
// in-memory PodResources answer and pod directory and a real CDI directory.

#include "node/late_binder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/slots.h"
#include "node/cdi_dir.h"
#include "node/memory_pod_directory.h"
#include "tests/node/temp_dir.h"
#include "tests/support/require_ok.h"

namespace mpshare::node {
namespace {

using nlohmann::json;

const std::vector<core::GpuDevice> kGpus{
    {0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "NVIDIA-H100-80GB-HBM3", 81559, false},
    {1, "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f", "NVIDIA-H100-80GB-HBM3", 81559, false},
};
constexpr const char* kResource = "nvidia.com/gpu.shared";

core::PodView gpuPod(const std::string& name, std::map<std::string, std::string> annotations) {
  core::PodView pod;
  pod.name = name;
  pod.namespace_name = "ml";
  pod.uid = "uid-" + name;
  pod.node_name = "gpu-a";
  pod.has_annotations = !annotations.empty();
  pod.annotations = std::move(annotations);
  core::ContainerView container;
  container.name = "main";
  container.limits[kResource] = "1";
  pod.containers.push_back(container);
  return pod;
}

json readJson(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// The GPU a written slot spec hands out: its CUDA_VISIBLE_DEVICES value.
std::string specUuid(const std::string& cdi_dir, int slot) {
  const json spec = readJson(cdi_dir + "/" + core::cdiSpecFileName(slot));
  for (const auto& env : spec["devices"][0]["containerEdits"]["env"]) {
    const std::string entry = env;
    if (entry.rfind("CUDA_VISIBLE_DEVICES=", 0) == 0) return entry.substr(entry.find('=') + 1);
  }
  return "";
}

class LateBinderTest : public ::testing::Test {
 protected:
  LateBinderTest() {
    spec_ = testing_support::requireOk(
        loadNvidiaCdiSpec(std::string(MPSHARE_SOURCE_DIR) + "/tests/fixtures/cdi/nvidia/2gpu.yaml"),
        "loadNvidiaCdiSpec");
    options_.node_name = "gpu-a";
    options_.clients_per_gpu = 4;
    options_.cdi_dir = dir_.file("cdi");
    std::filesystem::create_directories(options_.cdi_dir);
  }

  std::unique_ptr<LateBinder> makeBinder() {
    GpuDaemons daemons{
        [](const core::GpuDevice& gpu) { return "/run/mpshare/mps/" + gpu.uuid + "/pipe"; },
        [this](const core::GpuDevice& gpu) { return down_.count(gpu.index) == 0; }};
    return std::make_unique<LateBinder>(
        options_, kGpus, spec_,
        [this]() -> core::Result<std::vector<ContainerDevices>> {
          std::lock_guard lock(mutex_);
          if (!list_error_.empty())
            return core::Error{core::ErrorCode::kUnavailable, "pod-resources", list_error_};
          return held_;
        },
        pods_, daemons);
  }

  void hold(const std::string& pod, std::vector<std::string> slots,
            const std::string& resource = kResource) {
    std::lock_guard lock(mutex_);
    held_.push_back({"ml", pod, "main", resource, std::move(slots)});
  }

  testing_support::TempDir dir_;
  NvidiaCdiSpec spec_;
  BinderOptions options_;
  MemoryPodDirectory pods_;
  std::mutex mutex_;
  std::vector<ContainerDevices> held_;
  std::string list_error_;
  std::set<int> down_;
};

TEST_F(LateBinderTest, TheSlotGetsTheGpuInThePodsAnnotation) {
  pods_.put(gpuPod("infer", {{"mpshare.io/gpu-index", "1"}}));
  hold("infer", {"slot-003"});
  auto binder = makeBinder();
  ASSERT_EQ(binder->slotCount(), 8);
  auto status = binder->preStart({"slot-003"});
  ASSERT_TRUE(status.ok()) << status.error().describe();

  const json spec = readJson(options_.cdi_dir + "/mpshare.io-gpu-slot-003.json");
  EXPECT_EQ(spec["kind"], "mpshare.io/gpu");
  EXPECT_EQ(spec["devices"][0]["name"], "slot-003");
  const std::string text = spec.dump();
  EXPECT_NE(text.find("/dev/nvidia1"), std::string::npos);
  EXPECT_EQ(text.find("\"/dev/nvidia0\""), std::string::npos);  // only the chosen GPU's device node
  EXPECT_EQ(specUuid(options_.cdi_dir, 3), kGpus[1].uuid);
  EXPECT_NE(text.find("/run/mpshare/mps/" + kGpus[1].uuid + "/pipe"), std::string::npos);
  EXPECT_EQ(binder->boundSlots(), (std::map<int, int>{{3, 1}}));
  EXPECT_TRUE(pods_.annotations().empty());  // nothing written to the API server

  // A container restart runs PreStart again: the same file, the same answer.
  ASSERT_TRUE(binder->preStart({"slot-003"}).ok());
  EXPECT_EQ(readJson(options_.cdi_dir + "/mpshare.io-gpu-slot-003.json"), spec);
}

TEST_F(LateBinderTest, RefusalsNameThePodAndWhatIsWrong) {
  pods_.put(gpuPod("bad-index", {{"mpshare.io/gpu-index", "5"}}));
  pods_.put(gpuPod("bad-text", {{"mpshare.io/gpu-index", "one"}}));
  hold("bad-index", {"slot-000"});
  hold("bad-text", {"slot-001"});
  hold("gone", {"slot-002"});
  hold("infer", {"slot-004"}, "nvidia.com/gpu");  // another resource's devices
  auto binder = makeBinder();
  struct Case {
    std::string slot;
    core::ErrorCode code;
    std::string message;
  };
  const std::vector<Case> cases{
      {"slot-000", core::ErrorCode::kInvalidArgument,
       "ml/bad-index: mpshare.io/gpu-index \"5\" names GPU 5, which node gpu-a does not have (GPUs "
       "0, 1)"},
      {"slot-001", core::ErrorCode::kInvalidArgument,
       "ml/bad-text: mpshare.io/gpu-index: \"one\" is not a list of distinct GPU ordinals 0-63 "
       "such as "
       "\"0\" or \"0,1\""},
      {"slot-002", core::ErrorCode::kNotFound, "ml/gone: pod not found"},
      {"slot-004", core::ErrorCode::kNotFound, "no container holds slot-004"},
      {"slot-099", core::ErrorCode::kInvalidArgument,
       "device ID: \"slot-099\" is not an mpshare slot of this node (slot-000...slot-007)"},
  };
  for (const auto& c : cases) {
    auto status = binder->preStart({c.slot});
    ASSERT_FALSE(status.ok()) << c.slot;
    EXPECT_EQ(status.error().code, c.code) << c.slot << ": " << status.error().describe();
    EXPECT_NE(status.error().describe().find(c.message), std::string::npos)
        << status.error().describe();
  }
  EXPECT_TRUE(slotSpecsIn(options_.cdi_dir)->empty());

  {
    std::lock_guard lock(mutex_);
    list_error_ = "/var/lib/kubelet/pod-resources/kubelet.sock: List failed (UNAVAILABLE)";
  }
  auto unlisted = binder->preStart({"slot-000"});
  ASSERT_FALSE(unlisted.ok());
  EXPECT_EQ(unlisted.error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(unlisted.error().message.find("List failed"), std::string::npos);
}

TEST_F(LateBinderTest, APodWithoutAnnotationGetsAGpuWithRoomAndTheAnnotation) {
  // GPU0 holds 70 % threads, GPU1 30 %: binpack puts a 30 % pod on GPU0 (fullest that fits).
  pods_.put(gpuPod("big", {{"mpshare.io/gpu-index", "0"},
                           {"mpshare.io/thread-percentage", "70"},
                           {"mpshare.io/memory-limit", "40Gi"}}));
  pods_.put(gpuPod("small", {{"mpshare.io/gpu-index", "1"},
                             {"mpshare.io/thread-percentage", "30"},
                             {"mpshare.io/memory-limit", "8Gi"}}));
  pods_.put(gpuPod("other-scheduler",
                   {{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "8Gi"}}));
  pods_.put(gpuPod("too-big",
                   {{"mpshare.io/thread-percentage", "80"}, {"mpshare.io/memory-limit", "8Gi"}}));
  hold("other-scheduler", {"slot-005"});
  hold("too-big", {"slot-006"});
  auto binder = makeBinder();

  ASSERT_TRUE(binder->preStart({"slot-005"}).ok());
  EXPECT_EQ(pods_.annotations(), std::vector<std::string>{"ml/other-scheduler=0"});
  EXPECT_EQ(specUuid(options_.cdi_dir, 5), kGpus[0].uuid);

  auto refused = binder->preStart({"slot-006"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kUnavailable);
  EXPECT_EQ(refused.error().describe(),
            "ml/too-big: placed without mpshare.io/gpu-index and fits on no GPU: gpu-a: no GPU "
            "fits 80% threads / "
            "8192 MiB (best: GPU1 has 70% / 73367 MiB free)");
  EXPECT_FALSE(std::filesystem::exists(options_.cdi_dir + "/" + core::cdiSpecFileName(6)));
}

TEST_F(LateBinderTest, SixteenContainersStartingAtOnceEachGetTheirOwnPodsGpu) {
  for (int i = 0; i < 16; ++i) {
    const std::string name = "p" + std::to_string(i);
    pods_.put(gpuPod(name, {{"mpshare.io/gpu-index", std::to_string(i % 2)}}));
    hold(name, {core::slotId(15 - i)});  // the kubelet hands slots out in any order
  }
  options_.clients_per_gpu = 8;
  auto binder = makeBinder();
  std::atomic<int> failures{0};
  std::vector<std::thread> starts;
  for (int i = 0; i < 16; ++i) {
    starts.emplace_back([&, i] {
      if (!binder->preStart({core::slotId(15 - i)}).ok()) ++failures;
    });
  }
  for (auto& start : starts) start.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(specUuid(options_.cdi_dir, 15 - i), kGpus[i % 2].uuid) << "pod p" << i;
  }
}

TEST_F(LateBinderTest, ConcurrentPodsWithoutAnnotationNeverOvercommitAGpu) {
  // Each asks 40 %: two fit per GPU, so 4 of 6 are placed and 2 refused.
  for (int i = 0; i < 6; ++i) {
    const std::string name = "q" + std::to_string(i);
    pods_.put(
        gpuPod(name, {{"mpshare.io/thread-percentage", "40"}, {"mpshare.io/memory-limit", "1Gi"}}));
    hold(name, {core::slotId(i)});
  }
  auto binder = makeBinder();
  std::atomic<int> placed{0};
  std::vector<std::thread> starts;
  for (int i = 0; i < 6; ++i) {
    starts.emplace_back([&, i] {
      if (binder->preStart({core::slotId(i)}).ok()) ++placed;
    });
  }
  for (auto& start : starts) start.join();
  EXPECT_EQ(placed.load(), 4);
  std::map<std::string, int> per_gpu;
  for (const auto& entry : pods_.annotations()) per_gpu[entry.substr(entry.find('=') + 1)]++;
  EXPECT_EQ(per_gpu, (std::map<std::string, int>{{"0", 2}, {"1", 2}}));
}

TEST_F(LateBinderTest, ReconcileRemovesSpecsOfSlotsNobodyHoldsAndRelearnsAfterARestart) {
  pods_.put(gpuPod("a", {{"mpshare.io/gpu-index", "0"}}));
  pods_.put(gpuPod("b", {{"mpshare.io/gpu-index", "1"}}));
  hold("a", {"slot-001"});
  hold("b", {"slot-002"});
  {
    auto binder = makeBinder();
    ASSERT_TRUE(binder->preStart({"slot-001"}).ok());
    ASSERT_TRUE(binder->preStart({"slot-002"}).ok());
  }
  std::ofstream(options_.cdi_dir + "/nvidia.yaml") << "kind: nvidia.com/gpu\n";
  {
    std::lock_guard lock(mutex_);
    held_.erase(held_.begin());  // pod a ended
  }
  // A new agent process: nothing in memory, everything from PodResources and annotations.
  auto binder = makeBinder();
  EXPECT_TRUE(binder->boundSlots().empty());
  auto report = binder->reconcile();
  ASSERT_TRUE(report.ok()) << report.error().describe();
  EXPECT_EQ(report->removed, 1);
  EXPECT_EQ(report->held, 1);
  EXPECT_EQ(*slotSpecsIn(options_.cdi_dir), std::vector<int>{2});
  EXPECT_TRUE(std::filesystem::exists(options_.cdi_dir + "/nvidia.yaml"));
  EXPECT_EQ(binder->boundSlots(), (std::map<int, int>{{2, 1}}));

  // PodResources down: nothing is removed on a guess.
  {
    std::lock_guard lock(mutex_);
    held_.clear();
    list_error_ = "/var/lib/kubelet/pod-resources/kubelet.sock: List failed (UNAVAILABLE)";
  }
  EXPECT_FALSE(binder->reconcile().ok());
  EXPECT_EQ(*slotSpecsIn(options_.cdi_dir), std::vector<int>{2});
}

TEST_F(LateBinderTest, ADownDaemonMakesItsGpusSlotsUnhealthy) {
  pods_.put(gpuPod("a", {{"mpshare.io/gpu-index", "1"}}));
  hold("a", {"slot-000"});
  auto binder = makeBinder();
  ASSERT_TRUE(binder->preStart({"slot-000"}).ok());
  const auto healthy_count = [&] {
    int n = 0;
    for (const auto& slot : binder->slots()) n += slot.healthy ? 1 : 0;
    return n;
  };
  EXPECT_EQ(healthy_count(), 8);
  {
    std::lock_guard lock(mutex_);
    down_.insert(1);
  }
  const auto slots = binder->slots();
  EXPECT_FALSE(slots[0].healthy);  // bound to GPU1
  EXPECT_EQ(healthy_count(), 4);
  down_.clear();
  EXPECT_EQ(healthy_count(), 8);
}

}  // namespace
}  // namespace mpshare::node
