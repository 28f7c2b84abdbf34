// A run of physical device blocks. Plain fields so it can be stored as a KV
// record value as is.
#pragma once
#include <cstdint>

namespace pnfsgw::store {

// Block size of the extent store. Offsets in extent maps and the allocator are
// in blocks of this size.
inline constexpr uint64_t kBlockSize = 4096;

struct PhysRange {
  uint64_t pblk = 0;
  uint64_t len = 0;
  bool operator==(const PhysRange&) const = default;
};

}  // namespace pnfsgw::store
