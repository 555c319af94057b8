// Feeds the fuzz entry point the seed corpus (every golden request) and a few
// thousand seeded mutations of it, so CI exercises the parser's error paths
// without a fuzzing toolchain. Deterministic: a failure reproduces by its seed.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "tests/support/json_mutation.h"
#include "tests/webhook/admission_fuzz_entry.h"
#include "webhook/review.h"

namespace mpshare::webhook::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> seedCorpus() {
  std::vector<std::string> corpus;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(MPSHARE_SOURCE_DIR) /
                                                            "tests/fixtures/admission")) {
    if (entry.path().filename() != "request.json") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    corpus.push_back(ss.str());
  }
  return corpus;
}

std::string check(const std::string& input) {
  return checkReviewInvariants(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

// Byte-level: flip, insert, delete, truncate, duplicate a span.
std::string mutateBytes(std::string s, std::mt19937& rng) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  const char kInteresting[] = "{}[]\":,\\0-1e9 \x00\xff";
  for (int i = 0; i < edits && !s.empty(); ++i) {
    const size_t at = rng() % s.size();
    switch (rng() % 5) {
      case 0:
        s[at] = static_cast<char>(rng());
        break;
      case 1:
        s.insert(at, 1, kInteresting[rng() % (sizeof(kInteresting) - 1)]);
        break;
      case 2:
        s.erase(at, 1 + rng() % 8);
        break;
      case 3:
        s.resize(at);
        break;
      default:
        s.insert(at, s.substr(at, rng() % 32));
        break;
    }
  }
  return s;
}

// Structure-level replacements: values of other types, and the strings the
// rules read (counts, quantities, operations, names needing escapes).
const std::vector<json> kReplacements = {nullptr,
                                         0,
                                         -1,
                                         3.5,
                                         "",
                                         "130",
                                         "-4Gi",
                                         "1e400",
                                         true,
                                         json::array(),
                                         json::object(),
                                         "nvidia.com/gpu",
                                         "2",
                                         "CREATE",
                                         json::array({json::object()}),
                                         "\u00e9~/"};

TEST(AdmissionFuzzTest, SeedCorpusKeepsInvariants) {
  const auto corpus = seedCorpus();
  ASSERT_GE(corpus.size(), 15u);
  for (const auto& seed : corpus) EXPECT_EQ(check(seed), "");
}

TEST(AdmissionFuzzTest, SeededMutationsKeepInvariants) {
  const auto corpus = seedCorpus();
  std::mt19937 rng(20261124);
  // Answers of each kind to the structure-level mutations: the invariants are
  // only shown to hold for the kinds the mutations reach. (Most mutations break
  // the request; with this seed about 2 % of them reach each of the rules' answers.)
  std::map<ReviewOutcome, int> tree_outcomes;
  for (int i = 0; i < 4000; ++i) {
    const std::string& seed = corpus[rng() % corpus.size()];
    std::string input;
    if (i % 2 == 0) {
      input = mutateBytes(seed, rng);
    } else {
      json tree = json::parse(seed);
      for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k)
        testing_support::mutateTree(tree, rng, kReplacements);
      input = tree.dump();
      ++tree_outcomes[reviewAdmission(input, Config{}).outcome];
    }
    const std::string broken = check(input);
    ASSERT_EQ(broken, "") << "iteration " << i << " input: " << input.substr(0, 2000);
  }
  for (const ReviewOutcome outcome : {ReviewOutcome::kBadRequest, ReviewOutcome::kDenied,
                                      ReviewOutcome::kPatched, ReviewOutcome::kAllowed}) {
    EXPECT_GE(tree_outcomes[outcome], 20) << outcomeLabel(outcome);
  }
}

TEST(AdmissionFuzzTest, ArbitraryBytesAreRejectedCleanly) {
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string input(rng() % 256, '\0');
    for (auto& c : input) c = static_cast<char>(rng());
    ASSERT_EQ(check(input), "") << i;
  }
}

}  // namespace
}  // namespace mpshare::webhook::testing
