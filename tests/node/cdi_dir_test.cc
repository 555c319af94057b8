#include "node/cdi_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/slots.h"
#include "tests/node/temp_dir.h"
#include "tests/support/read_file.h"

namespace mpshare::node {
namespace {

namespace fs = std::filesystem;

class CdiDirTest : public ::testing::Test {
 protected:
  [[nodiscard]] std::string file(const std::string& name) const { return temp_.file(name); }
  static void touch(const std::string& path, const std::string& text = "x") {
    std::ofstream(path) << text;
  }

  testing_support::TempDir temp_;
  const std::string dir_ = temp_.path().string();
};

TEST_F(CdiDirTest, WritesListsAndRemovesSlotSpecs) {
  ASSERT_TRUE(writeSlotSpec(dir_, 12, "{\"a\": 1}\n").ok());
  ASSERT_TRUE(writeSlotSpec(dir_, 3, "{}\n").ok());
  EXPECT_EQ(testing_support::readFile(file("mpshare.io-gpu-slot-012.json")), "{\"a\": 1}\n");
  struct stat info {};
  ASSERT_EQ(::stat(file("mpshare.io-gpu-slot-003.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644U);

  // Rewriting replaces the file whole.
  ASSERT_TRUE(writeSlotSpec(dir_, 3, "{\"b\": 2}\n").ok());
  EXPECT_EQ(testing_support::readFile(file("mpshare.io-gpu-slot-003.json")), "{\"b\": 2}\n");

  auto slots = slotSpecsIn(dir_);
  ASSERT_TRUE(slots.ok()) << slots.error().describe();
  EXPECT_EQ(*slots, (std::vector<int>{3, 12}));

  ASSERT_TRUE(removeSlotSpec(dir_, 3).ok());
  ASSERT_TRUE(removeSlotSpec(dir_, 3).ok());  // already gone: fine
  EXPECT_EQ(*slotSpecsIn(dir_), (std::vector<int>{12}));
  // Only the spec files remain: no temporary file was left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(CdiDirTest, LeavesForeignAndTemporaryFilesAlone) {
  const std::vector<std::string> foreign = {
      "nvidia.yaml",                                   // NVIDIA's own spec
      "nvidia.com-gpu.json",                           // another vendor file
      "mpshare.io-gpu-slot-3.json",                    // not a name mpshare writes
      "mpshare.io-gpu-slot-003.yaml",                  // wrong extension
      "mpshare.io-gpu-slot-004.json.tmp-42-deadbeef",  // an interrupted write
  };
  for (const auto& name : foreign) touch(file(name));
  fs::create_directory(temp_.path() / "mpshare.io-gpu-slot-009.json");  // a directory, not a spec
  ASSERT_TRUE(writeSlotSpec(dir_, 5, "{}").ok());

  auto slots = slotSpecsIn(dir_);
  ASSERT_TRUE(slots.ok());
  EXPECT_EQ(*slots, (std::vector<int>{5}));
  ASSERT_TRUE(removeSlotSpec(dir_, 5).ok());
  ASSERT_TRUE(removeSlotSpec(dir_, 4).ok());
  for (const auto& name : foreign) EXPECT_TRUE(fs::exists(file(name))) << name;
}

TEST_F(CdiDirTest, ErrorsNameThePathAndTheReason) {
  const std::string missing = (temp_.path() / "absent").string();
  auto status = writeSlotSpec(missing, 1, "{}");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().field.rfind(missing + "/mpshare.io-gpu-slot-001.json.tmp-", 0), 0U)
      << status.error().describe();
  EXPECT_NE(status.error().message.find("No such file or directory"), std::string::npos);

  // A missing directory holds no specs (nothing to clean up).
  auto slots = slotSpecsIn(missing);
  ASSERT_TRUE(slots.ok());
  EXPECT_TRUE(slots->empty());

  // A directory in the way of the spec file: rename fails, the temp file is gone.
  fs::create_directory(temp_.path() / core::cdiSpecFileName(2));
  touch(file("keep"));
  status = writeSlotSpec(dir_, 2, "{}");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().field, file(core::cdiSpecFileName(2)));
  EXPECT_NE(status.error().message.find("cannot rename"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);

  EXPECT_FALSE(writeSlotSpec(dir_, -1, "{}").ok());
  EXPECT_FALSE(removeSlotSpec(dir_, -1).ok());
}

// Writers replace one slot's spec again and again with documents of different
// sizes while a reader parses it: the reader must never see a part of one.
TEST_F(CdiDirTest, ReadersNeverSeeAPartialFile) {
  const std::string path = file(core::cdiSpecFileName(7));
  ASSERT_TRUE(writeSlotSpec(dir_, 7, "{\"writer\": -1}").ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> bad_reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const std::string text = testing_support::readFile(path);
      if (!nlohmann::json::accept(text)) ++bad_reads;
      ++reads;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 60; ++i) {
        // 10 KiB to 500 KiB: big enough that a plain write would be seen in parts.
        const std::string padding(static_cast<size_t>(10'000 * (1 + (i * 7 + w) % 50)), 'x');
        const std::string text =
            "{\"writer\": " + std::to_string(w) + ", \"pad\": \"" + padding + "\"}\n";
        EXPECT_TRUE(writeSlotSpec(dir_, 7, text).ok());
      }
    });
  }
  for (auto& writer : writers) writer.join();
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(bad_reads.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_EQ(*slotSpecsIn(dir_), (std::vector<int>{7}));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace mpshare::node
