// FaultDevice: what survives crash(), torn writes, injected EIO, counters.
#include "backend/device/fault_device.h"

#include <gtest/gtest.h>

#include <vector>

namespace pnfsgw::backend::device {
namespace {

constexpr uint64_t kSize = 64 * kBlockSize;

std::vector<uint8_t> filled(size_t n, uint8_t v) { return std::vector<uint8_t>(n, v); }

std::vector<uint8_t> read_all(Device& dev, uint64_t off, size_t n) {
  std::vector<uint8_t> v(n);
  EXPECT_TRUE(dev.read(off, v));
  return v;
}

TEST(FaultDevice, UnflushedWritesVanishOnCrash) {
  FaultDevice dev(kSize);
  ASSERT_TRUE(dev.write(100, filled(9000, 1)));
  EXPECT_EQ(read_all(dev, 100, 9000), filled(9000, 1));  // visible before the crash
  dev.crash();
  EXPECT_EQ(read_all(dev, 0, kSize), filled(kSize, 0));
  EXPECT_EQ(dev.dirty_blocks(), 0u);
}

TEST(FaultDevice, FlushedWritesSurviveCrash) {
  FaultDevice dev(kSize);
  ASSERT_TRUE(dev.write(100, filled(9000, 1)));
  ASSERT_TRUE(dev.flush());
  ASSERT_TRUE(dev.write(5000, filled(10, 2)));  // after the flush: lost
  dev.crash();
  auto want = filled(kSize, 0);
  std::fill(want.begin() + 100, want.begin() + 9100, 1);
  EXPECT_EQ(read_all(dev, 0, kSize), want);
}

TEST(FaultDevice, FlushRangePersistsOnlyBlocksItCovers) {
  FaultDevice dev(kSize);
  ASSERT_TRUE(dev.write(0, filled(kBlockSize, 1)));
  ASSERT_TRUE(dev.write(10 * kBlockSize, filled(kBlockSize, 2)));
  ASSERT_TRUE(dev.flush_range(10 * kBlockSize + 5, 1));
  EXPECT_EQ(dev.dirty_blocks(), 1u);
  dev.crash();
  EXPECT_EQ(read_all(dev, 0, kBlockSize), filled(kBlockSize, 0));
  EXPECT_EQ(read_all(dev, 10 * kBlockSize, kBlockSize), filled(kBlockSize, 2));
}

// Which of the 32 dirty blocks survived a torn crash (bitmask).
uint64_t survivors_after_torn_crash(uint64_t seed) {
  FaultDevice dev(kSize);
  for (uint64_t i = 0; i < 32; ++i) EXPECT_TRUE(dev.write(i * kBlockSize, filled(kBlockSize, 9)));
  dev.crash(seed);
  uint64_t mask = 0;
  for (uint64_t i = 0; i < 32; ++i) {
    auto b = read_all(dev, i * kBlockSize, kBlockSize);
    if (b == filled(kBlockSize, 9)) {
      mask |= 1ull << i;
    } else {
      EXPECT_EQ(b, filled(kBlockSize, 0)) << "block " << i << " partly written";
    }
  }
  return mask;
}

TEST(FaultDevice, TornCrashKeepsASubsetOfBlocksDeterminedBySeed) {
  uint64_t a = survivors_after_torn_crash(42);
  EXPECT_EQ(a, survivors_after_torn_crash(42));
  EXPECT_NE(a, 0u);                // some survive ...
  EXPECT_NE(a, (1ull << 32) - 1);  // ... but not all
  EXPECT_NE(a, survivors_after_torn_crash(43));
}

TEST(FaultDevice, FailRangeGivesEioOnlyInsideTheRange) {
  FaultDevice dev(kSize);
  std::vector<uint8_t> buf(10);
  dev.fail_range(1000, 100);
  EXPECT_EQ(dev.read(1000, buf).err(), EIO);
  EXPECT_EQ(dev.read(1095, buf).err(), EIO);  // overlaps the tail
  EXPECT_EQ(dev.read(991, buf).err(), EIO);   // overlaps the head
  EXPECT_TRUE(dev.read(990, buf));            // ends just before
  EXPECT_TRUE(dev.read(1100, buf));           // starts just after
  EXPECT_TRUE(dev.write(1000, buf));          // writes not failed unless asked
  dev.fail_range(2000, 10, /*fail_writes=*/true);
  EXPECT_EQ(dev.write(2005, buf).err(), EIO);
  EXPECT_TRUE(dev.write(2010, buf));
  dev.clear_fail();
  EXPECT_TRUE(dev.read(1000, buf));
  EXPECT_TRUE(dev.write(2005, buf));
}

TEST(FaultDevice, CountsWritesAndFlushes) {
  FaultDevice dev(kSize);
  std::vector<uint8_t> buf(10);
  ASSERT_TRUE(dev.write(0, buf));
  ASSERT_TRUE(dev.write(10, buf));
  ASSERT_TRUE(dev.flush());
  ASSERT_TRUE(dev.flush_range(0, 1));
  EXPECT_EQ(dev.write(kSize, buf).err(), EINVAL);  // rejected calls do not count
  EXPECT_EQ(dev.writes(), 2u);
  EXPECT_EQ(dev.flushes(), 2u);
}

TEST(FaultDevice, PartialLastBlockWorks) {
  FaultDevice dev(kBlockSize + 100);
  ASSERT_TRUE(dev.write(kBlockSize + 50, filled(50, 4)));
  ASSERT_TRUE(dev.flush());
  dev.crash();
  EXPECT_EQ(read_all(dev, kBlockSize + 50, 50), filled(50, 4));
}

TEST(FaultDevice, PowerCutFailsWritesAndFlushesAfterTheBudget) {
  FaultDevice dev(kSize);
  dev.power_cut_after(2);
  EXPECT_FALSE(dev.power_cut());
  ASSERT_TRUE(dev.write(0, filled(kBlockSize, 1)));
  EXPECT_FALSE(dev.power_cut());
  ASSERT_TRUE(dev.flush());
  EXPECT_TRUE(dev.power_cut());  // the budget is used up: the power is gone
  EXPECT_EQ(dev.write(kBlockSize, filled(kBlockSize, 2)).err(), EIO);
  EXPECT_EQ(dev.flush().err(), EIO);
  EXPECT_EQ(dev.flush_range(0, kBlockSize).err(), EIO);
  EXPECT_EQ(read_all(dev, 0, kBlockSize), filled(kBlockSize, 1));  // reads still work
  EXPECT_EQ(read_all(dev, kBlockSize, kBlockSize), filled(kBlockSize, 0));  // nothing changed
  EXPECT_EQ(dev.writes(), 1u);
  EXPECT_EQ(dev.flushes(), 1u);
}

TEST(FaultDevice, PowerCutLosesWritesBeforeItUnlessFlushed) {
  FaultDevice dev(kSize);
  ASSERT_TRUE(dev.write(0, filled(kBlockSize, 1)));
  ASSERT_TRUE(dev.flush());
  dev.power_cut_after(1);
  ASSERT_TRUE(dev.write(0, filled(kBlockSize, 2)));  // accepted into the cache
  EXPECT_EQ(dev.flush().err(), EIO);                  // the cut came first
  dev.crash();
  EXPECT_EQ(read_all(dev, 0, kBlockSize), filled(kBlockSize, 1));
}

TEST(FaultDevice, PowerCutAfterZeroIsImmediateAndCrashRestoresPower) {
  FaultDevice dev(kSize);
  dev.power_cut_after(0);
  EXPECT_TRUE(dev.power_cut());
  EXPECT_EQ(dev.write(0, filled(10, 1)).err(), EIO);
  dev.crash(7);
  EXPECT_FALSE(dev.power_cut());
  ASSERT_TRUE(dev.write(0, filled(10, 3)));
  ASSERT_TRUE(dev.flush());
  EXPECT_EQ(read_all(dev, 0, 10), filled(10, 3));
}

TEST(FaultDevice, RejectedAndInjectedFailuresDoNotUseThePowerCutBudget) {
  FaultDevice dev(kSize);
  dev.fail_range(0, kBlockSize, true);
  dev.power_cut_after(1);
  EXPECT_EQ(dev.write(0, filled(10, 1)).err(), EIO);      // injected media error
  EXPECT_EQ(dev.write(kSize, filled(10, 1)).err(), EINVAL);  // outside the device
  EXPECT_FALSE(dev.power_cut());
  ASSERT_TRUE(dev.write(kBlockSize, filled(10, 1)));
  EXPECT_TRUE(dev.power_cut());
}

}  // namespace
}  // namespace pnfsgw::backend::device
