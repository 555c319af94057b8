// A standalone extender learns the nodes of Nodes-form requests up to
// extender.maxLearnedNodes: 2,000 filters naming 20 new nodes each once grew
// it to 1.92 GB and /metrics to 68 MB. Past the bound new nodes are refused
// (failed as unknown, counted, logged); known nodes still update.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "extender/node_file.h"
#include "extender/standalone_extender.h"
#include "tests/support/require_ok.h"

namespace mpshare::extender {
namespace {

constexpr const char* kPod =
    R"({"metadata":{"name":"p","namespace":"ml","uid":"u1","annotations":)"
    R"({"mpshare.io/thread-percentage":"30","mpshare.io/memory-limit":"4Gi"}},)"
    R"("spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}})";

std::string node(const std::string& name, int memory_mib = 40960, bool managed = true) {
  return R"({"metadata":{"name":")" + name + R"(","labels":{)" +
         (managed ? R"("mpshare.io/mps":"enabled",)" : "") +
         R"("nvidia.com/gpu.count":"1","nvidia.com/gpu.memory":")" + std::to_string(memory_mib) +
         R"(","nvidia.com/gpu.replicas":"4"}}})";
}

std::string nodesForm(const std::vector<std::string>& nodes) {
  std::string items;
  for (const std::string& n : nodes) items += (items.empty() ? "" : ",") + n;
  return std::string(R"({"Pod":)") + kPod + R"(,"Nodes":{"items":[)" + items + "]}}";
}

std::unique_ptr<StandaloneExtender> makeExtender(size_t max_learned, NodeSource* source = nullptr) {
  ExtenderConfig config;
  config.max_learned_nodes = max_learned;
  return testing_support::requireOk(StandaloneExtender::create(config, source),
                                    "StandaloneExtender::create");
}

platform::HttpResponse call(StandaloneExtender& extender, const std::string& method,
                            const std::string& path, const std::string& body = "") {
  platform::HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  return extender.routes().handle(request);
}

std::string filter(StandaloneExtender& extender, const std::vector<std::string>& nodes) {
  const auto reply = call(extender, "POST", "/scheduler/filter", nodesForm(nodes));
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.body;
}

// Node name -> the first GPU's memory, as the ledger holds it.
std::map<std::string, int64_t> ledgerNodes(StandaloneExtender& extender) {
  std::map<std::string, int64_t> nodes;
  for (const core::NodeState& state : extender.service().ledger().snapshot().nodes) {
    nodes[state.name()] = state.gpus.empty() ? 0 : state.gpus[0].capacity.memory_mib;
  }
  return nodes;
}

TEST(LearnedNodesTest, RequestsTeachAtMostTheLimit) {
  auto extender = makeExtender(50);
  for (int call = 0; call < 200; ++call) {
    std::vector<std::string> nodes;
    for (int i = 0; i < 20; ++i)
      nodes.push_back(node("n" + std::to_string(call) + "-" + std::to_string(i)));
    filter(*extender, nodes);
  }
  EXPECT_EQ(extender->service().learnedNodes(), 50u);
  EXPECT_EQ(extender->service().refusedNodes(), 200u * 20 - 50);
  EXPECT_EQ(ledgerNodes(*extender).size(), 50u);

  // A learned node passes; a refused one fails as unknown, with the scheduler
  // told so rather than the request failing.
  const std::string reply = filter(*extender, {node("n0-0"), node("n199-19")});
  const nlohmann::json answer = nlohmann::json::parse(reply);
  ASSERT_EQ(answer["Nodes"]["items"].size(), 1u) << reply;
  EXPECT_EQ(answer["Nodes"]["items"][0]["metadata"]["name"], "n0-0") << reply;
  EXPECT_TRUE(answer["FailedAndUnresolvableNodes"].contains("n199-19")) << reply;

  const std::string metrics = call(*extender, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("mpshare_extender_learned_nodes_refused_total 3951\n"), std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_EQ(metrics.find("n199-19"), std::string::npos);
}

TEST(LearnedNodesTest, FileNodesDoNotCountAndKnownNodesStillUpdate) {
  auto file = parseNodeList("{items: [" + node("file-a") + "," + node("file-b") + "]}");
  ASSERT_TRUE(file.ok()) << file.error().describe();
  StaticNodeSource source(*file);
  auto extender = makeExtender(2, &source);

  filter(*extender,
         {node("file-a", 81920), node("file-b"), node("new-1"), node("new-2"), node("new-3")});
  filter(*extender, {node("new-1", 23034), node("new-3")});
  const std::map<std::string, int64_t> want = {
      {"file-a", 81920}, {"file-b", 40960}, {"new-1", 23034}, {"new-2", 40960}};
  EXPECT_EQ(ledgerNodes(*extender), want);
  EXPECT_EQ(extender->service().learnedNodes(), 2u);
  EXPECT_EQ(extender->service().refusedNodes(), 2u);
}

TEST(LearnedNodesTest, ANodeThatStopsBeingManagedFreesItsPlace) {
  auto extender = makeExtender(1);
  filter(*extender, {node("a"), node("b")});
  EXPECT_EQ(ledgerNodes(*extender), (std::map<std::string, int64_t>{{"a", 40960}}));
  filter(*extender, {node("a", 40960, /*managed=*/false)});  // the selector label is gone
  EXPECT_TRUE(ledgerNodes(*extender).empty());
  filter(*extender, {node("b")});
  EXPECT_EQ(ledgerNodes(*extender), (std::map<std::string, int64_t>{{"b", 40960}}));
}

TEST(LearnedNodesTest, ZeroLearnsNothingFromRequests) {
  auto file = parseNodeList("{items: [" + node("file-a") + "]}");
  ASSERT_TRUE(file.ok());
  StaticNodeSource source(*file);
  auto extender = makeExtender(0, &source);
  const std::string reply = filter(*extender, {node("file-a"), node("new")});
  EXPECT_NE(reply.find(R"("FailedAndUnresolvableNodes":{"new":)"), std::string::npos) << reply;
  EXPECT_EQ(ledgerNodes(*extender), (std::map<std::string, int64_t>{{"file-a", 40960}}));
}

}  // namespace
}  // namespace mpshare::extender
