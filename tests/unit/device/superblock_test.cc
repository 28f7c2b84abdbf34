// Superblock: format/read round trip and detection of damage.
#include "backend/device/superblock.h"

#include <gtest/gtest.h>

#include <vector>

#include "backend/device/fault_device.h"
#include "backend/device/mem_device.h"
#include "common/log.h"

namespace pnfsgw::backend::device {
namespace {

constexpr uint64_t kSize = 16 * kBlockSize;

class SuperblockTest : public ::testing::Test {
 protected:
  // read_superblock logs each rejection; keep the 4096-case loop quiet.
  void SetUp() override {
    saved_ = log_level();
    set_log_level(LogLevel::kError);
  }
  void TearDown() override { set_log_level(saved_); }
  LogLevel saved_ = LogLevel::kInfo;
};

TEST_F(SuperblockTest, FormatThenReadRoundTrips) {
  MemDevice dev(kSize);
  auto sb = format(dev);
  ASSERT_TRUE(sb.is_ok()) << sb.err();
  EXPECT_EQ(sb->device_size, kSize);
  EXPECT_EQ(sb->block_size, kBlockSize);
  EXPECT_EQ(sb->version, kSuperblockVersion);
  EXPECT_EQ(sb->uuid[6] >> 4, 4);  // RFC 9562 version 4
  auto got = read_superblock(dev);
  ASSERT_TRUE(got.is_ok()) << got.err();
  EXPECT_EQ(*got, *sb);
}

TEST_F(SuperblockTest, MagicAndUuidSitAtFixedOffsets) {
  MemDevice dev(kSize);
  auto sb = format(dev);
  ASSERT_TRUE(sb.is_ok());
  std::vector<uint8_t> block(kSuperblockSize);
  ASSERT_TRUE(dev.read(0, block));
  EXPECT_EQ(std::string(block.begin(), block.begin() + 8), "PNFSGWSB");
  EXPECT_TRUE(std::equal(sb->uuid.begin(), sb->uuid.end(), block.begin() + kUuidOffset));
}

TEST_F(SuperblockTest, FormatIsDurable) {
  FaultDevice dev(kSize);
  ASSERT_TRUE(format(dev).is_ok());
  dev.crash();
  EXPECT_TRUE(read_superblock(dev).is_ok());
}

TEST_F(SuperblockTest, EverySingleByteCorruptionIsDetected) {
  MemDevice dev(kSize);
  ASSERT_TRUE(format(dev).is_ok());
  std::vector<uint8_t> good(kSuperblockSize);
  ASSERT_TRUE(dev.read(0, good));
  for (uint32_t i = 0; i < kSuperblockSize; ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xFF}) {
      auto bad = good;
      bad[i] ^= flip;
      ASSERT_TRUE(dev.write(0, bad));
      auto r = read_superblock(dev);
      ASSERT_FALSE(r.is_ok()) << "byte " << i << " ^ " << int(flip);
      EXPECT_EQ(r.err(), i < 8 ? EINVAL : EIO) << "byte " << i;
    }
  }
}

TEST_F(SuperblockTest, BlankDeviceIsNotAPnfsgwDevice) {
  MemDevice dev(kSize);
  EXPECT_EQ(read_superblock(dev).err(), EINVAL);
}

TEST_F(SuperblockTest, WrongMagicIsEinvalEvenWithValidCrc) {
  Superblock sb;
  sb.device_size = kSize;
  auto block = encode_superblock(sb);
  block[0] = 'X';  // crc no longer matches either; magic is checked first
  MemDevice dev(kSize);
  ASSERT_TRUE(dev.write(0, block));
  EXPECT_EQ(read_superblock(dev).err(), EINVAL);
}

TEST_F(SuperblockTest, SizeMismatchIsEinval) {
  MemDevice small(kSize);
  ASSERT_TRUE(format(small).is_ok());
  std::vector<uint8_t> block(kSuperblockSize);
  ASSERT_TRUE(small.read(0, block));
  MemDevice bigger(2 * kSize);
  ASSERT_TRUE(bigger.write(0, block));
  EXPECT_EQ(read_superblock(bigger).err(), EINVAL);
}

TEST_F(SuperblockTest, UnknownVersionIsEinval) {
  Superblock sb;
  sb.device_size = kSize;
  sb.version = kSuperblockVersion + 1;
  MemDevice dev(kSize);
  ASSERT_TRUE(dev.write(0, encode_superblock(sb)));
  EXPECT_EQ(read_superblock(dev).err(), EINVAL);
}

TEST_F(SuperblockTest, TwoFormatsGetDifferentUuids) {
  MemDevice a(kSize), b(kSize);
  auto sa = format(a), sb = format(b);
  ASSERT_TRUE(sa.is_ok() && sb.is_ok());
  EXPECT_NE(sa->uuid, sb->uuid);
}

TEST_F(SuperblockTest, TooSmallDeviceCannotBeFormatted) {
  MemDevice dev(kBlockSize);
  EXPECT_EQ(format(dev).err(), EINVAL);
}

TEST_F(SuperblockTest, ReadErrorIsPassedUp) {
  FaultDevice dev(kSize);
  ASSERT_TRUE(format(dev).is_ok());
  dev.fail_range(0, 1);
  EXPECT_EQ(read_superblock(dev).err(), EIO);
}

}  // namespace
}  // namespace pnfsgw::backend::device
