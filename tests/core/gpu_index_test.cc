// mpshare.io/gpu-index: the one reader and writer the extender, mpshare-node
// and the demo share.

#include <gtest/gtest.h>

#include "core/annotations.h"

namespace mpshare::core {
namespace {

TEST(GpuIndexTest, ReadsWhatTheExtenderWrites) {
  for (const std::vector<int>& indices :
       std::vector<std::vector<int>>{{0}, {7}, {0, 1}, {3, 1, 63}}) {
    auto parsed = parseGpuIndices(formatGpuIndices(indices));
    ASSERT_TRUE(parsed.ok()) << formatGpuIndices(indices);
    EXPECT_EQ(*parsed, indices);
  }
  EXPECT_EQ(formatGpuIndices({0, 1}), "0,1");
}

TEST(GpuIndexTest, RefusesAnythingButDistinctOrdinals) {
  for (const char* text :
       {"", "one", "-1", "64", "100", "0,", ",0", "0,,1", "0,0", " 0", "0 ", "1.0", "+1"}) {
    auto parsed = parseGpuIndices(text);
    ASSERT_FALSE(parsed.ok()) << '"' << text << '"';
    EXPECT_EQ(parsed.error().describe(),
              std::string("mpshare.io/gpu-index: \"") + text +
                  "\" is not a list of distinct GPU ordinals 0-63 such as \"0\" or "
                  "\"0,1\"");
  }
}

}  // namespace
}  // namespace mpshare::core
