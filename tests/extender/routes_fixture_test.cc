// Walks tests/fixtures/extender/<case>/{request,response}.json: each case starts a
// fresh standalone extender on fixtures/extender/nodes.yaml, runs the optional
// setup calls, sends the request (exact kube-scheduler JSON) and compares the
// reply as JSON. MPSHARE_UPDATE_FIXTURES=1 rewrites response.json (review the diff).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "extender/node_file.h"
#include "extender/standalone_extender.h"
#include "tests/support/read_file.h"

namespace mpshare::extender {
namespace {

using testing_support::readFile;

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixtures = fs::path(MPSHARE_SOURCE_DIR) / "tests/fixtures/extender";

platform::HttpRequest toRequest(const json& spec) {
  platform::HttpRequest request;
  request.method = spec.at("method").get<std::string>();
  request.path = spec.at("path").get<std::string>();
  request.headers["content-type"] = "application/json";
  request.body =
      spec.contains("rawBody") ? spec["rawBody"].get<std::string>() : spec.at("body").dump();
  return request;
}

std::vector<fs::path> cases() {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.is_directory() && fs::exists(entry.path() / "request.json")) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

TEST(RoutesFixtureTest, EveryCaseAnswersAsRecorded) {
  const auto all = cases();
  ASSERT_GE(all.size(), 10u) << "fixtures missing under " << kFixtures;
  const bool update = std::getenv("MPSHARE_UPDATE_FIXTURES") != nullptr;
  for (const fs::path& dir : all) {
    SCOPED_TRACE(dir.filename().string());
    FileNodeSource nodes((kFixtures / "nodes.yaml").string());
    auto extender = StandaloneExtender::create(ExtenderConfig{}, &nodes);
    ASSERT_TRUE(extender.ok()) << extender.error().describe();
    const json spec = json::parse(readFile(dir / "request.json"));
    for (const json& step : spec.value("setup", json::array())) {
      const auto reply = (*extender)->routes().handle(toRequest(step));
      ASSERT_EQ(reply.status, 200) << reply.body;
    }
    const auto reply = (*extender)->routes().handle(toRequest(spec));
    const json got{{"status", reply.status}, {"body", json::parse(reply.body)}};
    if (update) {
      std::ofstream(dir / "response.json") << got.dump(1) << "\n";
      continue;
    }
    ASSERT_TRUE(fs::exists(dir / "response.json"));
    const json want = json::parse(readFile(dir / "response.json"));
    EXPECT_EQ(got, want) << "got:\n" << got.dump(1);
  }
}

}  // namespace
}  // namespace mpshare::extender
