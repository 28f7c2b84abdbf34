// DirtyRanges: the bytes written to one file and not yet in the store (the
// write cache, store_cache.cc), as non-overlapping pieces keyed by offset.
//
// A later write replaces what it overlaps. An append to a piece grows that
// piece (up to kMaxAppend), so sequential small writes stay few pieces.
// Not thread-safe: the store guards each file's ranges (store_fs.h).
#pragma once
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace pnfsgw::store {

class DirtyRanges {
 public:
  static constexpr size_t kMaxAppend = 1 << 20;
  using Pieces = std::map<uint64_t, std::vector<uint8_t>>;

  void write(uint64_t off, std::span<const uint8_t> data);
  // Copies the dirty bytes that fall in [off, off + buf.size()) into buf at
  // their places; other bytes of buf are left as they are.
  void overlay(uint64_t off, std::span<uint8_t> buf) const;
  bool overlaps(uint64_t off, uint64_t len) const;

  bool empty() const { return pieces_.empty(); }
  uint64_t bytes() const { return bytes_; }  // dirty bytes (no overlaps)
  size_t count() const { return pieces_.size(); }
  uint64_t end() const { return end_; }  // end of the last piece, 0 if none
  const Pieces& pieces() const { return pieces_; }

 private:
  Pieces pieces_;
  uint64_t bytes_ = 0;
  uint64_t end_ = 0;
};

}  // namespace pnfsgw::store
