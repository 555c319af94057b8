#include "core/pod_distribution.h"

#include <gtest/gtest.h>

namespace mpshare::core {
namespace {

using Clock = PodDistribution::Clock;
using std::chrono::seconds;

TEST(PodDistributionTest, ShapeOfDemand) {
  struct Case {
    Demand demand;
    PodShape want;
  };
  const Case cases[] = {
      {{1, 30, 8192}, {1, 300, 8192}},
      {{1, 30, std::nullopt}, {1, 1000, 0}},    // all of the GPU's memory: a whole GPU
      {{1, std::nullopt, 8192}, {1, 1000, 0}},  // all of its threads: a whole GPU too
      {{1, 100, 8192}, {1, 1000, 0}},
      {{4, std::nullopt, std::nullopt}, {4, 1000, 0}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(shapeOfDemand(c.demand), c.want) << c.demand.describe();
  }
  EXPECT_EQ(describeShape({1, 300, 8192}), "1 x 300 milli / 8192 MiB");
  EXPECT_EQ(describeShape({4, 1000, 0}), "4 x whole GPU");
}

TEST(PodDistributionTest, BuiltinIsTheTraceDefaultList) {
  const auto& shapes = builtinPodShapes();
  ASSERT_EQ(shapes.size(), 24u);
  int64_t pods = 0;
  for (const ShapeCount& s : shapes) pods += s.pods;
  EXPECT_EQ(pods, 7064);  // the GPU pods of openb_pod_list_default.csv
  EXPECT_EQ(shapes[0], (ShapeCount{{1, 1000, 0}, 3911}));
  EXPECT_EQ(shapes[1], (ShapeCount{{1, 810, 0}, 1078}));
}

TEST(PodDistributionTest, SeedUntilMinPodsThenLearnedAndEachKeyOnce) {
  DistributionWindow window;
  window.max_pods = 4;
  window.min_pods = 2;
  PodDistribution d(window, {{{1, 500, 0}, 7}});
  const Clock::time_point t0{};
  EXPECT_EQ(d.view().source, DistributionSource::kConfigured);
  EXPECT_FALSE(d.observe("u1", {1, 300, 1024}, t0));  // below min_pods: nothing to rebuild
  EXPECT_FALSE(d.observe("u1", {1, 300, 1024}, t0));  // the same pod again
  EXPECT_EQ(d.view().shapes, (std::vector<ShapeCount>{{{1, 500, 0}, 7}}));
  EXPECT_TRUE(d.observe("u2", {2, 1000, 0}, t0));  // switches to learned
  const DistributionView learned = d.view();
  EXPECT_EQ(learned.source, DistributionSource::kLearned);
  EXPECT_EQ(learned.window_pods, 2u);
  // Equal counts: the larger shape first, whatever the arrival order.
  EXPECT_EQ(learned.shapes, (std::vector<ShapeCount>{{{2, 1000, 0}, 1}, {{1, 300, 1024}, 1}}));
  const auto types = learned.podTypes();
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[1].gpu_memory_mib, 1024);
  EXPECT_DOUBLE_EQ(types[1].share, 0.3);
  EXPECT_DOUBLE_EQ(types[0].weight + types[1].weight, 1.0);
}

TEST(PodDistributionTest, WindowIsBoundedByCountAndAge) {
  DistributionWindow window;
  window.max_pods = 3;
  window.min_pods = 1;
  window.max_age = seconds(60);
  PodDistribution d(window, {});
  EXPECT_EQ(d.view().source, DistributionSource::kBuiltin);
  const Clock::time_point t0{};
  for (int i = 0; i < 5; ++i) {
    (void)d.observe("u" + std::to_string(i), {1, 100 * (i + 1), 0}, t0 + seconds(i));
  }
  // Only the last three remain.
  EXPECT_EQ(d.view().shapes,
            (std::vector<ShapeCount>{{{1, 500, 0}, 1}, {{1, 400, 0}, 1}, {{1, 300, 0}, 1}}));
  // u0 left the window, so it counts again when seen again.
  (void)d.observe("u0", {1, 100, 0}, t0 + seconds(5));
  EXPECT_EQ(d.view().window_pods, 3u);
  // After a minute without pods the window is empty: back to the seed.
  EXPECT_TRUE(d.expire(t0 + seconds(200)));
  EXPECT_EQ(d.view().source, DistributionSource::kBuiltin);
  EXPECT_EQ(d.view().window_pods, 0u);
}

TEST(PodDistributionTest, MaxShapesKeepsTheMostPopular) {
  DistributionWindow window;
  window.max_pods = 10;
  window.min_pods = 1;
  window.max_shapes = 1;
  PodDistribution d(window, {});
  const Clock::time_point t0{};
  (void)d.observe("a", {1, 100, 0}, t0);
  (void)d.observe("b", {1, 200, 0}, t0);
  (void)d.observe("c", {1, 200, 0}, t0);
  EXPECT_EQ(d.view().shapes, (std::vector<ShapeCount>{{{1, 200, 0}, 2}}));
}

TEST(RankedNodeScoresTest, BestOnOneNodeThenTiesThenTheRest) {
  // "a" and "b" tie for the best score; one of them (fixed by a hash of the
  // name, not by the request's order) gets 10, the other 9.
  const std::vector<ScoredNode> nodes = {
      {"a", 0.49}, {"b", 0.49}, {"c", 0.45}, {"d", std::nullopt}, {"e", 0.47}};
  const std::vector<int> scores = rankedNodeScores(nodes);
  EXPECT_EQ(scores[0] + scores[1], 19);
  EXPECT_EQ(scores[2], 0);  // the lowest that fits
  EXPECT_EQ(scores[3], 0);  // does not fit
  EXPECT_EQ(scores[4], 4);  // half way: 8 x 0.5
  const std::vector<ScoredNode> reversed = {{"b", 0.49}, {"a", 0.49}};
  const std::vector<int> again = rankedNodeScores(reversed);
  EXPECT_EQ(again[0] == 10, scores[1] == 10);  // the same node wins in any order
  EXPECT_EQ(rankedNodeScores({{"x", std::nullopt}}), std::vector<int>{0});
  EXPECT_EQ(rankedNodeScores({{"x", 0.2}}), std::vector<int>{10});
}

}  // namespace
}  // namespace mpshare::core
