// Fore-channel slot table rules (RFC 8881 2.10.6.1).
#include "client/slot_table.h"

#include <gtest/gtest.h>

#include <thread>

namespace pnfsgw::client {
namespace {
using namespace std::chrono_literals;

TEST(SlotTable, NewSlotsStartAtSeqidOneAndAdvanceOnlyWhenConsumed) {
  SlotTable t(2);
  auto s = t.acquire(1s);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->slotid, 0u);
  EXPECT_EQ(s->sequenceid, 1u);
  t.release(0, /*advance=*/false);  // e.g. SEQUENCE answered NFS4ERR_DELAY
  EXPECT_EQ(t.sequenceid(0), 1u);
  s = t.acquire(1s);
  t.release(s->slotid, true);
  EXPECT_EQ(t.sequenceid(0), 2u);
}

TEST(SlotTable, BusySlotsAreSkippedAndHighestSlotidReportsTheHighestInUse) {
  SlotTable t(3);
  auto a = t.acquire(1s);
  auto b = t.acquire(1s);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(b->slotid, 1u);
  EXPECT_EQ(b->highest_slotid, 1u);
  t.release(a->slotid, true);
  auto c = t.acquire(1s);
  EXPECT_EQ(c->slotid, 0u);
  EXPECT_EQ(c->sequenceid, 2u);
  EXPECT_EQ(c->highest_slotid, 1u);
}

TEST(SlotTable, AcquireWaitsForAFreeSlotOrTimesOut) {
  SlotTable t(1);
  auto a = t.acquire(1s);
  ASSERT_TRUE(a);
  EXPECT_EQ(t.acquire(50ms).err(), ETIMEDOUT);
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    t.release(0, true);
  });
  auto b = t.acquire(5s);
  releaser.join();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->sequenceid, 2u);
}

TEST(SlotTable, RetiredSlotsAreNeverReusedAndAllRetiredIsAnError) {
  SlotTable t(2);
  auto a = t.acquire(1s);
  t.retire(a->slotid);
  auto b = t.acquire(1s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->slotid, 1u);
  t.retire(b->slotid);
  EXPECT_EQ(t.acquire(1s).err(), EIO);
}

TEST(SlotTable, ServerHighestSlotidLimitsUsableSlots) {
  SlotTable t(4);
  t.set_server_highest(0);
  auto a = t.acquire(1s);
  ASSERT_TRUE(a);
  EXPECT_EQ(t.acquire(20ms).err(), ETIMEDOUT);
  t.set_server_highest(3);
  auto b = t.acquire(1s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->slotid, 1u);
}

}  // namespace
}  // namespace pnfsgw::client
