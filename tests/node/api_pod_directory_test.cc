// ApiPodDirectory against the in-process test API server: only this node's live
// pods, kept current by the watch, one GET for a pod the watch has not
// delivered, and the gpu-index annotation written with the uid precondition.
// Then late binding end to end for a pod placed by another scheduler.

#include "node/api_pod_directory.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/slots.h"
#include "node/late_binder.h"
#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/node/temp_dir.h"
#include "tests/support/eventually.h"
#include "tests/support/require_ok.h"

namespace mpshare::node {
namespace {

using kubetest::Kind;
using kubetest::makePod;
using nlohmann::json;
using testing_support::eventually;

constexpr auto kWait = std::chrono::seconds(5);

class ApiPodDirectoryTest : public ::testing::Test {
 protected:
  ApiPodDirectoryTest() {
    client_ = testing_support::requireOk(platform::KubeClient::create(server_.clientConfig()),
                                         "KubeClient::create");
  }
  std::string uidOf(const std::string& key) {
    return (*server_.store().get(Kind::kPods, key))["metadata"]["uid"];
  }

  kubetest::TestApiServer server_;
  std::unique_ptr<platform::KubeClient> client_;
};

TEST_F(ApiPodDirectoryTest, HoldsTheLivePodsOfThisNodeOnly) {
  server_.store().create(Kind::kPods,
                         makePod({.name = "here", .node = "gpu-a", .phase = "Running"}));
  server_.store().create(Kind::kPods,
                         makePod({.name = "elsewhere", .node = "gpu-b", .phase = "Running"}));
  server_.store().create(Kind::kPods,
                         makePod({.name = "done", .node = "gpu-a", .phase = "Succeeded"}));
  ApiPodDirectory pods(*client_, "gpu-a");
  pods.start();
  ASSERT_TRUE(eventually([&] { return pods.synced(); }, kWait));
  EXPECT_EQ(pods.size(), 1u);

  server_.store().create(Kind::kPods, makePod({.name = "later", .node = "gpu-a"}));
  ASSERT_TRUE(eventually([&] { return pods.size() == 2; }, kWait));
  server_.store().remove(Kind::kPods, "ml/here");
  ASSERT_TRUE(eventually([&] { return pods.size() == 1; }, kWait));
  auto later = pods.pod("ml", "later");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->node_name, "gpu-a");
  pods.stop();
}

TEST_F(ApiPodDirectoryTest, APodTheWatchHasNotDeliveredIsReadOnce) {
  ApiPodDirectory pods(*client_, "gpu-a");  // not started: nothing cached
  server_.store().create(Kind::kPods, makePod({.name = "fresh", .node = "gpu-a"}));
  const int before = server_.requests();
  auto fresh = pods.pod("ml", "fresh");
  ASSERT_TRUE(fresh.ok()) << fresh.error().describe();
  EXPECT_EQ(server_.requests(), before + 1);
  ASSERT_TRUE(pods.pod("ml", "fresh").ok());
  EXPECT_EQ(server_.requests(), before + 1);  // now from the cache
  auto gone = pods.pod("ml", "never");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, core::ErrorCode::kNotFound);
}

TEST_F(ApiPodDirectoryTest, AnnotationCarriesTheUidAndIsSeenAtOnce) {
  server_.store().create(Kind::kPods, makePod({.name = "p", .node = "gpu-a"}));
  ApiPodDirectory pods(*client_, "gpu-a");
  auto pod = pods.pod("ml", "p");
  ASSERT_TRUE(pod.ok());
  ASSERT_TRUE(pods.annotateGpuIndex(*pod, "1").ok());
  EXPECT_EQ((*server_.store().get(Kind::kPods,
                                  "ml/p"))["metadata"]["annotations"]["mpshare.io/gpu-index"],
            "1");
  EXPECT_EQ(server_.store().patches().back()["metadata"]["uid"], uidOf("ml/p"));
  EXPECT_EQ(pods.pod("ml", "p")->annotations.at("mpshare.io/gpu-index"), "1");

  // The pod was deleted and re-created under the same name: never patched.
  core::PodView stale = *pod;
  stale.uid = "uid-of-the-old-pod";
  auto refused = pods.annotateGpuIndex(stale, "0");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kConflict);
}

TEST_F(ApiPodDirectoryTest, APodPlacedByAnotherSchedulerGetsItsGpuAnnotatedForTheExtender) {
  const std::map<std::string, std::string> placed{{"mpshare.io/gpu-index", "0"},
                                                  {"mpshare.io/thread-percentage", "80"},
                                                  {"mpshare.io/memory-limit", "8Gi"}};
  server_.store().create(
      Kind::kPods,
      makePod({.name = "placed", .node = "gpu-a", .phase = "Running", .annotations = placed}));
  server_.store().create(Kind::kPods,
                         makePod({.name = "foreign",
                                  .node = "gpu-a",
                                  .annotations = {{"mpshare.io/thread-percentage", "50"},
                                                  {"mpshare.io/memory-limit", "4Gi"}}}));
  ApiPodDirectory pods(*client_, "gpu-a");
  pods.start();
  ASSERT_TRUE(eventually([&] { return pods.size() == 2; }, kWait));

  testing_support::TempDir dir;
  auto spec =
      loadNvidiaCdiSpec(std::string(MPSHARE_SOURCE_DIR) + "/tests/fixtures/cdi/nvidia/2gpu.yaml");
  ASSERT_TRUE(spec.ok());
  const std::vector<core::GpuDevice> gpus{
      {0, "GPU-8f1d3c2a-5b7e-4c9d-a0e1-2f3b4c5d6e7f", "NVIDIA-H100-80GB-HBM3", 81559, false},
      {1, "GPU-1b6e7f90-3c2d-4a5b-8e9f-0a1b2c3d4e5f", "NVIDIA-H100-80GB-HBM3", 81559, false}};
  BinderOptions options;
  options.node_name = "gpu-a";
  options.resource_name = "nvidia.com/gpu";
  options.clients_per_gpu = 4;
  options.cdi_dir = dir.file("cdi");
  std::filesystem::create_directories(options.cdi_dir);
  LateBinder binder(
      options, gpus, *spec,
      []() -> core::Result<std::vector<ContainerDevices>> {
        return std::vector<ContainerDevices>{
            {"ml", "foreign", "main", "nvidia.com/gpu", {"slot-002"}}};
      },
      pods,
      {[](const core::GpuDevice& gpu) { return "/run/mpshare/mps/" + gpu.uuid + "/pipe"; },
       [](const core::GpuDevice&) { return true; }});
  auto status = binder.preStart({"slot-002"});
  ASSERT_TRUE(status.ok()) << status.error().describe();
  // GPU0 has 20 % threads left: the 50 % pod goes to GPU1, and the extender will read it there.
  const json foreign = *server_.store().get(Kind::kPods, "ml/foreign");
  EXPECT_EQ(foreign["metadata"]["annotations"]["mpshare.io/gpu-index"], "1");
  EXPECT_EQ(binder.boundSlots(), (std::map<int, int>{{2, 1}}));
  pods.stop();
}

}  // namespace
}  // namespace mpshare::node
