// PinTable: physical block ranges that in-flight I/O is using right now (a
// read copying from the device, later a zero-copy send from the DAX map).
//
// A pinned block is not reused: the store frees quarantined blocks only when
// no pin overlaps them (overlaps()), and a BREAK_UNMAP change waits
// (wait_unpinned()) until the blocks it is about to unmap are not pinned.
// with_lock() runs a mapping lookup and the pin of its result atomically with
// respect to those checks, so a reader never pins blocks that were already
// released. Safe from any thread (one mutex, one condition variable).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "backend/store/phys_range.h"

namespace pnfsgw::store {

class PinTable {
 public:
  // Releases its pins on destruction. Move-only.
  class Pin {
   public:
    Pin() = default;
    Pin(Pin&& o) noexcept : table_(o.table_), id_(o.id_) { o.table_ = nullptr; }
    Pin& operator=(Pin&& o) noexcept {
      if (this != &o) {
        if (table_) table_->unpin(id_);
        table_ = std::exchange(o.table_, nullptr);
        id_ = o.id_;
      }
      return *this;
    }
    Pin(const Pin&) = delete;
    ~Pin() {
      if (table_) table_->unpin(id_);
    }
    bool active() const { return table_ != nullptr; }

   private:
    friend class PinTable;
    Pin(PinTable* t, uint64_t id) : table_(t), id_(id) {}
    PinTable* table_ = nullptr;
    uint64_t id_ = 0;
  };

  // Runs fn() under the table's lock; fn returns the ranges to pin.
  template <typename Fn>
  Pin pin_with(Fn&& fn) {
    std::lock_guard lk(mu_);
    std::vector<PhysRange> ranges = fn();
    if (ranges.empty()) return Pin();
    uint64_t id = next_id_++;
    pins_.emplace(id, std::move(ranges));
    return Pin(this, id);
  }
  Pin pin(std::vector<PhysRange> ranges) {
    return pin_with([&] { return std::move(ranges); });
  }

  // Fences: while a fence on `key` (an inode) lives, fenced(key) is true
  // inside pin_with(). Writers that overwrite blocks in place without the
  // store lock check it there, so a change that must see no such writer
  // (clone: the source's blocks become shared) fences the inode, waits for
  // the pins already taken, and knows no new one appears.
  class Fence {
   public:
    Fence(PinTable* t, uint64_t key) : table_(t), key_(key) {
      std::lock_guard lk(t->mu_);
      t->fences_.insert(key);
    }
    ~Fence() {
      std::lock_guard lk(table_->mu_);
      table_->fences_.erase(table_->fences_.find(key_));
    }
    Fence(const Fence&) = delete;
    Fence& operator=(const Fence&) = delete;

   private:
    PinTable* table_;
    uint64_t key_;
  };
  // Only from inside a pin_with() callback (the table's lock is held).
  bool fenced_locked(uint64_t key) const { return fences_.count(key) != 0; }

  bool overlaps(const PhysRange& r) const {
    std::lock_guard lk(mu_);
    return overlaps_locked(r);
  }
  // Blocks until no pin overlaps any of ranges.
  void wait_unpinned(const std::vector<PhysRange>& ranges) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] {
      for (const PhysRange& r : ranges)
        if (overlaps_locked(r)) return false;
      return true;
    });
  }
  size_t active() const {
    std::lock_guard lk(mu_);
    return pins_.size();
  }

 private:
  bool overlaps_locked(const PhysRange& r) const {
    for (const auto& [id, ranges] : pins_)
      for (const PhysRange& p : ranges)
        if (p.pblk < r.pblk + r.len && r.pblk < p.pblk + p.len) return true;
    return false;
  }
  void unpin(uint64_t id) {
    {
      std::lock_guard lk(mu_);
      pins_.erase(id);
    }
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::vector<PhysRange>> pins_;  // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;                             // GUARDED_BY(mu_)
  std::multiset<uint64_t> fences_;                   // GUARDED_BY(mu_)
};

}  // namespace pnfsgw::store
