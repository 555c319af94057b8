// Per-pod GPU usage: cgroup paths -> containers (fixture /proc trees for cgroup
// v1 and v2, systemd and cgroupfs drivers, containerd and CRI-O), the GPU
// processes file, container limits, the report and its double caps, the table.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "node/cgroup_path.h"
#include "node/gpu_processes_file.h"
#include "node/pod_containers.h"
#include "node/proc_reader.h"
#include "node/usage_format.h"
#include "node/usage_report.h"

namespace mpshare::node {
namespace {

using nlohmann::json;
constexpr uint64_t kMiB = 1024ULL * 1024ULL;
const std::string kFixtures = std::string(MPSHARE_SOURCE_DIR) + "/tests/fixtures/proc";
const std::string kUid = "1b2c3d4e-5f60-4182-93a4-b5c6d7e8f901";
const std::string kId(64, 'a');

TEST(CgroupPath, EveryFixtureTreeMapsEachPidToItsExpectedOwner) {
  int cases = 0;
  for (const auto& dir : std::filesystem::directory_iterator(kFixtures)) {
    SCOPED_TRACE(dir.path().filename().string());
    std::ifstream in(dir.path() / "expected.json");
    const json expected = json::parse(in);
    std::vector<uint32_t> pids;
    for (const auto& [pid, owner] : expected.items()) pids.push_back(std::stoul(pid));
    const auto owners = readProcessOwners(dir.path().string(), pids);
    for (const auto& [pid, want] : expected.items()) {
      SCOPED_TRACE("pid " + pid);
      const ProcessOwner& got = owners.at(std::stoul(pid));
      EXPECT_EQ(got.mps_server, want["mpsServer"].get<bool>());
      if (want["podUid"].is_null()) {
        EXPECT_FALSE(got.container.has_value());
      } else {
        ASSERT_TRUE(got.container.has_value());
        EXPECT_EQ(got.container->pod_uid, want["podUid"].get<std::string>());
        EXPECT_EQ(got.container->container_id, want["containerId"].get<std::string>());
      }
    }
    ++cases;
  }
  EXPECT_GE(cases, 6);  // v1/v2 x systemd/cgroupfs x containerd/CRI-O, and a nested node
}

TEST(CgroupPath, RefusesPathsThatOnlyLookLikeContainers) {
  const std::string u = "1b2c3d4e_5f60_4182_93a4_b5c6d7e8f901";
  const struct {
    std::string path;
    bool container;
  } cases[] = {
      {"/kubepods/burstable/pod" + kUid + "/" + kId, true},
      {"/kubepods/burstable/pod" + kUid + "/" + kId.substr(0, 63), false},     // not 64 digits
      {"/kubepods/burstable/pod" + kUid + "/" + std::string(64, 'g'), false},  // not hex
      {"/kubepods/burstable/pod" + kUid.substr(1) + "/" + kId, false},         // short uid
      {"/kubepods/burstable/pod" + kUid, false},                               // the pod itself
      {"/kubepods.slice/kubepods-pod" + u + ".slice/docker-" + kId + ".scope", true},
      {"/kubepods.slice/kubepods-pod" + u + ".slice/crio-conmon-" + kId + ".scope", false},
      {"/system.slice/containerd.service", false},
      {"", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    const auto found = containerOfCgroupPath(c.path);
    EXPECT_EQ(found.has_value(), c.container);
    if (found) {
      EXPECT_EQ(*found, (CgroupContainer{kUid, kId}));
    }
  }
}

TEST(CgroupPath, PrefersTheUnifiedLineOverV1Hierarchies) {
  const std::string other(64, 'b');
  const std::string text = "4:memory:/kubepods/pod" + kUid + "/" + other + "\n0::/kubepods/pod" +
                           kUid + "/" + kId + "\n";
  EXPECT_EQ(containerOfCgroupFile(text)->container_id, kId);
}

TEST(CgroupPath, StripsTheRuntimeSchemeOfAStatusContainerId) {
  EXPECT_EQ(runtimeContainerId("containerd://" + kId), kId);
  EXPECT_EQ(runtimeContainerId("cri-o://" + kId), kId);
  EXPECT_EQ(runtimeContainerId(kId), kId);
}

const std::vector<core::GpuDevice> kGpus{
    {0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "NVIDIA-H200", 143771, false},
    {1, "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f", "NVIDIA-H200", 143771, false},
};

TEST(GpuProcessesFile, ReadsProcessesMemoryAndUtilization) {
  auto samples = parseGpuProcesses(R"(
gpus:
- index: 1
  processes:
  - {pid: 20, memoryMiB: 1536, smPercent: 12}
  - {pid: 10, mpsClient: false}
)",
                                   "procs.yaml", kGpus);
  ASSERT_TRUE(samples) << samples.error().describe();
  ASSERT_EQ(samples->size(), 2u);
  EXPECT_TRUE((*samples)[0].processes.empty());
  const auto& gpu1 = (*samples)[1];
  EXPECT_EQ(gpu1.gpu.uuid, kGpus[1].uuid);
  EXPECT_EQ(gpu1.memory_total_bytes, 143771 * kMiB);
  EXPECT_EQ(gpu1.memory_used_bytes, 1536 * kMiB);  // the processes' sum when not given
  ASSERT_EQ(gpu1.processes.size(), 2u);
  EXPECT_EQ(gpu1.processes[0], (GpuProcess{10, std::nullopt, std::nullopt, false}));
  EXPECT_EQ(gpu1.processes[1], (GpuProcess{20, 1536 * kMiB, 12.0, true}));
}

TEST(GpuProcessesFile, ErrorsNameThePathAndWhatIsAllowed) {
  const struct {
    const char* text;
    const char* error;
  } cases[] = {
      {"gpus: [{index: 7}]", "procs.yaml: gpus[0].index: 7 is not a GPU of this node (0, 1)"},
      {"gpus: [{index: 0, processes: [{pid: x}]}]",
       "procs.yaml: gpus[0].processes[0].pid: must be a whole number >= 1, got \"x\""},
      {"gpus: [{index: 0, processes: [{pid: 1, smPercent: 101}]}]",
       "procs.yaml: gpus[0].processes[0].smPercent: must be a whole number 0-100, got 101"},
      {"gpus: [{index: 0, processes: [{pid: 1}, {pid: 1}]}]",
       "procs.yaml: gpus[0].processes[1].pid: 1 is listed twice"},
      {"gpus: [{index: 0, procs: []}]",
       "procs.yaml: gpus[0].procs: unknown key; allowed: index, memoryUsedMiB, processes"},
      {"gpus: [{index: 0}, {index: 0}]", "procs.yaml: gpus[1].index: 0 is listed twice"},
  };
  for (const auto& c : cases) {
    auto samples = parseGpuProcesses(c.text, "procs.yaml", kGpus);
    ASSERT_FALSE(samples) << c.text;
    EXPECT_EQ(samples.error().describe(), c.error);
  }
}

TEST(PodContainers, PinnedLimitOfDeviceZero) {
  EXPECT_EQ(pinnedLimitMiB("0=4096M"), 4096);
  EXPECT_EQ(pinnedLimitMiB("0=2G,1=1G"), 2048);
  EXPECT_EQ(pinnedLimitMiB("1=1G,0=512M"), 512);
  EXPECT_EQ(pinnedLimitMiB("1=1G"), std::nullopt);
  EXPECT_EQ(pinnedLimitMiB("0=1.5G"), std::nullopt);  // MPS ignores decimals too
  EXPECT_EQ(pinnedLimitMiB("0=4096"), std::nullopt);
}

json podJson(const std::string& name, const std::string& uid, const std::string& container_id,
             const std::string& gpu_index, const std::string& threads, const std::string& memory) {
  json env = json::array();
  if (!threads.empty())
    env.push_back({{"name", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"}, {"value", threads}});
  if (!memory.empty())
    env.push_back({{"name", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"}, {"value", memory}});
  return {{"metadata",
           {{"name", name},
            {"namespace", "ml"},
            {"uid", uid},
            {"annotations", {{"mpshare.io/gpu-index", gpu_index}}}}},
          {"spec",
           {{"nodeName", "gpu-a"},
            {"containers", {{{"name", "main"}, {"env", env}}, {{"name", "sidecar"}}}}}},
          {"status",
           {{"phase", "Running"},
            {"containerStatuses",
             {{{"name", "main"}, {"containerID", "containerd://" + container_id}},
              {{"name", "sidecar"}}}}}}};
}

const std::string kUidA = "aaaaaaaa-0000-4000-8000-000000000001";
const std::string kUidB = "bbbbbbbb-0000-4000-8000-000000000002";
const std::string kIdA(64, 'a');
const std::string kIdB(64, 'b');

std::vector<NodePod> twoPods() {
  const json list = {{"items",
                      {podJson("train-a", kUidA, kIdA, "0", "30", "0=2048M"),
                       podJson("train-b", kUidB, kIdB, "0", "50", "0=2G")}}};
  auto pods = nodePodsFromJson(list, "pods.json");
  EXPECT_TRUE(pods) << pods.error().describe();
  return *pods;
}

TEST(PodContainers, ReadsContainerIdsAndLimitsFromAPodList) {
  const auto pods = twoPods();
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[0].container_by_id, (std::map<std::string, std::string>{{kIdA, "main"}}));
  EXPECT_EQ(limitsOf(pods[0].pod, "main"), (ContainerLimits{30, 2048}));
  EXPECT_EQ(limitsOf(pods[1].pod, "main"), (ContainerLimits{50, 2048}));
  auto bad = nodePodsFromJson(json{{"items", {{{"metadata", 3}}}}}, "pods.json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().describe().find("pods.json: items[0]: "), std::string::npos);
}

TEST(PodContainers, AnnotationsStandInForMissingEnv) {
  core::PodView pod;
  pod.annotations = {{"mpshare.io/thread-percentage", "25"}, {"mpshare.io/memory-limit", "1Gi"}};
  pod.containers.push_back({});
  pod.containers[0].name = "main";
  EXPECT_EQ(limitsOf(pod, "main"), (ContainerLimits{25, 1024}));
}

// GPU 0: train-a with one client (1.5 GiB), train-b with two (1.5 GiB each, a
// 2 GiB cap), the MPS server, and a host process.
UsageReport sampleReport() {
  GpuSample gpu0;
  gpu0.gpu = kGpus[0];
  gpu0.memory_total_bytes = 143771 * kMiB;
  gpu0.memory_used_bytes = 6000 * kMiB;
  gpu0.processes = {{100, 1536 * kMiB, 20.0, true},
                    {200, 1536 * kMiB, 10.0, true},
                    {201, 1536 * kMiB, 15.0, true},
                    {300, 32 * kMiB, std::nullopt, false},
                    {400, 512 * kMiB, std::nullopt, false}};
  GpuSample gpu1;
  gpu1.gpu = kGpus[1];
  gpu1.memory_total_bytes = 143771 * kMiB;
  std::map<uint32_t, ProcessOwner> owners{
      {100, {CgroupContainer{kUidA, kIdA}, false}},
      {200, {CgroupContainer{kUidB, kIdB}, false}},
      {201, {CgroupContainer{kUidB, kIdB}, false}},
      {300, {std::nullopt, true}},
      {400, {std::nullopt, false}},
  };
  return buildUsageReport({gpu0, gpu1}, owners, twoPods());
}

TEST(UsageReport, AttributesEachProcessToItsContainer) {
  const auto report = sampleReport();
  ASSERT_EQ(report.containers.size(), 2u);
  const auto& a = report.containers[0];
  EXPECT_EQ(a.pod, "train-a");
  EXPECT_EQ(a.container, "main");
  EXPECT_EQ(a.memory_used_bytes, 1536 * kMiB);
  EXPECT_EQ(a.memory_limit_bytes, 2048 * kMiB);
  EXPECT_EQ(a.thread_percentage, 30);
  EXPECT_DOUBLE_EQ(*a.sm_ratio, 0.20);
  EXPECT_EQ(a.mps_clients, 1);
  const auto& b = report.containers[1];
  EXPECT_EQ(b.memory_used_bytes, 3072 * kMiB);  // over its 2048 MiB cap: two clients
  EXPECT_DOUBLE_EQ(*b.sm_ratio, 0.25);
  EXPECT_EQ(b.mps_clients, 2);
  EXPECT_EQ(b.pids, (std::vector<uint32_t>{200, 201}));

  const auto& gpu0 = report.gpus[0];
  EXPECT_EQ(gpu0.mps_clients, 3);
  EXPECT_EQ(gpu0.slices_reserved, 2);
  EXPECT_DOUBLE_EQ(gpu0.threads_reserved_ratio, 0.8);
  EXPECT_EQ(gpu0.unattributed_processes, 1);  // the host process; the MPS server is not counted
  EXPECT_EQ(gpu0.unattributed_memory_bytes, 512 * kMiB);
  EXPECT_EQ(report.gpus[1].slices_reserved, 0);
}

TEST(UsageReport, ReportsAPodWithTwoClientsWithItsRealCeiling) {
  const auto report = sampleReport();
  ASSERT_EQ(report.double_capped.size(), 1u);
  const auto& cap = report.double_capped[0];
  EXPECT_EQ(cap.pod, "train-b");
  EXPECT_EQ(cap.clients, 2);
  EXPECT_EQ(cap.describe(),
            "pod ml/train-b has 2 MPS client processes (pids 200, 201) on GPU 0: MPS applies its "
            "caps to each process, not to the pod, so it may hold up to 4096 MiB (2 x 2048 MiB) "
            "and 100% of the SMs (2 x 50%) instead of the 2048 MiB and 50% it was given");
}

TEST(UsageReport, AProcessOfAnUnknownPodIsUnattributed) {
  GpuSample gpu0;
  gpu0.gpu = kGpus[0];
  gpu0.processes = {{100, 64 * kMiB, std::nullopt, true}};
  const std::string stranger = "cccccccc-0000-4000-8000-000000000003";
  const auto report =
      buildUsageReport({gpu0}, {{100, {CgroupContainer{stranger, kIdA}, false}}}, twoPods());
  EXPECT_TRUE(report.containers.empty());
  EXPECT_EQ(report.gpus[0].unattributed_processes, 1);
}

TEST(UsageFormat, TextTableMarksTheDoubleCappedPod) {
  auto text = formatUsage(sampleReport(), "text");
  ASSERT_TRUE(text);
  EXPECT_EQ(*text,
            "POD         CONTAINER  GPU  THREADS  MEMORY USED / LIMIT  SM   CLIENTS\n"
            "ml/train-a  main       0    30%      1536 / 2048 MiB      20%  1\n"
            "ml/train-b  main       0    50%      3072 / 2048 MiB  !   25%  2 !\n"
            "\n"
            "GPU 0 GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f: 6000 / 143771 MiB used, 3 MPS "
            "clients, 2 slices reserved (80% of the threads), 1 processes outside pods (512 MiB)\n"
            "GPU 1 GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f: 0 / 143771 MiB used, 0 MPS clients, "
            "0 slices reserved (0% of the threads), 0 processes outside pods\n"
            "\n! " +
                sampleReport().double_capped[0].describe() + "\n");
}

TEST(UsageFormat, JsonHasNullForWhatIsNotReported) {
  auto text = formatUsage(sampleReport(), "json");
  ASSERT_TRUE(text);
  const json usage = json::parse(*text);
  EXPECT_EQ(usage["containers"][1]["memoryUsedBytes"], 3072 * kMiB);
  EXPECT_EQ(usage["containers"][1]["pids"], json({200, 201}));
  EXPECT_EQ(usage["doubleCapped"][0]["memoryCapMiB"], 2048);
  EXPECT_EQ(usage["gpus"][0]["unattributedProcesses"], 1);
  EXPECT_FALSE(formatUsage(sampleReport(), "yaml"));
}

}  // namespace
}  // namespace mpshare::node
