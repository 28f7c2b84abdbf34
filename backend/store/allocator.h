// Allocator: free space of a device of N blocks.
//
// Owns two indexes of the same free extents: by start (to coalesce on free
// and to find space at a goal) and by (length, start) (best fit). Both hold
// plain values, so each free extent can later be a KV record keyed by start.
// Invariants (check()): the indexes agree, extents are inside the device,
// len > 0, sorted, non-overlapping and fully coalesced (never adjacent), and
// their sum is free_blocks().
//
// Complexity: allocate is O(log n) per piece returned (the goal probe looks at
// most kGoalProbe extents); free and reserve are O(log n).
//
// Not thread-safe: the store serializes (one allocation transaction at a time).
// Quarantine is not here: blocks displaced under a BreakToken come back
// through ExtentBreaker::release_quarantine before they are free()d.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "backend/store/phys_range.h"
#include "common/result.h"

namespace pnfsgw::store {

class Allocator {
 public:
  // How many free extents at/after the goal are tried before best fit.
  static constexpr int kGoalProbe = 4;

  // A device of nblocks blocks, all free.
  explicit Allocator(uint64_t nblocks);

  // Allocates len blocks. Prefers one contiguous run starting at goal (or in
  // the first few free extents after it: files stay contiguous when goal is
  // the block after their last extent), then the best fitting (smallest
  // sufficient) free extent, then several pieces, largest first. Pieces are
  // returned in the order they should be mapped. ENOSPC (nothing allocated)
  // if fewer than len blocks are free; EINVAL if len == 0.
  Result<std::vector<PhysRange>> allocate(uint64_t len, uint64_t goal = 0);

  // Returns [pblk, pblk+len) to free space, coalescing with its neighbours.
  // EINVAL, with nothing changed, if any block of it is already free or lies
  // outside the device (a double free is a bug upstream, never corruption).
  Status free(uint64_t pblk, uint64_t len);

  // Marks [pblk, pblk+len) used; EINVAL unless all of it is free. For loading
  // state and for placing metadata at fixed blocks.
  Status reserve(uint64_t pblk, uint64_t len);

  uint64_t device_blocks() const { return nblocks_; }
  uint64_t free_blocks() const { return free_; }
  size_t free_extents() const { return by_start_.size(); }
  uint64_t largest_free() const { return by_len_.empty() ? 0 : by_len_.rbegin()->first; }
  std::vector<PhysRange> free_list() const;  // O(n), by start
  // Free extents overlapping [lo, hi), by start: O(log n + k). The store uses
  // it to mirror a changed region of free space into its KV records.
  std::vector<PhysRange> free_overlapping(uint64_t lo, uint64_t hi) const;

  // Verifies the invariants; EUCLEAN with a reason on stderr if broken.
  Status check() const;

 private:
  using ByStart = std::map<uint64_t, uint64_t>;           // start -> len
  using ByLen = std::set<std::pair<uint64_t, uint64_t>>;  // (len, start)

  void add_free(uint64_t pblk, uint64_t len);
  void remove_free(ByStart::iterator it);
  // Takes [pblk, pblk+len) out of the free extent `it`, which contains it.
  void carve(ByStart::iterator it, uint64_t pblk, uint64_t len);
  // A run of len blocks at/after goal, or false.
  bool try_goal(uint64_t len, uint64_t goal, PhysRange* out);

  uint64_t nblocks_;
  uint64_t free_ = 0;
  ByStart by_start_;
  ByLen by_len_;
};

}  // namespace pnfsgw::store
