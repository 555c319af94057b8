// Backoff arithmetic, and the Reflector's list-then-watch loop against the
// in-process test API server: every page listed, watch from the list's version
// without replays, 410 -> relist, failures -> growing backoff, stop() at once.

#include "platform/reflector.h"

#include <gtest/gtest.h>

#include <thread>

#include "testing/apiserver/fixtures.h"
#include "testing/apiserver/test_api_server.h"
#include "tests/support/eventually.h"

namespace mpshare::platform {
namespace {

using kubetest::Kind;
using kubetest::makePod;
using kubetest::TestApiServer;
using nlohmann::json;
using std::chrono::milliseconds;
using testing_support::eventually;

TEST(BackoffTest, DoublesUpToTheCapWithJitterBelowTheNominalDelay) {
  Backoff backoff(milliseconds(100), milliseconds(1000), 0.5, 7);
  const int64_t nominal[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (const int64_t want : nominal) {
    const int64_t got = backoff.next().count();
    EXPECT_LE(got, want);
    EXPECT_GE(got, want / 2);
  }
  backoff.reset();
  EXPECT_LE(backoff.next().count(), 100);
}

TEST(BackoffTest, NoJitterIsExact) {
  Backoff backoff(milliseconds(10), milliseconds(35), 0.0, 1);
  EXPECT_EQ(backoff.next(), milliseconds(10));
  EXPECT_EQ(backoff.next(), milliseconds(20));
  EXPECT_EQ(backoff.next(), milliseconds(35));
  EXPECT_EQ(backoff.next(), milliseconds(35));
}

// Records what the reflector delivers; thread-safe because the test reads it
// while the reflector thread writes.
class RecordingSink : public ReflectorSink {
 public:
  void replace(const std::vector<json>& items) override {
    std::lock_guard lock(mutex_);
    ++replaces_;
    names_.clear();
    for (const auto& item : items) names_.insert(item["metadata"]["name"].get<std::string>());
  }
  void apply(const std::string& type, const json& object) override {
    std::lock_guard lock(mutex_);
    const std::string name = object["metadata"]["name"];
    events_.push_back(type + " " + name);
    if (type == "DELETED") {
      names_.erase(name);
    } else {
      names_.insert(name);
    }
  }
  void bookmark() override {
    std::lock_guard lock(mutex_);
    ++bookmarks_;
  }
  std::set<std::string> names() const {
    std::lock_guard lock(mutex_);
    return names_;
  }
  int bookmarks() const {
    std::lock_guard lock(mutex_);
    return bookmarks_;
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  int replaces() const {
    std::lock_guard lock(mutex_);
    return replaces_;
  }

 private:
  mutable std::mutex mutex_;
  std::set<std::string> names_;
  std::vector<std::string> events_;
  int replaces_ = 0;
  int bookmarks_ = 0;
};

constexpr auto kWait = std::chrono::seconds(15);

class ReflectorTest : public ::testing::Test {
 protected:
  void start(ReflectorOptions options = {}, milliseconds idle_timeout = milliseconds(5000)) {
    auto client = KubeClient::create(server_.clientConfig());
    ASSERT_TRUE(client.ok());
    client_ = std::move(*client);
    options.query = {"/api/v1/pods", "", ""};
    options.page_size = 2;
    options.idle_timeout = idle_timeout;
    if (!options.sleep) {
      options.sleep = [this](milliseconds delay) {
        std::lock_guard lock(sleeps_mutex_);
        sleeps_.push_back(delay);
      };
    }
    reflector_ = std::make_unique<Reflector>(*client_, sink_, options);
    thread_ = std::thread([this] { reflector_->run(); });
  }
  void TearDown() override {
    if (reflector_) reflector_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::vector<milliseconds> sleeps() {
    std::lock_guard lock(sleeps_mutex_);
    return sleeps_;
  }

  TestApiServer server_;
  std::unique_ptr<KubeClient> client_;
  RecordingSink sink_;
  std::unique_ptr<Reflector> reflector_;
  std::thread thread_;
  std::mutex sleeps_mutex_;
  std::vector<milliseconds> sleeps_;
};

TEST_F(ReflectorTest, ListsEveryPageThenWatchesOnlyWhatCameAfter) {
  for (int i = 0; i < 5; ++i)
    server_.store().create(Kind::kPods, makePod({.name = "p" + std::to_string(i)}));
  start();
  ASSERT_TRUE(eventually([&] { return reflector_->synced(); }, kWait));
  EXPECT_EQ(sink_.names(), (std::set<std::string>{"p0", "p1", "p2", "p3", "p4"}));
  server_.store().create(Kind::kPods, makePod({.name = "p5"}));
  server_.store().remove(Kind::kPods, "ml/p0");
  ASSERT_TRUE(eventually([&] { return sink_.events().size() == 2; }, kWait));
  // A watch that ends normally resumes from the last version: nothing replayed.
  server_.closeWatches();
  ASSERT_TRUE(eventually([&] { return server_.watchesStarted() >= 2; }, kWait));
  server_.store().create(Kind::kPods, makePod({.name = "p6"}));
  ASSERT_TRUE(eventually([&] { return sink_.events().size() == 3; }, kWait));
  EXPECT_EQ(sink_.events(), (std::vector<std::string>{"ADDED p5", "DELETED p0", "ADDED p6"}));
  EXPECT_EQ(sink_.replaces(), 1);
  EXPECT_EQ(reflector_->stats().lists, 1);
}

// A sink that takes the list page by page, as the cluster cache does.
class PagedSink : public RecordingSink {
 public:
  void beginList() override {
    std::lock_guard lock(mutex_);
    calls_.push_back("begin");
  }
  void listPage(std::vector<json>& items) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("page " + std::to_string(items.size()));
  }
  void endList() override {
    std::lock_guard lock(mutex_);
    calls_.push_back("end");
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
};

TEST(ReflectorPagesTest, APagedSinkGetsEachPageAsItArrivesAndNoWholeList) {
  TestApiServer server;
  for (int i = 0; i < 5; ++i)
    server.store().create(Kind::kPods, makePod({.name = "p" + std::to_string(i)}));
  auto client = KubeClient::create(server.clientConfig());
  ASSERT_TRUE(client.ok());
  PagedSink sink;
  ReflectorOptions options;
  options.query = {"/api/v1/pods", "", ""};
  options.page_size = 2;
  Reflector reflector(**client, sink, options);
  std::thread thread([&] { reflector.run(); });
  ASSERT_TRUE(eventually([&] { return reflector.synced(); }, kWait));
  reflector.stop();
  thread.join();
  EXPECT_EQ(sink.calls(), (std::vector<std::string>{"begin", "page 2", "page 2", "page 1", "end"}));
  EXPECT_EQ(sink.replaces(), 0);
}

TEST_F(ReflectorTest, ExpiredVersionRelistsAndDropsWhatIsGone) {
  for (int i = 0; i < 3; ++i)
    server_.store().create(Kind::kPods, makePod({.name = "p" + std::to_string(i)}));
  start();
  ASSERT_TRUE(
      eventually([&] { return reflector_->synced() && server_.openWatches() >= 1; }, kWait));
  // Changes the watch never reports: only the relist after the 410 shows them.
  server_.setStalled(true);
  server_.store().remove(Kind::kPods, "ml/p1");
  server_.store().create(Kind::kPods, makePod({.name = "p9"}));
  server_.expireWatches();
  server_.setStalled(false);
  ASSERT_TRUE(eventually([&] { return sink_.replaces() == 2; }, kWait));
  EXPECT_EQ(sink_.names(), (std::set<std::string>{"p0", "p2", "p9"}));
  EXPECT_EQ(reflector_->stats().expired, 1);
}

TEST_F(ReflectorTest, FailuresBackOffLongerEachTimeAndResetAfterSuccess) {
  ReflectorOptions options;
  options.backoff_initial = milliseconds(100);
  options.backoff_max = milliseconds(1000);
  options.jitter = 0.0;
  server_.failNext(3, 500, "/api/v1/pods");  // three failed lists in a row
  start(options);
  ASSERT_TRUE(eventually([&] { return reflector_->synced(); }, kWait));
  EXPECT_EQ(sleeps(),
            (std::vector<milliseconds>{milliseconds(100), milliseconds(200), milliseconds(400)}));
  EXPECT_EQ(reflector_->stats().failures, 3);
  // The next failure (a watch cut mid-event) starts again from the initial delay.
  server_.dropWatchesMidEvent();
  ASSERT_TRUE(eventually([&] { return sleeps().size() == 4; }, kWait));
  EXPECT_EQ(sleeps().back(), milliseconds(100));
}

TEST_F(ReflectorTest, StopEndsAStalledWatchWithoutWaitingForItsTimeout) {
  ReflectorOptions options;
  options.sleep = nullptr;  // the real, interruptible wait
  start(options, std::chrono::minutes(10));
  ASSERT_TRUE(
      eventually([&] { return reflector_->synced() && server_.openWatches() >= 1; }, kWait));
  server_.setStalled(true);
  const auto before = std::chrono::steady_clock::now();
  reflector_->stop();
  thread_.join();
  // Not a speed check: either the cancel reached the blocked read, or the
  // thread sat out the 10-minute idle timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::minutes(1));
}

// A bookmark is no event of a pod: it goes to bookmark() (the cluster cache
// settles what a relist left open there), and the watch resumes after it.
TEST_F(ReflectorTest, BookmarksGoToTheSinkApartFromEvents) {
  server_.store().create(Kind::kPods, makePod({.name = "p0"}));
  start();
  ASSERT_TRUE(
      eventually([&] { return reflector_->synced() && server_.openWatches() == 1; }, kWait));
  server_.sendBookmarks();
  ASSERT_TRUE(eventually([&] { return sink_.bookmarks() == 1; }, kWait));
  server_.store().create(Kind::kPods, makePod({.name = "p1"}));
  ASSERT_TRUE(eventually([&] { return sink_.events().size() == 1; }, kWait));
  EXPECT_EQ(sink_.events(), std::vector<std::string>{"ADDED p1"});
}

}  // namespace
}  // namespace mpshare::platform
