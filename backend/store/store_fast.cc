// StoreFs: overwrites in place without a KV transaction, and the in-memory
// times they leave behind (store_fs.h "overwrites in place").
//
// Why it is safe outside a group-commit batch (store_commit.cc):
//  - the blocks are pinned from the mapping lookup to the end of the device
//    writes, so nothing that unmaps them (punch, truncate, CoW elsewhere)
//    proceeds until the write is done, and they are not reused before;
//  - the blocks are private (refcount 1): a clone or dedupe fences the
//    inodes (PinTable::Fence) and waits for pins before sharing blocks, so
//    a write can never land in a block another file also maps;
//  - the file does not grow, so its size and mapping stay as committed.
#include <cstring>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"

namespace pnfsgw::store {

using backend::InodeId;

std::optional<Status> StoreFs::write_in_place(InodeId ino, uint64_t off, std::span<const uint8_t> data) {
  if (read_only()) return Status::error(EROFS);
  uint64_t end = off + data.size();
  uint64_t b0 = off / kBlockSize, b1 = (end + kBlockSize - 1) / kBlockSize;
  // Eligible blocks, or nothing (then the full path runs). Checked under
  // the pin, after the break; and, unless breaks are free (no layouts: the
  // NullBreaker), once before it too, so that a write that cannot go in
  // place asks for one break only, the full path's. The check is most of
  // an in-place write's cost (a read snapshot, the inode, the extent and
  // refcount lookups).
  auto eligible = [&](std::vector<Extent>* pieces) -> std::vector<PhysRange> {
    if (pins_.fenced_locked(ino)) return {};
    auto rt = kv_->begin_read();
    if (!rt) return {};
    auto r = get_inode(*rt.value(), ino);
    if (!r || r.value().type != backend::FileType::kRegular || end > r.value().size) return {};
    auto q = map_query(*rt.value(), ino, b0, b1 - b0);
    if (!q) return {};
    std::vector<PhysRange> blocks;
    uint64_t pos = b0;
    for (const Extent& e : q.value()) {
      if (e.lblk != pos || e.unwritten) return {};
      auto sh = shared_in(*rt.value(), {e.pblk, e.len});
      auto bd = bad_in(*rt.value(), {e.pblk, e.len});
      if (!sh || !sh.value().empty() || !bd || !bd.value().empty()) return {};
      blocks.push_back({e.pblk, e.len});
      pos = e.lend();
    }
    if (pos != b1) return {};
    *pieces = std::move(q).value();
    return blocks;
  };
  std::vector<Extent> pieces;
  if (!breaker_->grants_at_once()) {
    if (pins_.pin_with([&] { return eligible(&pieces); }), pieces.empty()) return std::nullopt;
  }
  BreakToken tok = breaker_->break_range(ino, b0 * kBlockSize, (b1 - b0) * kBlockSize, BreakKind::kWrite);
  pieces.clear();
  PinTable::Pin pin = pins_.pin_with([&] { return eligible(&pieces); });
  bool ok = !pieces.empty();
  if (!ok) return std::nullopt;
  for (const Extent& e : pieces) {
    uint64_t s0 = std::max(e.lblk * kBlockSize, off), s1 = std::min(e.lend() * kBlockSize, end);
    uint64_t dev_off = e.pblk * kBlockSize + (s0 - e.lblk * kBlockSize);
    if (Status st = dev_->write(dev_off, data.subspan(s0 - off, s1 - s0)); !st) return st;
  }
  std::lock_guard lk(times_mu_);
  DirtyTimes& d = dirty_times_[ino];
  d.mtime = now();
  d.bumps++;
  return Status::ok();
}

void StoreFs::fold_times(InodeId ino, InodeRec& r) {
  std::lock_guard lk(times_mu_);
  auto it = dirty_times_.find(ino);
  if (it == dirty_times_.end()) return;
  const DirtyTimes& d = it->second;
  auto later = [](const backend::Timespec& a, const backend::Timespec& b) {
    return a.sec > b.sec || (a.sec == b.sec && a.nsec > b.nsec);
  };
  if (later(d.mtime, r.mtime)) r.mtime = d.mtime;
  if (later(d.mtime, r.ctime)) r.ctime = d.mtime;
  r.change += d.bumps;
  r.folded_bumps = d.bumps;
}

bool StoreFs::any_dirty_times() {
  std::lock_guard lk(times_mu_);
  return !dirty_times_.empty();
}

Status StoreFs::persist_times(InodeId ino) {
  {
    std::lock_guard lk(times_mu_);
    if (!dirty_times_.count(ino)) return Status::ok();
  }
  return mutate([&](Tx& t) {
    auto r = get_inode(t.w, ino);
    if (!r) return r.err() == ESTALE ? Status::ok() : r.status();
    return put_inode(t, ino, r.value());
  });
}

}  // namespace pnfsgw::store
