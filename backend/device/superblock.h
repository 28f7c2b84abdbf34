// The superblock: block 0 of every pnfsgw device. It names the device (magic
// and UUID at fixed offsets, so pNFS block clients can find the volume by
// signature, RFC 5663 2.2.1) and records what the store was formatted with.
// Layout (little-endian), documented in docs/store.md:
//
//   0    8  magic "PNFSGWSB"
//   8    4  format version (kSuperblockVersion)
//  12    4  block size (4096)
//  16   16  UUID (random at format, RFC 9562 version 4)
//  32    8  device size in bytes at format time
//  40 4052  reserved, zero
//  4092  4  crc32 (zlib) of bytes [0, 4092)
#pragma once
#include <array>
#include <cstdint>
#include <span>

#include "backend/device/device.h"

namespace pnfsgw::backend::device {

inline constexpr uint32_t kSuperblockSize = 4096;
inline constexpr uint32_t kSuperblockVersion = 1;
inline constexpr std::array<uint8_t, 8> kSuperblockMagic = {'P', 'N', 'F', 'S', 'G', 'W', 'S', 'B'};
inline constexpr uint32_t kMagicOffset = 0;
inline constexpr uint32_t kVersionOffset = 8;
inline constexpr uint32_t kBlockSizeOffset = 12;
inline constexpr uint32_t kUuidOffset = 16;
inline constexpr uint32_t kDeviceSizeOffset = 32;
inline constexpr uint32_t kCrcOffset = kSuperblockSize - 4;

struct Superblock {
  std::array<uint8_t, 16> uuid{};
  uint32_t version = kSuperblockVersion;
  uint32_t block_size = kBlockSize;
  uint64_t device_size = 0;
  bool operator==(const Superblock&) const = default;
};

// Writes a fresh superblock with a new random UUID to block 0 and flushes.
// EINVAL if the device is smaller than two blocks.
Result<Superblock> format(Device& dev);

// Reads and validates block 0. EINVAL "not a pnfsgw device" (bad magic),
// EIO "superblock damaged" (bad crc), EINVAL on a version, block size or
// device size this device or build does not match. The reason is logged.
Result<Superblock> read_superblock(Device& dev);

// The 4096 bytes of `sb` (crc filled in), and the inverse (no size check).
std::array<uint8_t, kSuperblockSize> encode_superblock(const Superblock& sb);
Result<Superblock> decode_superblock(std::span<const uint8_t, kSuperblockSize> block);

}  // namespace pnfsgw::backend::device
