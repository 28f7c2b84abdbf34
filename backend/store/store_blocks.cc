// StoreFs: extent maps, reference counts, reverse map, free space and
// quarantine as KV records. Every function here runs inside a change (the
// held, a write transaction open) or on a read snapshot.
#include <algorithm>
#include <cstring>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"
#include "common/log.h"

namespace pnfsgw::store {

using backend::kv::Txn;

namespace {

// A record of a block-keyed db (free, quarantine, bad, refcount): these never
// overlap, so the one containing a block is the floor of its key.
struct BlockRec {
  uint64_t start = 0, len = 0;
  uint32_t count = 0;  // refcount db only
};

bool decode_block_rec(std::string_view k, std::string_view v, bool refcount, BlockRec* out) {
  if (!decode_block_key(k, &out->start)) return false;
  if (refcount) return decode_refcount(v, &out->len, &out->count);
  auto len = decode_u64(v);
  if (!len) return false;
  out->len = *len;
  return true;
}

// Records of a block-keyed db overlapping [lo, hi), in order.
Result<std::vector<BlockRec>> block_recs(const Txn& t, backend::kv::Db db, uint64_t lo, uint64_t hi,
                                         bool refcount = false) {
  using R = Result<std::vector<BlockRec>>;
  std::vector<BlockRec> out;
  bool bad = false;
  // The record before lo counts when it runs into [lo, hi).
  auto before = [&](std::string_view k, std::string_view v) {
    BlockRec b;
    if (!decode_block_rec(k, v, refcount, &b)) return bad = true, false;
    if (b.start < lo && b.start + b.len > lo) out.push_back(b);
    return true;
  };
  auto each = [&](std::string_view k, std::string_view v) {
    BlockRec b;
    if (!decode_block_rec(k, v, refcount, &b)) return bad = true, false;
    out.push_back(b);
    return true;
  };
  Status st = t.for_each_after_floor(db, block_key(lo), block_key(hi), before, each);
  if (!st) return R::error(st.err());
  if (bad) return R::error(EIO);
  return out;
}

uint64_t overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
  uint64_t lo = std::max(a0, b0), hi = std::min(a1, b1);
  return hi > lo ? hi - lo : 0;
}

}  // namespace

Result<InodeRec> StoreFs::get_inode(const Txn& t, backend::InodeId ino) {
  auto v = t.get_view(db_->inode, ino_key(ino));  // decoded at once: no copy
  if (!v) return Result<InodeRec>::error(v.err() == ENOENT ? ESTALE : v.err());
  auto r = decode_inode(v.value());
  if (!r) {
    PLOG_ERROR("store: inode %llu record is damaged", static_cast<unsigned long long>(ino));
    return Result<InodeRec>::error(EIO);
  }
  fold_times(ino, *r);
  return std::move(*r);
}

Status StoreFs::put_inode(Tx& t, backend::InodeId ino, const InodeRec& r) {
  if (r.folded_bumps > 0) t.retire_bumps.push_back({ino, r.folded_bumps});
  return t.w.put(db_->inode, ino_key(ino), encode_inode(r));
}

namespace {

Status put_extent(backend::kv::WriteTxn& w, const StoreFs::Dbs& db, uint64_t ino, const Extent& e) {
  Status st = w.put(db.extent, extent_key(ino, e.lblk), encode_extent_value(e));
  if (st) st = w.put(db.rmap, rmap_key(e.pblk, ino, e.lblk), encode_rmap_value(e));
  return st;
}

Status del_extent(backend::kv::WriteTxn& w, const StoreFs::Dbs& db, uint64_t ino, const Extent& e) {
  Status st = w.del(db.extent, extent_key(ino, e.lblk));
  if (st) st = w.del(db.rmap, rmap_key(e.pblk, ino, e.lblk));
  return st.err() == ENOENT ? Status::error(EIO) : st;  // the two must agree
}

// Whole extent records of ino overlapping [lblk, lblk+len), in order.
Result<std::vector<Extent>> extent_recs(const Txn& t, const StoreFs::Dbs& db, uint64_t ino,
                                        uint64_t lblk, uint64_t len) {
  using R = Result<std::vector<Extent>>;
  std::vector<Extent> out;
  uint64_t end = lblk + len;
  bool bad = false;
  // The extent before lblk counts when it is ino's and runs past lblk.
  auto before = [&](std::string_view k, std::string_view v) {
    uint64_t fino;
    auto e = decode_extent(k, v, &fino);
    if (!e) return bad = true, false;
    if (fino == ino && e->lblk < lblk && e->lend() > lblk) out.push_back(*e);
    return true;
  };
  auto each = [&](std::string_view k, std::string_view v) {
    uint64_t fino;
    auto e = decode_extent(k, v, &fino);
    if (!e) return bad = true, false;
    if (fino != ino) return false;
    out.push_back(*e);
    return true;
  };
  Status st = t.for_each_after_floor(db.extent, extent_key(ino, lblk), extent_key(ino, end), before, each);
  if (!st) return R::error(st.err());
  if (bad) return R::error(EIO);
  return out;
}

}  // namespace

Result<std::vector<Extent>> StoreFs::map_query(const Txn& t, uint64_t ino, uint64_t lblk,
                                               uint64_t len) {
  auto recs = extent_recs(t, *db_, ino, lblk, len);
  if (!recs) return recs;
  uint64_t end = lblk + len;
  for (Extent& e : recs.value()) {  // clip to the range
    if (e.lblk < lblk) {
      uint64_t cut = lblk - e.lblk;
      e.lblk += cut, e.pblk += cut, e.len -= cut;
    }
    if (e.lend() > end) e.len = end - e.lblk;
  }
  return recs;
}

Status StoreFs::remap(Tx& t, uint64_t ino, InodeRec& inode, uint64_t lblk, uint64_t len,
                      const std::vector<Extent>& with) {
  auto recs = extent_recs(t.w, *db_, ino, lblk, len);
  if (!recs) return recs.status();
  uint64_t end = lblk + len;
  std::vector<PhysRange> displaced;
  for (const Extent& e : recs.value()) {
    if (Status st = del_extent(t.w, *db_, ino, e); !st) return st;
    if (e.lblk < lblk) {  // the part before the range stays
      Extent left = e;
      left.len = lblk - e.lblk;
      if (Status st = put_extent(t.w, *db_, ino, left); !st) return st;
    }
    if (e.lend() > end) {  // the part after it too
      Extent right = e;
      uint64_t cut = end - e.lblk;
      right.lblk += cut, right.pblk += cut, right.len -= cut;
      if (Status st = put_extent(t.w, *db_, ino, right); !st) return st;
    }
    uint64_t m0 = std::max(e.lblk, lblk), m1 = std::min(e.lend(), end);
    displaced.push_back({e.pblk + (m0 - e.lblk), m1 - m0});
  }
  if (!displaced.empty()) {
    // BREAK_UNMAP semantics: nothing in flight may still use these blocks.
    pins_.wait_unpinned(displaced);
    for (const PhysRange& d : displaced) {
      if (Status st = adjust_refs(t, d, -1); !st) return st;
      inode.blocks -= d.len;
    }
  }
  for (Extent w : with) {
    while (w.len > 0) {  // records stay within kMaxExtentBlocks
      Extent piece = w;
      piece.len = std::min(w.len, kMaxExtentBlocks);
      if (Status st = put_extent(t.w, *db_, ino, piece); !st) return st;
      inode.blocks += piece.len;
      w.lblk += piece.len, w.pblk += piece.len, w.len -= piece.len;
    }
  }
  // Fold neighbours that became contiguous at the range's ends.
  if (Status st = merge_at(t, ino, lblk); !st) return st;
  return merge_at(t, ino, end);
}

Status StoreFs::merge_at(Tx& t, uint64_t ino, uint64_t b) {
  if (b == 0) return Status::ok();
  auto l = extent_recs(t.w, *db_, ino, b - 1, 1);
  if (!l) return l.status();
  auto r = t.w.get(db_->extent, extent_key(ino, b));
  if (l.value().empty() || !r) return Status::ok();
  Extent le = l.value().front();
  auto re = decode_extent(extent_key(ino, b), r.value());
  if (!re || le.lend() != b || le.pblk + le.len != re->pblk || le.unwritten != re->unwritten ||
      le.len + re->len > kMaxExtentBlocks)
    return Status::ok();
  if (Status st = del_extent(t.w, *db_, ino, le); !st) return st;
  if (Status st = del_extent(t.w, *db_, ino, *re); !st) return st;
  le.len += re->len;
  return put_extent(t.w, *db_, ino, le);
}

Status StoreFs::set_unwritten(Tx& t, uint64_t ino, uint64_t lblk, uint64_t len, bool unwritten) {
  auto recs = extent_recs(t.w, *db_, ino, lblk, len);
  if (!recs) return recs.status();
  uint64_t end = lblk + len;
  for (const Extent& e : recs.value()) {
    if (e.unwritten == unwritten) continue;
    if (Status st = del_extent(t.w, *db_, ino, e); !st) return st;
    uint64_t m0 = std::max(e.lblk, lblk), m1 = std::min(e.lend(), end);
    Extent parts[3] = {{e.lblk, m0 - e.lblk, e.pblk, e.unwritten},
                       {m0, m1 - m0, e.pblk + (m0 - e.lblk), unwritten},
                       {m1, e.lend() - m1, e.pblk + (m1 - e.lblk), e.unwritten}};
    for (const Extent& p : parts)
      if (p.len > 0)
        if (Status st = put_extent(t.w, *db_, ino, p); !st) return st;
  }
  return Status::ok();
}

Status StoreFs::split_at(Tx& t, uint64_t ino, uint64_t b) {
  auto recs = extent_recs(t.w, *db_, ino, b, 1);
  if (!recs) return recs.status();
  for (const Extent& e : recs.value()) {
    if (e.lblk >= b) continue;
    if (Status st = del_extent(t.w, *db_, ino, e); !st) return st;
    Extent l = e, r = e;
    l.len = b - e.lblk;
    r.lblk = b, r.pblk = e.pblk + l.len, r.len = e.len - l.len;
    if (Status st = put_extent(t.w, *db_, ino, l); !st) return st;
    if (Status st = put_extent(t.w, *db_, ino, r); !st) return st;
  }
  return Status::ok();
}

Status StoreFs::shift(Tx& t, uint64_t ino, uint64_t from, uint64_t delta, bool up) {
  auto recs = extent_recs(t.w, *db_, ino, from, kMaxFileBlocks - from);
  if (!recs) return recs.status();
  for (const Extent& e : recs.value()) {
    if (e.lblk < from) return Status::error(EIO);  // callers split first
    if (Status st = del_extent(t.w, *db_, ino, e); !st) return st;
  }
  for (Extent e : recs.value()) {
    e.lblk = up ? e.lblk + delta : e.lblk - delta;
    if (Status st = put_extent(t.w, *db_, ino, e); !st) return st;
  }
  return Status::ok();
}

Status StoreFs::adjust_refs(Tx& t, PhysRange r, int delta) {
  uint64_t end = r.pblk + r.len;
  auto recs = block_recs(t.w, db_->refcount, r.pblk, end, true);
  if (!recs) return recs.status();
  // Segments of r with their current count (no record = mapped once).
  struct Seg {
    uint64_t start, len;
    uint32_t count;
  };
  std::vector<Seg> segs;
  uint64_t pos = r.pblk;
  for (const BlockRec& b : recs.value()) {
    if (Status st = t.w.del(db_->refcount, block_key(b.start)); !st) return st;
    if (b.start < r.pblk)
      if (Status st = t.w.put(db_->refcount, block_key(b.start), encode_refcount(r.pblk - b.start, b.count)); !st)
        return st;
    if (b.start + b.len > end)
      if (Status st = t.w.put(db_->refcount, block_key(end), encode_refcount(b.start + b.len - end, b.count)); !st)
        return st;
    uint64_t s0 = std::max(b.start, r.pblk), s1 = std::min(b.start + b.len, end);
    if (s0 > pos) segs.push_back({pos, s0 - pos, 1});
    segs.push_back({s0, s1 - s0, b.count});
    pos = s1;
  }
  if (pos < end) segs.push_back({pos, end - pos, 1});
  for (const Seg& s : segs) {
    int64_t nc = int64_t(s.count) + delta;
    if (nc >= 2) {
      if (Status st = t.w.put(db_->refcount, block_key(s.start), encode_refcount(s.len, uint32_t(nc))); !st)
        return st;
    } else if (nc == 0) {
      // Unreferenced: bad blocks leave service, the rest waits in quarantine.
      auto bad = bad_in(t.w, {s.start, s.len});
      if (!bad) return bad.status();
      uint64_t p = s.start;
      auto quarantine = [&](uint64_t a, uint64_t b) -> Status {
        if (b <= a) return Status::ok();
        t.quarantined.push_back({a, b - a});
        return t.w.put(db_->quarantine, block_key(a), encode_u64(b - a));
      };
      for (const PhysRange& b : bad.value()) {
        if (Status st = quarantine(p, b.pblk); !st) return st;
        p = b.pblk + b.len;
      }
      if (Status st = quarantine(p, s.start + s.len); !st) return st;
    } else if (nc < 0) {
      PLOG_ERROR("store: reference count of blocks %llu+%llu would go negative",
                 static_cast<unsigned long long>(s.start), static_cast<unsigned long long>(s.len));
      return Status::error(EIO);
    }
  }
  return Status::ok();
}

namespace {

// The parts of r that records of a block-keyed db cover, in order.
Result<std::vector<PhysRange>> covered(const Txn& t, backend::kv::Db db, PhysRange r, bool refcount) {
  auto recs = block_recs(t, db, r.pblk, r.pblk + r.len, refcount);
  if (!recs) return Result<std::vector<PhysRange>>::error(recs.err());
  std::vector<PhysRange> out;
  for (const BlockRec& b : recs.value()) {
    uint64_t s0 = std::max(b.start, r.pblk), s1 = std::min(b.start + b.len, r.pblk + r.len);
    out.push_back({s0, s1 - s0});
  }
  return out;
}

}  // namespace

Result<std::vector<PhysRange>> StoreFs::shared_in(const Txn& t, PhysRange r) {
  return covered(t, db_->refcount, r, true);
}

Result<std::vector<PhysRange>> StoreFs::bad_in(const Txn& t, PhysRange r) {
  if (bad_count_.load() == 0) return std::vector<PhysRange>{};
  return covered(t, db_->bad, r, false);
}

Result<std::vector<PhysRange>> StoreFs::alloc_after(Tx& t, uint64_t ino, uint64_t lblk, uint64_t len) {
  uint64_t goal = 0;  // files stay contiguous: aim right after the block before lblk
  if (lblk > 0) {
    auto prev = map_query(t.w, ino, lblk - 1, 1);
    if (!prev) return Result<std::vector<PhysRange>>::error(prev.err());
    if (!prev.value().empty()) goal = prev.value().front().pblk + 1;
  }
  return alloc_blocks(t, len, goal);
}

Result<std::vector<PhysRange>> StoreFs::alloc_blocks(Tx& t, uint64_t len, uint64_t goal) {
  auto got = alloc_.allocate(len, goal);
  if (!got) return got;
  for (const PhysRange& p : got.value()) {
    t.undo_log.push_back({true, p});
    if (Status st = persist_free(t, p.pblk, p.pblk + p.len); !st)
      return Result<std::vector<PhysRange>>::error(st.err());
  }
  return got;
}

Status StoreFs::return_blocks(Tx& t, PhysRange r) {
  if (Status st = alloc_.free(r.pblk, r.len); !st) {
    PLOG_ERROR("store: freeing blocks %llu+%llu that are already free (bug)",
               static_cast<unsigned long long>(r.pblk), static_cast<unsigned long long>(r.len));
    return Status::error(EIO);
  }
  t.undo_log.push_back({false, r});
  return persist_free(t, r.pblk, r.pblk + r.len);
}

Status StoreFs::persist_free(Tx& t, uint64_t lo, uint64_t hi) {
  // The allocator is the truth; rewrite the KV records around [lo, hi).
  uint64_t wlo = lo > 0 ? lo - 1 : 0, whi = std::min(hi + 1, nblocks_);
  auto recs = block_recs(t.w, db_->free, wlo, whi);
  if (!recs) return recs.status();
  for (const BlockRec& b : recs.value())
    if (Status st = t.w.del(db_->free, block_key(b.start)); !st) return st;
  for (const PhysRange& p : alloc_.free_overlapping(wlo, whi))
    if (Status st = t.w.put(db_->free, block_key(p.pblk), encode_u64(p.len)); !st) return st;
  return Status::ok();
}

Status StoreFs::drain_released(Tx& t) {
  std::vector<PhysRange> ready;
  {
    std::lock_guard lk(released_mu_);
    ready.swap(released_);
  }
  std::vector<PhysRange> keep;
  for (const PhysRange& r : ready) {
    if (pins_.overlaps(r)) {  // an in-flight read still uses them
      keep.push_back(r);
      continue;
    }
    t.drained.push_back(r);
    drop_sent(r);  // before the blocks can be allocated again
    auto qrecs = block_recs(t.w, db_->quarantine, r.pblk, r.pblk + r.len);
    if (!qrecs) return qrecs.status();
    for (const BlockRec& q : qrecs.value())
      if (Status st = t.w.del(db_->quarantine, block_key(q.start)); !st) return st;
    auto bad = bad_in(t.w, r);  // went bad while quarantined: out of service
    if (!bad) return bad.status();
    uint64_t p = r.pblk;
    for (const PhysRange& b : bad.value()) {
      if (b.pblk > p)
        if (Status st = return_blocks(t, {p, b.pblk - p}); !st) return st;
      p = b.pblk + b.len;
    }
    if (p < r.pblk + r.len)
      if (Status st = return_blocks(t, {p, r.pblk + r.len - p}); !st) return st;
  }
  if (!keep.empty()) {
    std::lock_guard lk(released_mu_);
    released_.insert(released_.end(), keep.begin(), keep.end());
  }
  return Status::ok();
}

Result<std::string> StoreFs::path_of(const Txn& t, backend::InodeId ino) {
  // Names are found by a scan of the directory entries: only error reports
  // (media errors) ask, and they are rare.
  std::string path;
  for (int depth = 0; ino != kRootIno && depth < 256; depth++) {
    uint64_t parent = 0;
    std::string name;
    Status st = t.for_each(db_->dirent, "", "", [&](std::string_view k, std::string_view v) {
      auto d = decode_dirent(v);
      if (d && d->child == ino) {
        backend::kv::KeyReader kr(k);
        kr.u64(&parent);
        name = std::string(kr.rest());
        return false;
      }
      return true;
    });
    if (!st) return Result<std::string>::error(st.err());
    if (name.empty()) return Result<std::string>::error(ENOENT);
    path = "/" + name + path;
    ino = parent;
  }
  return path.empty() ? std::string("/") : path;
}

std::string StoreFs::describe_owners(const Txn& t, PhysRange r) {
  std::string out;
  uint64_t from = r.pblk > kMaxExtentBlocks ? r.pblk - kMaxExtentBlocks : 0;
  (void)t.for_each(db_->rmap, rmap_key(from, 0, 0), rmap_key(r.pblk + r.len, 0, 0),
                   [&](std::string_view k, std::string_view v) {
                     auto m = decode_rmap(k, v);
                     if (!m) return true;
                     uint64_t ov = overlap(m->pblk, m->pblk + m->len, r.pblk, r.pblk + r.len);
                     if (ov == 0) return true;
                     uint64_t first = std::max(m->pblk, r.pblk);
                     uint64_t off = (m->lblk + (first - m->pblk)) * kBlockSize;
                     auto path = path_of(t, m->ino);
                     char buf[160];
                     snprintf(buf, sizeof buf, "%sinode %llu bytes %llu-%llu", out.empty() ? "" : "; ",
                              static_cast<unsigned long long>(m->ino),
                              static_cast<unsigned long long>(off),
                              static_cast<unsigned long long>(off + ov * kBlockSize - 1));
                     out += buf;
                     if (path) out += " (" + path.value() + ")";
                     return true;
                   });
  return out.empty() ? "no file" : out;
}

}  // namespace pnfsgw::store
