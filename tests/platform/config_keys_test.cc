// platform/config_keys: the keys the webhook's and the extender's config files
// share are read by one function, so each value is accepted or refused alike
// (the extender once took "+30" for defaultThreadPercentage, the webhook not).

#include "platform/config_keys.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace mpshare::platform {
namespace {

core::Result<PodLimitKeys> read(const std::string& yaml) {
  PodLimitKeys keys;
  if (auto s = readPodLimitKeys(YAML::Load(yaml), "webhook", &keys); !s) return s.error();
  return keys;
}

TEST(ConfigKeysTest, ReadsTheFourSharedKeys) {
  const auto keys = read(
      "gpuResourceNames: [example.com/gpu, nvidia.com/gpu.shared]\n"
      "defaultMemoryLimit: 1.5Gi\n"  // before minMemoryLimit: order does not matter
      "minMemoryLimit: 512Mi\n"
      "defaultThreadPercentage: 25\n"
      "other: kept for the caller\n");
  ASSERT_TRUE(keys.ok()) << keys.error().describe();
  EXPECT_EQ(keys->resources.names,
            (std::vector<std::string>{"example.com/gpu", "nvidia.com/gpu.shared"}));
  EXPECT_EQ(keys->min_memory_limit_mib, 512);
  EXPECT_EQ(keys->default_thread_percentage, 25);
  EXPECT_EQ(keys->default_memory_limit_mib, 1536);
}

TEST(ConfigKeysTest, AbsentKeysKeepTheirValues) {
  const auto keys = read("{}");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->resources.names, core::GpuResourceNames{}.names);
  EXPECT_EQ(keys->min_memory_limit_mib, 256);
  EXPECT_FALSE(keys->default_thread_percentage.has_value());
  EXPECT_FALSE(keys->default_memory_limit_mib.has_value());
}

TEST(ConfigKeysTest, RefusalsNameTheKeyAndWhatIsAllowed) {
  const struct {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"defaultThreadPercentage: '+30'",
       "webhook.defaultThreadPercentage: must be an integer 1-100, got \"+30\""},
      {"defaultThreadPercentage: 30.0",
       "webhook.defaultThreadPercentage: must be an integer 1-100, got \"30.0\""},
      {"defaultThreadPercentage: 0",
       "webhook.defaultThreadPercentage: must be an integer 1-100, got \"0\""},
      {"defaultThreadPercentage: [30]",
       "webhook.defaultThreadPercentage: must be an integer 1-100, got a non-scalar value"},
      {"minMemoryLimit: 1Ki", "webhook.minMemoryLimit: must be a quantity >= 1Mi, got \"1Ki\""},
      {"minMemoryLimit: -1Gi", "webhook.minMemoryLimit: must be a quantity >= 1Mi, got \"-1Gi\""},
      {"defaultMemoryLimit: 4GB",
       "webhook.defaultMemoryLimit: must be a quantity >= 256Mi "
       "(webhook.minMemoryLimit), got \"4GB\""},
      {"{minMemoryLimit: 1Gi, defaultMemoryLimit: 512Mi}",
       "webhook.defaultMemoryLimit: must be a quantity >= 1024Mi (webhook.minMemoryLimit), got "
       "\"512Mi\""},
      {"gpuResourceNames: []",
       "webhook.gpuResourceNames: must be a non-empty list of resource names like nvidia.com/gpu"},
      {"gpuResourceNames: [nvidia.com/gpu, gpu]",
       "webhook.gpuResourceNames[1]: must be a resource name like nvidia.com/gpu, got \"gpu\""},
      {"gpuResourceNames: [a/b/c]",
       "webhook.gpuResourceNames[0]: must be a resource name like nvidia.com/gpu, got \"a/b/c\""},
  };
  for (const auto& c : cases) {
    const auto keys = read(c.yaml);
    ASSERT_FALSE(keys.ok()) << c.yaml;
    EXPECT_EQ(keys.error().describe(), c.error) << c.yaml;
  }
}

TEST(ConfigKeysTest, UnknownKeysAreNamedWithTheAllowedOnes) {
  EXPECT_TRUE(onlyKnownKeys(YAML::Load("{a: 1, b: 2}"), "x", {"a", "b"}).ok());
  const auto unknown = onlyKnownKeys(YAML::Load("{a: 1, c: 2}"), "x", {"a", "b"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().describe(), "x.c: unknown key (allowed: a, b)");
  const auto list = onlyKnownKeys(YAML::Load("[a]"), "x", {"a"});
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().describe(), "x: must be a mapping");
}

}  // namespace
}  // namespace mpshare::platform
