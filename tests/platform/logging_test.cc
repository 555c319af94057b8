#include "platform/logging.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>
#include <vector>

namespace mpshare::platform {
namespace {

TEST(LoggingTest, FormatsLevelMessageAndQuotedFields) {
  struct Case {
    LogLevel level;
    std::string message;
    LogFields fields;
    std::string want;
  };
  const std::vector<Case> cases = {
      {LogLevel::kInfo,
       "listening",
       {{"address", "https://0.0.0.0:8443/"}},
       "INFO listening address=https://0.0.0.0:8443/"},
      {LogLevel::kWarn,
       "tls reload failed",
       {{"error", "key does not match"}},
       "WARN tls reload failed error=\"key does not match\""},
      {LogLevel::kError,
       "x",
       {{"empty", ""}, {"eq", "a=b"}, {"q", "say \"hi\"\\"}},
       "ERROR x empty=\"\" eq=\"a=b\" q=\"say \\\"hi\\\"\\\\\""},
      {LogLevel::kDebug,
       "two\nlines",
       {{"v", "a\nb\tc\x01"}},
       "DEBUG two lines v=\"a\\nb\\tc\\x01\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(formatLogLine(c.level, c.message, c.fields), c.want);
  }
}

TEST(LoggingTest, ParsesLevelNames) {
  struct Case {
    std::string text;
    std::optional<LogLevel> want;
  };
  for (const auto& c : std::vector<Case>{{"debug", LogLevel::kDebug},
                                         {"INFO", LogLevel::kInfo},
                                         {"Warning", LogLevel::kWarn},
                                         {"warn", LogLevel::kWarn},
                                         {"error", LogLevel::kError},
                                         {"verbose", std::nullopt},
                                         {"", std::nullopt}}) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parseLogLevel(c.text), c.want);
  }
}

TEST(LoggingTest, WritesWholeTimestampedLinesAboveTheLevelFromManyThreads) {
  std::ostringstream out;
  setLogStream(&out);
  setLogLevel(LogLevel::kInfo);
  logDebug("hidden");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) logInfo("event", {{"thread", std::to_string(t)}});
    });
  }
  for (auto& t : threads) t.join();
  setLogStream(nullptr);

  const std::regex line_re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO event thread=[0-3])");
  std::istringstream lines(out.str());
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    ASSERT_TRUE(std::regex_match(line, line_re)) << line;
  }
  EXPECT_EQ(count, 800);
}

}  // namespace
}  // namespace mpshare::platform
