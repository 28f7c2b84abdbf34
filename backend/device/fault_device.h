// FaultDevice: a MemDevice behind a volatile write cache, for crash and
// media-error tests.
//
//  - write() lands in a per-4 KiB-block overlay ("volatile"); read() sees it.
//  - flush() moves the whole overlay to the durable MemDevice; flush_range()
//    moves only the blocks overlapping the range.
//  - crash() drops the overlay, as a power cut would. With a seed, a random
//    subset of the unflushed blocks survives instead (real devices tear);
//    the subset depends only on the seed and the set of dirty blocks.
//  - fail_range() makes reads (and, if asked, writes) touching the range fail
//    with EIO until clear_fail().
//  - power_cut_after(n): the next n write()/flush()/flush_range() calls
//    succeed; then the power is gone: power_cut() turns true and every later
//    write or flush fails with EIO and changes nothing (reads still work, so
//    the code running at the cut sees its own writes). crash() restores power.
// Safe from any thread (one mutex).
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "backend/device/mem_device.h"

namespace pnfsgw::backend::device {

class FaultDevice final : public Device {
 public:
  explicit FaultDevice(uint64_t size) : durable_(size) {}

  uint64_t size() const override { return durable_.size(); }
  Status read(uint64_t off, std::span<uint8_t> buf) override;
  Status write(uint64_t off, std::span<const uint8_t> buf) override;
  Status flush() override;
  Status flush_range(uint64_t off, uint64_t len) override;

  // Drops every unflushed block; with torn_seed, each unflushed block
  // survives with probability 1/2, chosen by a generator seeded with it.
  // Also restores power after a power_cut_after().
  void crash(std::optional<uint64_t> torn_seed = std::nullopt);
  // Cuts the power after n more successful writes and flushes (n = 0: now).
  void power_cut_after(uint64_t n);
  bool power_cut() const;
  void fail_range(uint64_t off, uint64_t len, bool fail_writes = false);
  void clear_fail();

  uint64_t writes() const;
  uint64_t flushes() const;     // flush() and flush_range() calls
  size_t dirty_blocks() const;  // unflushed blocks in the overlay

 private:
  struct FailRange {
    uint64_t off, len;
    bool writes;
  };
  using Block = std::vector<uint8_t>;
  bool failing(uint64_t off, uint64_t len, bool is_write) const;  // needs mu_
  bool powered();  // needs mu_; uses up one call of the power-cut budget
  Block& dirty_block(uint64_t index);                             // needs mu_
  void persist_block(uint64_t index, const Block& b);             // needs mu_

  mutable std::mutex mu_;
  MemDevice durable_;                  // what survives a crash
  std::map<uint64_t, Block> overlay_;  // GUARDED_BY(mu_); block index -> contents
  std::vector<FailRange> fail_;        // GUARDED_BY(mu_)
  uint64_t writes_ = 0;                // GUARDED_BY(mu_)
  uint64_t flushes_ = 0;               // GUARDED_BY(mu_)
  std::optional<uint64_t> power_left_;  // GUARDED_BY(mu_); calls before the cut
};

}  // namespace pnfsgw::backend::device
