#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "extender/simulate/kube_lists.h"
#include "extender/simulate/trace.h"

namespace mpshare::extender {
namespace {

using testing::HasSubstr;

constexpr const char* kNodeHeader = "sn,cpu_milli,memory_mib,gpu,model\n";
constexpr const char* kPodHeader =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time\n";

TEST(NodeCsv, ReadsTraceRows) {
  std::istringstream in(std::string(kNodeHeader) +
                        "openb-node-0000,64000,262144,2,P100\r\n"
                        "\n"
                        "openb-node-1000,96000,786432,8,G2\n"
                        "cpu-node,32000,131072,0,\n");
  auto nodes = parseNodeCsv(in, "nodes.csv");
  ASSERT_TRUE(nodes.ok()) << nodes.error().describe();
  ASSERT_EQ(nodes->size(), 3u);
  EXPECT_EQ((*nodes)[0].name, "openb-node-0000");
  EXPECT_EQ((*nodes)[0].gpus, 2);
  EXPECT_EQ((*nodes)[0].gpu_memory_mib, 16384);
  EXPECT_EQ((*nodes)[0].cpu_milli, 64000);
  EXPECT_EQ((*nodes)[0].model, "P100");  // no stray \r
  EXPECT_EQ((*nodes)[1].gpu_memory_mib, 32768);
  EXPECT_EQ((*nodes)[2].gpus, 0);
}

TEST(PodCsv, ReadsTraceRows) {
  std::istringstream in(std::string(kPodHeader) +
                        "p0,12000,16384,1,1000,,LS,Running,0,1,0\n"
                        "p1,6000,12288,1,460,,LS,Running,0,1,0\n"
                        "p2,88000,327680,8,1000,,LS,Running,0,1,0\n"
                        "p3,4000,8192,0,0,,BE,Running,0,1,0\n"
                        "p4,4000,8192,1,300,V100M16|V100M32,LS,Running,0,1,0\n");
  auto pods = parsePodCsv(in, "pods.csv");
  ASSERT_TRUE(pods.ok()) << pods.error().describe();
  ASSERT_EQ(pods->size(), 5u);
  EXPECT_FALSE((*pods)[0].sharesGpu());
  EXPECT_TRUE((*pods)[1].sharesGpu());
  EXPECT_DOUBLE_EQ((*pods)[1].gpuShare(), 0.46);
  EXPECT_DOUBLE_EQ((*pods)[2].gpuShare(), 8.0);
  EXPECT_DOUBLE_EQ((*pods)[3].gpuShare(), 0.0);
  EXPECT_THAT((*pods)[4].models, testing::ElementsAre("V100M16", "V100M32"));
}

// The first rows of openb_pod_list_multigpu30.csv, verbatim: the multigpuNN lists
// carry only these five columns.
TEST(PodCsv, MissingOptionalColumnsTakeThePaperDefaults) {
  std::istringstream multigpu(
      "name,cpu_milli,memory_mib,num_gpu,gpu_milli\n"
      "openb-pod-0000,12000,16384,1,1000\n"
      "openb-pod-0001,6000,12288,1,460\n"
      "openb-pod-0005,20000,65536,0,0\n"
      "openb-pod-0017,88000,327680,8,1000\n");
  auto pods = parsePodCsv(multigpu, "openb_pod_list_multigpu30.csv");
  ASSERT_TRUE(pods.ok()) << pods.error().describe();
  ASSERT_EQ(pods->size(), 4u);
  EXPECT_TRUE((*pods)[1].sharesGpu());
  EXPECT_DOUBLE_EQ((*pods)[1].gpuShare(), 0.46);
  EXPECT_EQ((*pods)[1].memory_mib, 12288);
  EXPECT_TRUE((*pods)[1].models.empty());  // no gpu_spec: any model
  EXPECT_DOUBLE_EQ((*pods)[2].gpuShare(), 0.0);
  EXPECT_DOUBLE_EQ((*pods)[3].gpuShare(), 8.0);

  // No gpu_milli: whole GPUs; no memory_mib: no host memory asked.
  std::istringstream bare("num_gpu,cpu_milli,name\n2,8000,p0\n0,1000,p1\n");
  pods = parsePodCsv(bare, "bare.csv");
  ASSERT_TRUE(pods.ok()) << pods.error().describe();
  ASSERT_EQ(pods->size(), 2u);
  EXPECT_DOUBLE_EQ((*pods)[0].gpuShare(), 2.0);
  EXPECT_EQ((*pods)[0].memory_mib, 0);
  EXPECT_EQ((*pods)[1].gpus, 0);
}

TEST(TraceCsv, BadRowsNameFileLineAndColumn) {
  const struct {
    const char* name;
    bool nodes;
    std::string text;
    std::string want;
  } cases[] = {
      {"node gpu not a number", true, std::string(kNodeHeader) + "a,1,1,2,T4\nb,1,1,two,T4\n",
       "nodes.csv:3: column gpu: \"two\" is not a whole number in 0..64"},
      {"unknown model", true, std::string(kNodeHeader) + "a,1,1,2,H900\n",
       "nodes.csv:2: column model: \"H900\" has no known memory size"},
      {"missing header column", true, "sn,cpu_milli,gpu,model\n",
       "nodes.csv:1: header has no column \"memory_mib\""},
      {"empty file", true, "", "nodes.csv: is empty"},
      {"pod list without num_gpu", false, "name,cpu_milli,memory_mib,gpu_milli\np,1,1,1000\n",
       "pods.csv:1: header has no column \"num_gpu\""},
      {"pod list without cpu_milli", false, "name,num_gpu\np,1\n",
       "pods.csv:1: header has no column \"cpu_milli\""},
      {"short row", true, std::string(kNodeHeader) + "a,1,1\n", "nodes.csv:2: column gpu: missing"},
      {"negative cpu", false, std::string(kPodHeader) + "p,-5,1,0,0,,LS,R,0,0,0\n",
       "pods.csv:2: column cpu_milli: \"-5\" is not a whole number"},
      {"share above one GPU", false, std::string(kPodHeader) + "p,1,1,1,1500,,LS,R,0,0,0\n",
       "pods.csv:2: column gpu_milli: \"1500\" is not a whole number in 0..1000"},
      {"shared multi-GPU", false, std::string(kPodHeader) + "p,1,1,2,500,,LS,R,0,0,0\n",
       "pods.csv:2: column gpu_milli: 500 with num_gpu 2"},
      {"GPU pod with zero share", false, std::string(kPodHeader) + "p,1,1,1,0,,LS,R,0,0,0\n",
       "pods.csv:2: column gpu_milli: 0 for a pod with num_gpu 1"},
  };
  for (const auto& c : cases) {
    std::istringstream in(c.text);
    const std::string error = c.nodes ? parseNodeCsv(in, "nodes.csv").error().describe()
                                      : parsePodCsv(in, "pods.csv").error().describe();
    EXPECT_THAT(error, HasSubstr(c.want)) << c.name;
  }
}

TEST(GpuMemoryOfModel, DocumentedSizes) {
  EXPECT_EQ(*gpuMemoryOfModel("T4"), 16384);
  EXPECT_EQ(*gpuMemoryOfModel("V100M32"), 32768);
  EXPECT_EQ(*gpuMemoryOfModel("A10"), 24576);
  EXPECT_EQ(*gpuMemoryOfModel("G2"), 32768);
  EXPECT_THAT(gpuMemoryOfModel("X").error().describe(), HasSubstr("known: A10"));
}

TEST(KubeLists, ReadsNodesAndPodsAsKubectlPrintsThem) {
  std::istringstream nodes_in(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata:
    name: gpu-a
    labels:
      nvidia.com/gpu.count: "2"
      nvidia.com/gpu.memory: "16384"
      nvidia.com/gpu.replicas: "10"
      nvidia.com/gpu.product: Tesla-T4
  status:
    allocatable: {cpu: "64", memory: 256Gi}
- kind: Node
  metadata: {name: cpu-only}
)");
  auto nodes = parseNodeList(nodes_in, "nodes.yaml");
  ASSERT_TRUE(nodes.ok()) << nodes.error().describe();
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].gpus, 2);
  EXPECT_EQ((*nodes)[0].gpu_memory_mib, 16384);
  EXPECT_EQ((*nodes)[0].clients_per_gpu, 10);
  EXPECT_EQ((*nodes)[0].model, "Tesla-T4");
  EXPECT_EQ((*nodes)[0].cpu_milli, 64000);
  EXPECT_EQ((*nodes)[0].memory_mib, 262144);
  EXPECT_EQ((*nodes)[1].gpus, 0);

  std::istringstream pods_in(R"({"kind": "List", "items": [
  {"metadata": {"name": "infer", "namespace": "ml", "annotations": {
     "mpshare.io/thread-percentage": "30", "mpshare.io/memory-limit": "4Gi"}},
   "spec": {"containers": [{"name": "main", "resources": {
     "limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "500m", "memory": "1Gi"}}}]}},
  {"metadata": {"name": "web", "namespace": "ml"},
   "spec": {"containers": [{"name": "main", "resources": {"requests": {"cpu": "2"}}}]}}]})");
  auto pods = parsePodList(pods_in, "pods.json");
  ASSERT_TRUE(pods.ok()) << pods.error().describe();
  ASSERT_EQ(pods->size(), 2u);
  EXPECT_EQ((*pods)[0].name, "ml/infer");
  EXPECT_EQ((*pods)[0].gpus, 1);
  EXPECT_EQ((*pods)[0].gpu_milli, 300);
  EXPECT_EQ((*pods)[0].gpu_memory_mib, 4096);
  EXPECT_EQ((*pods)[0].cpu_milli, 500);
  EXPECT_EQ((*pods)[0].memory_mib, 1024);
  EXPECT_EQ((*pods)[1].gpus, 0);
  EXPECT_EQ((*pods)[1].cpu_milli, 2000);
}

TEST(KubeLists, NodesLabelledOnlyByTheNodeAgentHaveGpus) {
  std::istringstream nodes_in(R"(kind: List
items:
- kind: Node
  metadata:
    name: gpu-agent
    labels:
      mpshare.io/gpu.count: "4"
      mpshare.io/gpu.memory: "81559"
      mpshare.io/gpu.clients: "48"
      mpshare.io/gpu.product: NVIDIA-H100-80GB-HBM3
)");
  auto nodes = parseNodeList(nodes_in, "nodes.yaml");
  ASSERT_TRUE(nodes.ok()) << nodes.error().describe();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].gpus, 4);
  EXPECT_EQ((*nodes)[0].gpu_memory_mib, 81559);
  EXPECT_EQ((*nodes)[0].clients_per_gpu, 48);
  EXPECT_EQ((*nodes)[0].model, "NVIDIA-H100-80GB-HBM3");
}

TEST(KubeLists, ErrorsNameTheItemAndField) {
  std::istringstream bad_label(R"(items:
- metadata:
    name: gpu-b
    labels: {nvidia.com/gpu.count: "2", nvidia.com/gpu.memory: 40GB})");
  EXPECT_THAT(parseNodeList(bad_label, "nodes.yaml").error().describe(),
              HasSubstr("nodes.yaml: items[0] (gpu-b): nvidia.com/gpu.memory"));
  std::istringstream not_a_list("kind: Pod\n");
  EXPECT_THAT(parsePodList(not_a_list, "pods.yaml").error().describe(),
              HasSubstr("expected a list object with `items`"));
  std::istringstream bad_annotation(R"(items:
- metadata: {name: p, namespace: d, annotations: {mpshare.io/thread-percentage: "150"}}
  spec: {containers: [{name: c, resources: {limits: {nvidia.com/gpu: "1"}}}]})");
  EXPECT_THAT(parsePodList(bad_annotation, "pods.yaml").error().describe(),
              HasSubstr("items[0] (p): mpshare.io/thread-percentage"));
}

}  // namespace
}  // namespace mpshare::extender
