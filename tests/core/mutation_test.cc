#include "core/mutation.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mpshare::core {
namespace {

ContainerView gpuContainer(std::string name, std::string gpus = "1",
                           ContainerKind kind = ContainerKind::kRegular, int index = 0) {
  ContainerView c;
  c.name = std::move(name);
  c.kind = kind;
  c.index = index;
  if (!gpus.empty()) c.limits["nvidia.com/gpu"] = gpus;
  return c;
}

PodView podWith(std::map<std::string, std::string> annotations, std::vector<ContainerView> cs) {
  PodView pod;
  pod.name = "p";
  pod.namespace_name = "ml";
  pod.annotations = std::move(annotations);
  pod.has_annotations = !pod.annotations.empty();
  pod.containers = std::move(cs);
  return pod;
}

WebhookRules noDaemon() {
  WebhookRules rules;
  rules.daemon.inject = false;
  return rules;
}

struct DenyCase {
  const char* name;
  PodView pod;
  DenialReason reason;
  std::vector<std::string> message_parts;  // each must appear in the message
};

TEST(MutationTest, DeniesEveryRuleViolationWithAnActionableMessage) {
  const DenyCase cases[] = {
      {"thread 0",
       podWith({{"mpshare.io/thread-percentage", "0"}}, {gpuContainer("s")}),
       DenialReason::kThreadPercentage,
       {"mpshare.io/thread-percentage", "1-100", "\"0\""}},
      {"thread 101",
       podWith({{"mpshare.io/thread-percentage", "101"}}, {gpuContainer("s")}),
       DenialReason::kThreadPercentage,
       {"\"101\""}},
      {"thread fraction",
       podWith({{"mpshare.io/thread-percentage", "12.5"}}, {gpuContainer("s")}),
       DenialReason::kThreadPercentage,
       {"integer", "\"12.5\""}},
      {"thread percent sign",
       podWith({{"mpshare.io/thread-percentage", "30%"}}, {gpuContainer("s")}),
       DenialReason::kThreadPercentage,
       {"\"30%\""}},
      {"thread negative",
       podWith({{"mpshare.io/thread-percentage", "-5"}}, {gpuContainer("s")}),
       DenialReason::kThreadPercentage,
       {"\"-5\""}},
      {"memory zero",
       podWith({{"mpshare.io/memory-limit", "0"}}, {gpuContainer("s")}),
       DenialReason::kMemoryLimit,
       {"mpshare.io/memory-limit", "at least 256Mi", "\"0\""}},
      {"memory negative",
       podWith({{"mpshare.io/memory-limit", "-4Gi"}}, {gpuContainer("s")}),
       DenialReason::kMemoryLimit,
       {"\"-4Gi\""}},
      {"memory unparseable",
       podWith({{"mpshare.io/memory-limit", "4GB"}}, {gpuContainer("s")}),
       DenialReason::kMemoryLimit,
       {"mpshare.io/memory-limit", "GB", "at least 256Mi"}},
      {"memory below minimum",
       podWith({{"mpshare.io/memory-limit", "255Mi"}}, {gpuContainer("s")}),
       DenialReason::kMemoryLimit,
       {"\"255Mi\"", "255 MiB"}},
      {"unknown annotation",
       podWith({{"mpshare.io/threads", "30"}}, {gpuContainer("s")}),
       DenialReason::kUnknownAnnotation,
       {"mpshare.io/threads", "mpshare.io/thread-percentage"}},
      {"annotations without gpu",
       podWith({{"mpshare.io/thread-percentage", "30"}}, {gpuContainer("web", "")}),
       DenialReason::kAnnotationsWithoutGpu,
       {"no container asks for a GPU", "nvidia.com/gpu"}},
      {"gpu-index alone without gpu",
       podWith({{"mpshare.io/gpu-index", "0"}}, {gpuContainer("web", "0")}),
       DenialReason::kAnnotationsWithoutGpu,
       {"no container asks for a GPU"}},
      {"two gpus",
       podWith({}, {gpuContainer("s", "2")}),
       DenialReason::kGpuCount,
       {"exactly one GPU", "container \"s\" asks for 2"}},
      {"two gpu containers",
       podWith({}, {gpuContainer("a"), gpuContainer("b", "1", ContainerKind::kRegular, 1)}),
       DenialReason::kGpuCount,
       {"container \"a\" asks for 1", "container \"b\" asks for 1"}},
      {"gpu sidecar beside gpu container",
       podWith({}, {gpuContainer("a"), gpuContainer("side", "1", ContainerKind::kSidecar, 0)}),
       DenialReason::kGpuCount,
       {"sidecar container \"side\" asks for 1"}},
      {"init container asking for 2",
       podWith({}, {gpuContainer("a"), gpuContainer("warm", "2", ContainerKind::kInit, 0)}),
       DenialReason::kGpuCount,
       {"init container \"warm\" asks for 2"}},
      {"fractional gpu",
       podWith({}, {gpuContainer("s", "500m")}),
       DenialReason::kInvalidGpuRequest,
       {"spec.containers[0]", "\"500m\"", "whole"}},
  };
  for (const auto& c : cases) {
    const Decision d = decideAdmission(c.pod, {}, Operation::kCreate, WebhookRules{});
    EXPECT_FALSE(d.allowed) << c.name;
    ASSERT_TRUE(d.reason.has_value()) << c.name;
    EXPECT_EQ(*d.reason, c.reason) << c.name << ": " << d.message;
    for (const auto& part : c.message_parts) {
      EXPECT_NE(d.message.find(part), std::string::npos)
          << c.name << ": \"" << part << "\" not in: " << d.message;
    }
    EXPECT_TRUE(d.edits.empty()) << c.name;
  }
}

TEST(MutationTest, OnlyCreateIsChanged) {
  const PodView bad = podWith({{"mpshare.io/thread-percentage", "130"}}, {gpuContainer("s", "4")});
  for (const Operation op : {Operation::kUpdate, Operation::kDelete, Operation::kConnect}) {
    const Decision d = decideAdmission(bad, {}, op, WebhookRules{});
    EXPECT_TRUE(d.allowed);
    EXPECT_TRUE(d.edits.empty());
  }
  EXPECT_FALSE(decideAdmission(bad, {}, Operation::kCreate, WebhookRules{}).allowed);
}

struct EnvCase {
  const char* name;
  std::map<std::string, std::string> annotations;
  WebhookRules rules;
  std::vector<EnvEdit> env;
};

TEST(MutationTest, InjectsEnvForTheAnnotationsPresentAndConfiguredDefaults) {
  WebhookRules defaults = noDaemon();
  defaults.default_thread_percentage = 50;
  defaults.default_memory_limit_mib = 8192;
  WebhookRules daemon;
  daemon.daemon.pipe_directory = "/var/run/mps";
  const EnvCase cases[] = {
      {"both",
       {{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "4Gi"}},
       noDaemon(),
       {{"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "30"},
        {"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=4096M"}}},
      {"threads only",
       {{"mpshare.io/thread-percentage", "100"}},
       noDaemon(),
       {{"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "100"}}},
      {"memory fraction floors to MiB",
       {{"mpshare.io/memory-limit", "1.5Gi"}},
       noDaemon(),
       {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=1536M"}}},
      {"decimal suffix",
       {{"mpshare.io/memory-limit", "8G"}},
       noDaemon(),
       {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=7629M"}}},
      {"exponent",
       {{"mpshare.io/memory-limit", "2e9"}},
       noDaemon(),
       {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=1907M"}}},
      {"plain bytes",
       {{"mpshare.io/memory-limit", "1073741824"}},
       noDaemon(),
       {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=1024M"}}},
      {"no annotations, no defaults: nothing", {}, noDaemon(), {}},
      {"defaults fill absent annotations",
       {{"mpshare.io/thread-percentage", "20"}},
       defaults,
       {{"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "20"},
        {"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", "0=8192M"}}},
      {"daemon access adds the pipe directory",
       {{"mpshare.io/thread-percentage", "30"}},
       daemon,
       {{"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", "30"}, {"CUDA_MPS_PIPE_DIRECTORY", "/var/run/mps"}}},
  };
  for (const auto& c : cases) {
    const Decision d = decideAdmission(podWith(c.annotations, {gpuContainer("s")}), {},
                                       Operation::kCreate, c.rules);
    ASSERT_TRUE(d.allowed) << c.name << ": " << d.message;
    if (c.env.empty()) {
      EXPECT_TRUE(d.edits.containers.empty()) << c.name;
      continue;
    }
    ASSERT_EQ(d.edits.containers.size(), 1u) << c.name;
    const auto& got = d.edits.containers[0].env;
    ASSERT_EQ(got.size(), c.env.size()) << c.name;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].name, c.env[i].name) << c.name;
      EXPECT_EQ(got[i].value, c.env[i].value) << c.name;
    }
  }
}

TEST(MutationTest, MinimumMemoryLimitIsConfigurable) {
  WebhookRules rules = noDaemon();
  rules.min_memory_limit_mib = 1024;
  const PodView pod = podWith({{"mpshare.io/memory-limit", "512Mi"}}, {gpuContainer("s")});
  const Decision d = decideAdmission(pod, {}, Operation::kCreate, rules);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.message.find("at least 1024Mi"), std::string::npos) << d.message;
  rules.min_memory_limit_mib = 256;
  EXPECT_TRUE(decideAdmission(pod, {}, Operation::kCreate, rules).allowed);
}

TEST(MutationTest, WarnsBelowOneGiB) {
  const struct {
    const char* memory;
    bool warns;
  } cases[] = {{"512Mi", true}, {"1023Mi", true}, {"1Gi", false}, {"40Gi", false}};
  for (const auto& c : cases) {
    const Decision d =
        decideAdmission(podWith({{"mpshare.io/memory-limit", c.memory}}, {gpuContainer("s")}), {},
                        Operation::kCreate, noDaemon());
    ASSERT_TRUE(d.allowed) << c.memory;
    EXPECT_EQ(d.warnings.size(), c.warns ? 1u : 0u) << c.memory;
    if (c.warns) {
      EXPECT_NE(d.warnings[0].find("CUDA context"), std::string::npos);
      EXPECT_LE(d.warnings[0].size(), 120u) << "Kubernetes truncates long warnings";
    }
  }
}

TEST(MutationTest, EveryGpuContainerIncludingInitGetsEnvAndOthersAreUntouched) {
  PodView pod = podWith({{"mpshare.io/thread-percentage", "30"}},
                        {gpuContainer("proxy", "", ContainerKind::kRegular, 0),
                         gpuContainer("server", "1", ContainerKind::kRegular, 1),
                         gpuContainer("warmup", "1", ContainerKind::kInit, 0),
                         gpuContainer("shipper", "", ContainerKind::kSidecar, 1)});
  const Decision d = decideAdmission(pod, {}, Operation::kCreate, WebhookRules{});
  ASSERT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.edits.containers.size(), 2u);
  EXPECT_FALSE(d.edits.containers[0].init);
  EXPECT_EQ(d.edits.containers[0].index, 1);
  EXPECT_TRUE(d.edits.containers[1].init);
  EXPECT_EQ(d.edits.containers[1].index, 0);
  for (const auto& c : d.edits.containers) {
    ASSERT_TRUE(c.mount.has_value());
    EXPECT_EQ(c.mount->mount_path, "/run/mpshare/mps/pipe");
  }
  ASSERT_TRUE(d.edits.volume.has_value());
  EXPECT_EQ(d.edits.volume->path, "/run/mpshare/mps/pipe");
  EXPECT_TRUE(d.edits.set_host_ipc);
}

TEST(MutationTest, ExistingEnvIsKeptAndSameValueIsNotDuplicated) {
  ContainerView c = gpuContainer("s");
  c.has_env = true;
  c.env = {{"MODEL", std::string("/m")}, {"CUDA_MPS_ACTIVE_THREAD_PERCENTAGE", std::string("30")}};
  const Decision d = decideAdmission(
      podWith({{"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "2Gi"}}, {c}),
      {}, Operation::kCreate, noDaemon());
  ASSERT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.edits.containers.size(), 1u);
  EXPECT_TRUE(d.edits.containers[0].has_env);
  ASSERT_EQ(d.edits.containers[0].env.size(), 1u);
  EXPECT_EQ(d.edits.containers[0].env[0].name, "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT");
}

TEST(MutationTest, ConflictingEnvOrVolumeIsDeniedNamingContainerAndVariable) {
  ContainerView value = gpuContainer("server");
  value.has_env = true;
  value.env = {{"CUDA_MPS_PINNED_DEVICE_MEM_LIMIT", std::string("0=2G")}};
  ContainerView value_from = gpuContainer("server");
  value_from.has_env = true;
  value_from.env = {{"CUDA_MPS_PIPE_DIRECTORY", std::nullopt}};
  const auto annotations = std::map<std::string, std::string>{{"mpshare.io/memory-limit", "4Gi"}};

  Decision d =
      decideAdmission(podWith(annotations, {value}), {}, Operation::kCreate, WebhookRules{});
  EXPECT_EQ(d.reason, DenialReason::kEnvConflict);
  EXPECT_NE(d.message.find("container \"server\""), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("\"0=2G\""), std::string::npos) << d.message;

  d = decideAdmission(podWith(annotations, {value_from}), {}, Operation::kCreate, WebhookRules{});
  EXPECT_EQ(d.reason, DenialReason::kEnvConflict);
  EXPECT_NE(d.message.find("valueFrom"), std::string::npos) << d.message;

  PodVolumes other_path;
  other_path.has_volumes = true;
  other_path.host_paths["mpshare-mps-pipe"] = "/tmp/elsewhere";
  d = decideAdmission(podWith(annotations, {gpuContainer("s")}), other_path, Operation::kCreate,
                      WebhookRules{});
  EXPECT_EQ(d.reason, DenialReason::kVolumeConflict);
  EXPECT_NE(d.message.find("/tmp/elsewhere"), std::string::npos) << d.message;

  PodVolumes mount_clash;
  mount_clash.containers[{false, 0}] = {true, {{"scratch", "/run/mpshare/mps/pipe"}}};
  d = decideAdmission(podWith(annotations, {gpuContainer("s")}), mount_clash, Operation::kCreate,
                      WebhookRules{});
  EXPECT_EQ(d.reason, DenialReason::kVolumeConflict);
  EXPECT_NE(d.message.find("\"scratch\""), std::string::npos) << d.message;
}

TEST(MutationTest, ReinvocationOnItsOwnOutputChangesNothing) {
  const auto annotations = std::map<std::string, std::string>{
      {"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "4Gi"}};
  const PodView pod = podWith(annotations, {gpuContainer("s")});
  const Decision first = decideAdmission(pod, {}, Operation::kCreate, WebhookRules{});
  ASSERT_TRUE(first.allowed);

  // Apply the edits by hand, then decide again.
  PodView again = pod;
  PodVolumes volumes;
  again.containers[0].has_env = true;
  for (const auto& e : first.edits.containers[0].env)
    again.containers[0].env.push_back({e.name, e.value});
  volumes.containers[{false, 0}] = {true, {*first.edits.containers[0].mount}};
  volumes.has_volumes = true;
  volumes.host_paths[first.edits.volume->name] = first.edits.volume->path;
  volumes.host_ipc = true;
  const Decision second = decideAdmission(again, volumes, Operation::kCreate, WebhookRules{});
  EXPECT_TRUE(second.allowed) << second.message;
  EXPECT_TRUE(second.edits.empty());
}

TEST(MutationTest, DaemonAccessCanBeTurnedOff) {
  const Decision d =
      decideAdmission(podWith({}, {gpuContainer("s")}), {}, Operation::kCreate, noDaemon());
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.edits.empty());
}

// Under mpshare-node the pipe comes from the node's CDI edits at container start;
// the webhook adds only the limits and hostIPC.
TEST(MutationTest, WithoutThePipeOnlyLimitsAndHostIpcAreInjected) {
  WebhookRules rules;
  rules.daemon.pipe = false;
  const auto annotations = std::map<std::string, std::string>{
      {"mpshare.io/thread-percentage", "30"}, {"mpshare.io/memory-limit", "4Gi"}};
  const Decision d =
      decideAdmission(podWith(annotations, {gpuContainer("s")}), {}, Operation::kCreate, rules);
  ASSERT_TRUE(d.allowed) << d.message;
  ASSERT_EQ(d.edits.containers.size(), 1u);
  const auto& edit = d.edits.containers[0];
  ASSERT_EQ(edit.env.size(), 2u);
  EXPECT_EQ(edit.env[0].name, "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE");
  EXPECT_EQ(edit.env[1].name, "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT");
  EXPECT_FALSE(edit.mount.has_value());
  EXPECT_FALSE(d.edits.volume.has_value());
  EXPECT_TRUE(d.edits.set_host_ipc);

  // A whole-GPU pod still needs host IPC to reach its MPS server.
  const Decision whole =
      decideAdmission(podWith({}, {gpuContainer("s")}), {}, Operation::kCreate, rules);
  ASSERT_TRUE(whole.allowed) << whole.message;
  EXPECT_TRUE(whole.edits.containers.empty());
  EXPECT_FALSE(whole.edits.volume.has_value());
  EXPECT_TRUE(whole.edits.set_host_ipc);

  // What the pipe would clash with is not checked when there is no pipe to add.
  PodVolumes other;
  other.has_volumes = true;
  other.host_paths["mpshare-mps-pipe"] = "/tmp/elsewhere";
  other.containers[{false, 0}] = {true, {{"scratch", "/run/mpshare/mps/pipe"}}};
  other.host_ipc = true;
  const Decision clash =
      decideAdmission(podWith(annotations, {gpuContainer("s")}), other, Operation::kCreate, rules);
  ASSERT_TRUE(clash.allowed) << clash.message;
  EXPECT_FALSE(clash.edits.containers[0].mount.has_value());
  EXPECT_FALSE(clash.edits.set_host_ipc);

  // Reinvocation on its own output changes nothing.
  PodView again = podWith(annotations, {gpuContainer("s")});
  again.containers[0].has_env = true;
  for (const auto& e : edit.env) again.containers[0].env.push_back({e.name, e.value});
  PodVolumes ipc;
  ipc.host_ipc = true;
  EXPECT_TRUE(decideAdmission(again, ipc, Operation::kCreate, rules).edits.empty());

  // inject false still turns everything off, whatever pipe says.
  rules.daemon.inject = false;
  EXPECT_TRUE(decideAdmission(podWith({}, {gpuContainer("s")}), {}, Operation::kCreate, rules)
                  .edits.empty());
}

TEST(MutationTest, PodsWithoutGpuOrAnnotationsPassUntouched) {
  const Decision d = decideAdmission(podWith({{"team", "a"}}, {gpuContainer("web", "")}), {},
                                     Operation::kCreate, WebhookRules{});
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.edits.empty());
}

TEST(MutationTest, ConfiguredResourceNamesDecideWhatIsAGpu) {
  WebhookRules rules = noDaemon();
  rules.resources.names = {"example.com/vgpu"};
  ContainerView c = gpuContainer("s", "");
  c.requests["example.com/vgpu"] = "1";
  const auto annotations =
      std::map<std::string, std::string>{{"mpshare.io/thread-percentage", "30"}};
  EXPECT_EQ(decideAdmission(podWith(annotations, {c}), {}, Operation::kCreate, rules)
                .edits.containers.size(),
            1u);
  // nvidia.com/gpu is not a GPU under these rules, so the annotations have nothing to apply to.
  const Decision d =
      decideAdmission(podWith(annotations, {gpuContainer("s")}), {}, Operation::kCreate, rules);
  EXPECT_EQ(d.reason, DenialReason::kAnnotationsWithoutGpu);
}

TEST(MutationTest, ParsesOperationsAndLabelsReasons) {
  EXPECT_EQ(parseOperation("CREATE"), Operation::kCreate);
  EXPECT_EQ(parseOperation("CONNECT"), Operation::kConnect);
  EXPECT_FALSE(parseOperation("create").has_value());
  EXPECT_EQ(denialReasonLabel(DenialReason::kGpuCount), "gpu_count");
  EXPECT_EQ(denialReasonLabel(DenialReason::kEnvConflict), "env_conflict");
}

}  // namespace
}  // namespace mpshare::core
