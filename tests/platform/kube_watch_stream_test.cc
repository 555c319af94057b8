#include "platform/kube_watch_stream.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

namespace mpshare::platform {
namespace {

// Events whose strings hold the bytes a naive splitter trips on: braces,
// brackets, quotes, backslashes, newlines.
std::vector<std::string> randomEvents(std::mt19937_64& random, int count) {
  static const std::vector<std::string> kTricky{
      "plain", "{", "}", "[]", "\\", "\"", "a\\\"}b", "\n{\"x\":1}\n", "ü€"};
  std::vector<std::string> events;
  for (int i = 0; i < count; ++i) {
    nlohmann::json object = {
        {"metadata",
         {{"name", "pod-" + std::to_string(i)},
          {"resourceVersion", std::to_string(1000 + i)},
          {"annotations", {{"note", kTricky[random() % kTricky.size()]}}}}},
        {"spec", {{"containers", nlohmann::json::array({{{"args", {"}", "{"}}}})}}}};
    events.push_back(
        nlohmann::json{{"type", i % 3 == 0 ? "ADDED" : "MODIFIED"}, {"object", object}}.dump());
  }
  return events;
}

std::vector<std::string_view> randomSplit(std::string_view text, std::mt19937_64& random,
                                          size_t max_piece) {
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < text.size();) {
    const size_t n = std::min(text.size() - i, 1 + random() % max_piece);
    pieces.push_back(text.substr(i, n));
    i += n;
  }
  return pieces;
}

TEST(JsonObjectSplitterTest, AnySplitOfTheStreamYieldsTheSameEvents) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    std::mt19937_64 random(seed);
    const auto events = randomEvents(random, 1 + static_cast<int>(random() % 20));
    std::string stream;
    for (const auto& e : events)
      stream += e + (random() % 2 ? "\n" : "") + (random() % 4 == 0 ? " \r\n\t" : "");
    JsonObjectSplitter splitter;
    std::vector<std::string> out;
    for (auto piece : randomSplit(stream, random, 1 + seed % 97))
      ASSERT_TRUE(splitter.feed(piece, out).ok());
    ASSERT_EQ(out, events) << "seed " << seed;
    EXPECT_FALSE(splitter.midObject());
  }
}

TEST(JsonObjectSplitterTest, CutStreamIsMidObject) {
  JsonObjectSplitter splitter;
  std::vector<std::string> out;
  ASSERT_TRUE(splitter.feed("{\"type\":\"ADDED\"}\n{\"type\":\"MOD", out).ok());
  EXPECT_EQ(out.size(), 1u);
  EXPECT_TRUE(splitter.midObject());
}

TEST(JsonObjectSplitterTest, GarbageBetweenEventsIsAnErrorNamingTheByte) {
  JsonObjectSplitter splitter;
  std::vector<std::string> out;
  auto status = splitter.feed("{}x", out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "expected '{' between events, got byte 0x78");
  EXPECT_FALSE(splitter.feed("{}", out).ok());
}

}  // namespace
}  // namespace mpshare::platform
