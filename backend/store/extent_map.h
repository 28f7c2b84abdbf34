// ExtentMap: one file's map from logical blocks to physical blocks.
//
// Owns only its entries (plain values, no pointers between records): each
// entry is a future KV record keyed by (file, lblk) with value
// {len, pblk, unwritten}. Copying an ExtentMap is a clone of the mapping (the
// refcounts of the shared blocks are the caller's business).
//
// Invariants (check()): entries sorted by lblk, non-overlapping, len > 0, no
// logical or physical range wraps past 2^64. Adjacent mergeable entries are
// allowed; merge() folds them.
//
// Complexity: a std::map keyed by lblk. lookup is O(log n); query, insert,
// punch, set_unwritten and merge are O(log n + k) where k is the number of
// entries in (or touching) the range; shift is O(k) in the entries moved
// (each is re-keyed with an exact insertion hint, amortized O(1)).
//
// Not thread-safe: the owner (the store, under the inode lock) serializes.
// Mutations here do not break layouts: the store's mutating calls take a
// BreakToken (break.h) and then call into this map.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "backend/store/phys_range.h"
#include "common/result.h"

namespace pnfsgw::store {

struct Extent {
  uint64_t lblk = 0;
  uint64_t len = 0;
  uint64_t pblk = 0;
  bool unwritten = false;  // allocated, reads as zeroes (preallocation)
  uint64_t lend() const { return lblk + len; }
  bool operator==(const Extent&) const = default;
};

class ExtentMap {
 public:
  // Largest logical block + 1 a file may map: byte offsets must fit in 64 bits.
  static constexpr uint64_t kMaxLblk = UINT64_MAX / kBlockSize;

  // The entry covering lblk, else the first entry after it, else nullopt.
  std::optional<Extent> lookup(uint64_t lblk) const;

  // Entries overlapping [lblk, lblk+len) in order, clipped to the range (a
  // clipped entry's pblk is adjusted). Gaps between them are holes.
  std::vector<Extent> query(uint64_t lblk, uint64_t len) const;

  // Maps e.lblk.. to e.pblk.., replacing whatever mapped that range (entries
  // are trimmed or split). Returns the physical ranges no longer mapped, in
  // logical order, for the caller to free, decref or quarantine.
  // EINVAL: len == 0 or a range past kMaxLblk / wrapping.
  Result<std::vector<PhysRange>> insert(const Extent& e);

  // Unmaps [lblk, lblk+len); returns what was displaced as insert() does.
  Result<std::vector<PhysRange>> punch(uint64_t lblk, uint64_t len);

  // Marks every mapped block in [lblk, lblk+len) written or unwritten,
  // splitting entries at the range ends. Holes stay holes.
  Status set_unwritten(uint64_t lblk, uint64_t len, bool unwritten);

  // Insert range: every entry at or after lblk moves up by delta (an entry
  // straddling lblk is split there first). EFBIG if the last one would pass
  // kMaxLblk.
  Status shift_up(uint64_t lblk, uint64_t delta);

  // Collapse range: every entry at or after lblk moves down by delta. The
  // range [lblk-delta, lblk) must already be unmapped (punch it first) and no
  // entry may straddle lblk's gap, else EINVAL and nothing changes.
  Status shift_down(uint64_t lblk, uint64_t delta);

  // Folds logically adjacent entries in or touching [lblk, lblk+len) that are
  // physically contiguous with the same unwritten state.
  void merge(uint64_t lblk, uint64_t len);

  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  uint64_t mapped_blocks() const;   // O(n), for tests and fsck
  std::vector<Extent> all() const;  // O(n)

  // Verifies the invariants; EUCLEAN with a reason on stderr if broken.
  Status check() const;

 private:
  struct Mapping {
    uint64_t len;
    uint64_t pblk;
    bool unwritten;
  };
  using Map = std::map<uint64_t, Mapping>;

  static Extent to_extent(const Map::value_type& kv) {
    return Extent{kv.first, kv.second.len, kv.second.pblk, kv.second.unwritten};
  }
  static bool valid_range(uint64_t lblk, uint64_t len) {
    return len > 0 && lblk <= kMaxLblk && len <= kMaxLblk - lblk;
  }
  // Splits the entry strictly containing b (start < b < end) into two.
  void split_at(uint64_t b);
  // First entry whose end is > lblk.
  Map::const_iterator first_touching(uint64_t lblk) const;
  Map::iterator first_touching(uint64_t lblk);

  Map map_;
};

}  // namespace pnfsgw::store
