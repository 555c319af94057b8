#include "core/slots.h"

#include <gtest/gtest.h>

namespace mpshare::core {
namespace {

TEST(SlotsTest, NamesASlotEverywhereItAppears) {
  EXPECT_EQ(slotId(0), "slot-000");
  EXPECT_EQ(slotId(3), "slot-003");
  EXPECT_EQ(slotId(383), "slot-383");
  EXPECT_EQ(slotId(1000), "slot-1000");
  EXPECT_EQ(cdiDeviceName(3), "mpshare.io/gpu=slot-003");
  EXPECT_EQ(cdiAnnotationKey(3), "cdi.k8s.io/mpshare_slot-003");
  EXPECT_EQ(cdiSpecFileName(3), "mpshare.io-gpu-slot-003.json");
}

TEST(SlotsTest, ParsesOnlySlotsOfThisNode) {
  struct Case {
    const char* id;
    int slot_count;
    int want;  // -1: error
  };
  const Case cases[] = {
      {"slot-000", 96, 0},  {"slot-095", 96, 95},   {"slot-096", 96, -1}, {"slot-1000", 2000, 1000},
      {"slot-3", 96, -1},   {"slot-0003", 96, -1},  {"slot--01", 96, -1}, {"slot-+01", 96, -1},
      {"slot-", 96, -1},    {"GPU-abc::0", 96, -1}, {"", 96, -1},         {"slot-001 ", 96, -1},
      {"Slot-001", 96, -1}, {"slot-00a", 96, -1},   {"slot-000", 0, -1},
  };
  for (const auto& c : cases) {
    const auto parsed = parseSlotId(c.id, c.slot_count);
    if (c.want < 0) {
      ASSERT_FALSE(parsed.ok()) << c.id;
      EXPECT_NE(parsed.error().message.find(c.id), std::string::npos) << parsed.error().message;
    } else {
      ASSERT_TRUE(parsed.ok()) << c.id << ": " << parsed.error().describe();
      EXPECT_EQ(*parsed, c.want);
    }
  }
  const auto error = parseSlotId("slot-500", 96);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.error().describe(),
            "device ID: \"slot-500\" is not an mpshare slot of this node (slot-000...slot-095)");
}

TEST(SlotsTest, ReconcileTouchesOnlyItsOwnSpecFiles) {
  for (int slot : {0, 7, 95, 384}) {
    EXPECT_EQ(slotOfSpecFileName(cdiSpecFileName(slot)), slot);
  }
  for (const char* name :
       {"nvidia.yaml", "mpshare.io-gpu-slot-003.json.tmp-1", "mpshare.io-gpu-slot-3.json",
        "mpshare.io-gpu-slot-.json", "mpshare.io-gpu-.json", "other-gpu-slot-003.json",
        "mpshare.io-gpu-slot-003.yaml"}) {
    EXPECT_EQ(slotOfSpecFileName(name), -1) << name;
  }
}

TEST(SlotsTest, DownGpusTakeTheirShareOfSlotsOutOfAllocatable) {
  struct Case {
    const char* name;
    int slot_count;
    int per_gpu;
    std::map<int, int> bound;
    std::set<int> down;
    std::vector<bool> want;
  };
  const Case cases[] = {
      {"all up", 4, 2, {{0, 1}}, {}, {true, true, true, true}},
      {"bound slot of the down GPU first", 4, 2, {{0, 1}}, {1}, {false, true, true, false}},
      {"slots of a healthy GPU stay", 4, 2, {{3, 0}}, {1}, {true, false, false, true}},
      {"both down", 4, 2, {{0, 0}, {1, 1}}, {0, 1}, {false, false, false, false}},
      {"bound beyond the share still unhealthy",
       4,
       1,
       {{0, 1}, {1, 1}},
       {1},
       {false, false, true, true}},
      {"not enough unbound slots", 3, 2, {{0, 0}, {1, 0}}, {1}, {true, true, false}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(slotHealth(c.slot_count, c.per_gpu, c.bound, c.down), c.want) << c.name;
  }
}

}  // namespace
}  // namespace mpshare::core
