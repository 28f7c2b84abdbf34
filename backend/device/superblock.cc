#include "backend/device/superblock.h"

#include <sys/random.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>

#include "common/log.h"

namespace pnfsgw::backend::device {
namespace {

void put_le(uint8_t* p, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

uint32_t block_crc(const uint8_t* block) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), block, kCrcOffset));
}

Status random_uuid(std::array<uint8_t, 16>& uuid) {
  size_t got = 0;
  while (got < uuid.size()) {
    ssize_t n = getrandom(uuid.data() + got, uuid.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::error(errno);
    got += n;
  }
  uuid[6] = (uuid[6] & 0x0f) | 0x40;  // version 4
  uuid[8] = (uuid[8] & 0x3f) | 0x80;  // variant 10
  return Status::ok();
}

}  // namespace

std::array<uint8_t, kSuperblockSize> encode_superblock(const Superblock& sb) {
  std::array<uint8_t, kSuperblockSize> b{};
  std::copy(kSuperblockMagic.begin(), kSuperblockMagic.end(), b.begin() + kMagicOffset);
  put_le(&b[kVersionOffset], sb.version, 4);
  put_le(&b[kBlockSizeOffset], sb.block_size, 4);
  std::copy(sb.uuid.begin(), sb.uuid.end(), b.begin() + kUuidOffset);
  put_le(&b[kDeviceSizeOffset], sb.device_size, 8);
  put_le(&b[kCrcOffset], block_crc(b.data()), 4);
  return b;
}

Result<Superblock> decode_superblock(std::span<const uint8_t, kSuperblockSize> b) {
  if (!std::equal(kSuperblockMagic.begin(), kSuperblockMagic.end(), b.begin() + kMagicOffset)) {
    PLOG_ERROR("device: not a pnfsgw device (bad superblock magic)");
    return Result<Superblock>::error(EINVAL);
  }
  if (get_le(&b[kCrcOffset], 4) != block_crc(b.data())) {
    PLOG_ERROR("device: superblock damaged (crc mismatch)");
    return Result<Superblock>::error(EIO);
  }
  Superblock sb;
  sb.version = static_cast<uint32_t>(get_le(&b[kVersionOffset], 4));
  sb.block_size = static_cast<uint32_t>(get_le(&b[kBlockSizeOffset], 4));
  std::copy_n(b.begin() + kUuidOffset, sb.uuid.size(), sb.uuid.begin());
  sb.device_size = get_le(&b[kDeviceSizeOffset], 8);
  if (sb.version != kSuperblockVersion) {
    PLOG_ERROR("device: superblock version %u, this build reads %u", sb.version,
               kSuperblockVersion);
    return Result<Superblock>::error(EINVAL);
  }
  return sb;
}

Result<Superblock> format(Device& dev) {
  if (dev.size() < 2ull * kBlockSize || dev.block_size() != kBlockSize) {
    return Result<Superblock>::error(EINVAL);
  }
  Superblock sb;
  sb.device_size = dev.size();
  if (Status st = random_uuid(sb.uuid); !st) return st;
  auto block = encode_superblock(sb);
  if (Status st = dev.write(0, block); !st) return st;
  if (Status st = dev.flush(); !st) return st;
  return sb;
}

Result<Superblock> read_superblock(Device& dev) {
  if (dev.size() < kSuperblockSize) return Result<Superblock>::error(EINVAL);
  std::array<uint8_t, kSuperblockSize> block;
  if (Status st = dev.read(0, block); !st) return st;
  Result<Superblock> sb = decode_superblock(block);
  if (!sb) return sb;
  if (sb->block_size != dev.block_size()) {
    PLOG_ERROR("device: superblock block size %u, device has %u", sb->block_size, dev.block_size());
    return Result<Superblock>::error(EINVAL);
  }
  if (sb->device_size != dev.size()) {
    PLOG_ERROR("device: formatted for %llu bytes, device has %llu",
               static_cast<unsigned long long>(sb->device_size),
               static_cast<unsigned long long>(dev.size()));
    return Result<Superblock>::error(EINVAL);
  }
  return sb;
}

}  // namespace pnfsgw::backend::device
