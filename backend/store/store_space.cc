// StoreFs: the space operations (every Linux fallocate mode, clone, dedupe,
// copy, SEEK_DATA/SEEK_HOLE, extent listing). Which break each one asks for
// is in break.h; ranges are widened to whole blocks (store_internal.h).
#include <algorithm>
#include <cstring>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"

namespace pnfsgw::store {

using backend::FileType;
using backend::InodeId;

namespace {

constexpr uint64_t kCopyChunk = 1 << 20;

// fs.h: length 0 and ranges ending past INT64_MAX are EINVAL.
Status check_range(uint64_t off, uint64_t len) {
  if (len == 0 || off > kMaxFileSize || len > kMaxFileSize - off) return Status::error(EINVAL);
  return Status::ok();
}

Status check_regular(const InodeRec& r) {
  if (r.type == FileType::kDirectory) return Status::error(EISDIR);
  if (r.type != FileType::kRegular) return Status::error(EINVAL);
  return Status::ok();
}

bool aligned(uint64_t v) { return v % kBlockSize == 0; }

}  // namespace

// A change on one file whose break range does not depend on its state.
Status StoreFs::file_change(InodeId ino, uint64_t off, uint64_t len, BreakKind kind,
                            const std::function<Status(Tx&, const BreakToken*, InodeRec&)>& fn) {
  if (Status st = flush_cached(ino); !st) return st;
  return broken_change(
      [&](uint64_t* file, uint64_t* o, uint64_t* l, BreakKind* k) {
        *file = ino, *o = off, *l = len, *k = kind;
        return Status::ok();
      },
      [&](Tx& t, const BreakToken* tok) {
        auto r = get_inode(t.w, ino);
        if (!r) return r.status();
        if (Status s = check_regular(r.value()); !s) return s;
        if (Status s = fn(t, tok, r.value()); !s) return s;
        return put_inode(t, ino, r.value());
      });
}

Status StoreFs::allocate(InodeId ino, uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  uint64_t end = off + len;
  uint64_t b0 = off / kBlockSize, b1 = block_up(end) / kBlockSize;
  return file_change(ino, b0 * kBlockSize, (b1 - b0) * kBlockSize, BreakKind::kWrite,
                     [&](Tx& t, const BreakToken* tok, InodeRec& r) -> Status {
                       auto q = map_query(t.w, ino, b0, b1 - b0);
                       if (!q) return q.status();
                       std::vector<std::pair<uint64_t, uint64_t>> holes;
                       uint64_t pos = b0, need = 0;
                       for (const Extent& e : q.value()) {
                         if (e.lblk > pos) holes.push_back({pos, e.lblk - pos}), need += e.lblk - pos;
                         pos = e.lend();
                       }
                       if (pos < b1) holes.push_back({pos, b1 - pos}), need += b1 - pos;
                       if (need > 0) {
                         auto got = alloc_after(t, ino, b0, need);
                         if (!got) return got.status();
                         // Preallocated blocks read as zeroes: no data to write.
                         size_t gi = 0;
                         uint64_t used = 0;
                         for (auto [l, n] : holes) {
                           std::vector<Extent> with;
                           for (uint64_t x = l; x < l + n;) {
                             const PhysRange& g = got.value()[gi];
                             uint64_t take = std::min(g.len - used, l + n - x);
                             with.push_back({x, take, g.pblk + used, true});
                             x += take, used += take;
                             if (used == g.len) gi++, used = 0;
                           }
                           if (Status s = remap(t, ino, r, l, n, with); !s) return s;
                         }
                       }
                       if (end > r.size) r.size = end;
                       touch(r, true);
                       return Status::ok();
                     });
}

Status StoreFs::unmap_bytes(Tx& t, const BreakToken* tok, InodeId ino, InodeRec& r, uint64_t off,
                            uint64_t end, bool preallocate) {
  // Whole blocks inside [off, end) are unmapped (or preallocated again), the
  // partial blocks at the edges get zeroes.
  uint64_t full0 = block_up(off), full1 = block_down(end);
  if (end >= r.size && !preallocate) full1 = block_up(end);  // the EOF block goes whole
  if (full0 >= full1) return zero_bytes(t, tok, ino, r, off, end - off);
  if (Status st = zero_bytes(t, tok, ino, r, off, full0 - off); !st) return st;
  if (end > full1)
    if (Status st = zero_bytes(t, tok, ino, r, full1, end - full1); !st) return st;
  uint64_t b0 = full0 / kBlockSize, n = (full1 - full0) / kBlockSize;
  if (Status st = remap(t, ino, r, b0, n, {}); !st) return st;
  if (!preallocate) return Status::ok();
  auto got = alloc_blocks(t, n, 0);
  if (!got) return got.status();
  std::vector<Extent> with;
  uint64_t l = b0;
  for (const PhysRange& g : got.value()) with.push_back({l, g.len, g.pblk, true}), l += g.len;
  return remap(t, ino, r, b0, n, with);
}

Status StoreFs::punch_hole(InodeId ino, uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  uint64_t end = off + len;
  return file_change(ino, block_down(off), block_up(end) - block_down(off), BreakKind::kUnmap,
                     [&](Tx& t, const BreakToken* tok, InodeRec& r) -> Status {
                       uint64_t e = std::min(end, r.size);  // punching never extends
                       if (off < e)
                         if (Status s = unmap_bytes(t, tok, ino, r, off, e, false); !s) return s;
                       touch(r, true);
                       return Status::ok();
                     });
}

Status StoreFs::zero_range(InodeId ino, uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  uint64_t end = off + len;
  return file_change(ino, block_down(off), block_up(end) - block_down(off), BreakKind::kUnmap,
                     [&](Tx& t, const BreakToken* tok, InodeRec& r) -> Status {
                       // Like XFS: whole blocks become preallocated (unwritten).
                       if (Status s = unmap_bytes(t, tok, ino, r, off, end, true); !s) return s;
                       r.size = std::max(r.size, end);
                       touch(r, true);
                       return Status::ok();
                     });
}

Status StoreFs::collapse_range(InodeId ino, uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  if (!aligned(off) || !aligned(len)) return Status::error(EINVAL);
  // Every extent after off moves: the break runs to EOF (and beyond).
  return file_change(ino, off, to_eof(off), BreakKind::kUnmap,
                     [&](Tx& t, const BreakToken*, InodeRec& r) -> Status {
                       if (off + len >= r.size) return Status::error(EINVAL);  // as Linux
                       uint64_t b = off / kBlockSize, n = len / kBlockSize;
                       if (Status s = remap(t, ino, r, b, n, {}); !s) return s;
                       if (Status s = shift(t, ino, b + n, n, false); !s) return s;
                       if (Status s = merge_at(t, ino, b); !s) return s;
                       r.size -= len;
                       touch(r, true);
                       return Status::ok();
                     });
}

Status StoreFs::insert_range(InodeId ino, uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  if (!aligned(off) || !aligned(len)) return Status::error(EINVAL);
  return file_change(ino, off, to_eof(off), BreakKind::kUnmap,
                     [&](Tx& t, const BreakToken*, InodeRec& r) -> Status {
                       if (off >= r.size) return Status::error(EINVAL);  // as Linux
                       if (len > kMaxFileSize - r.size) return Status::error(EFBIG);
                       uint64_t b = off / kBlockSize;
                       if (Status s = split_at(t, ino, b); !s) return s;
                       if (Status s = shift(t, ino, b, len / kBlockSize, true); !s) return s;
                       r.size += len;
                       touch(r, true);
                       return Status::ok();
                     });
}

Status StoreFs::unshare(InodeId ino, uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  uint64_t b0 = off / kBlockSize, b1 = block_up(off + len) / kBlockSize;
  return file_change(ino, b0 * kBlockSize, (b1 - b0) * kBlockSize, BreakKind::kUnmap,
                     [&](Tx& t, const BreakToken* tok, InodeRec& r) -> Status {
                       uint64_t eof_b = block_up(r.size) / kBlockSize;
                       if (b0 >= eof_b) return Status::ok();
                       return unshare_locked(t, tok, ino, r, b0, std::min(b1, eof_b) - b0);
                     });
}

Status StoreFs::unshare_locked(Tx& t, const BreakToken* tok, uint64_t ino, InodeRec& r, uint64_t lblk,
                               uint64_t nblk) {
  if (!covers(tok, ino, lblk * kBlockSize, nblk * kBlockSize, BreakKind::kUnmap))
    return Status::error(kReplan);
  auto q = map_query(t.w, ino, lblk, nblk);
  if (!q) return q.status();
  std::vector<uint8_t> buf;
  for (const Extent& e : q.value()) {
    auto sh = shared_in(t.w, {e.pblk, e.len});
    if (!sh) return sh.status();
    for (const PhysRange& s : sh.value()) {
      uint64_t l = e.lblk + (s.pblk - e.pblk);
      auto got = alloc_blocks(t, s.len, 0);
      if (!got) return got.status();
      std::vector<Extent> with;
      uint64_t src = s.pblk, dl = l;
      for (const PhysRange& g : got.value()) {
        for (uint64_t i = 0; !e.unwritten && i < g.len;) {  // copy the data across
          uint64_t n = std::min<uint64_t>(g.len - i, kCopyChunk / kBlockSize);
          buf.resize(n * kBlockSize);
          if (Status st = dev_->read((src + i) * kBlockSize, buf); !st) return st;
          if (Status st = dev_->write((g.pblk + i) * kBlockSize, buf); !st) return st;
          i += n;
        }
        with.push_back({dl, g.len, g.pblk, e.unwritten});
        src += g.len, dl += g.len;
      }
      if (!e.unwritten) t.need_flush = true;  // the copies land before the commit
      if (Status st = remap(t, ino, r, l, s.len, with); !st) return st;
    }
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------
// Clone, dedupe, copy: two files (or two ranges of one), two breaks.

Status StoreFs::two_file_change(InodeId src, uint64_t s_off, uint64_t s_len, InodeId dst,
                                uint64_t d_off, uint64_t d_len,
                                const std::function<Status(Tx&, const BreakToken*, const BreakToken*)>& fn) {
  if (Status st = flush_cached(src); !st) return st;
  if (Status st = flush_cached(dst); !st) return st;
  for (int attempt = 0;; attempt++) {
    if (Status st = check_writable(); !st) return st;
    // Source blocks become shared (BREAK_WRITE), destination blocks are
    // replaced (BREAK_UNMAP). Lower inode first, so two clones cannot wait on
    // each other in opposite orders.
    BreakToken a = breaker_->break_range(std::min(src, dst), src <= dst ? s_off : d_off,
                                         src <= dst ? s_len : d_len,
                                         src <= dst ? BreakKind::kWrite : BreakKind::kUnmap);
    BreakToken b = breaker_->break_range(std::max(src, dst), src <= dst ? d_off : s_off,
                                         src <= dst ? d_len : s_len,
                                         src <= dst ? BreakKind::kUnmap : BreakKind::kWrite);
    // Overwrites in place of either file (store_fast.cc) stop here until
    // the change is committed; the change waits for those in flight.
    PinTable::Fence f1(&pins_, src), f2(&pins_, dst);
    const BreakToken* stok = src <= dst ? &a : &b;
    const BreakToken* dtok = src <= dst ? &b : &a;
    Status st = mutate([&](Tx& t) { return fn(t, stok, dtok); }, dtok);
    if (st.err() != kReplan) return st;
    if (attempt == 16) return Status::error(EAGAIN);
  }
}

Status StoreFs::wait_for_pins(const backend::kv::Txn& t, InodeId ino, uint64_t lblk, uint64_t n) {
  auto q = map_query(t, ino, lblk, n);
  if (!q) return q.status();
  std::vector<PhysRange> blocks;
  for (const Extent& e : q.value()) blocks.push_back({e.pblk, e.len});
  pins_.wait_unpinned(blocks);
  return Status::ok();
}

Status StoreFs::clone_locked(Tx& t, const BreakToken* stok, const BreakToken* dtok, InodeId src,
                             uint64_t s_off, InodeId dst, uint64_t d_off, uint64_t len) {
  auto sr = get_inode(t.w, src);
  if (!sr) return sr.status();
  auto dr0 = src == dst ? Result<InodeRec>(InodeRec{}) : get_inode(t.w, dst);
  if (!dr0) return dr0.status();
  InodeRec& srec = sr.value();
  InodeRec& drec = src == dst ? srec : dr0.value();
  if (Status s = check_regular(srec); !s) return s;
  if (Status s = check_regular(drec); !s) return s;
  if (len == 0) {  // to the source's EOF
    if (s_off >= srec.size) return Status::ok();
    len = srec.size - s_off;
  }
  if (s_off > srec.size || len > srec.size - s_off) return Status::error(EINVAL);
  if (d_off > kMaxFileSize || len > kMaxFileSize - d_off) return Status::error(EFBIG);
  // Whole blocks only, except a tail that ends at the source's EOF and does
  // not end inside the destination's data (as Linux's remap checks).
  bool tail_at_eof = s_off + len == srec.size;
  if (!aligned(s_off) || !aligned(d_off) || (!aligned(len) && !(tail_at_eof && d_off + len >= drec.size)))
    return Status::error(EINVAL);
  uint64_t nb = block_up(len) / kBlockSize;
  if (src == dst && s_off < d_off + nb * kBlockSize && d_off < s_off + nb * kBlockSize)
    return Status::error(EINVAL);
  if (!covers(stok, src, s_off, nb * kBlockSize, BreakKind::kWrite) ||
      !covers(dtok, dst, d_off, nb * kBlockSize, BreakKind::kUnmap))
    return Status::error(kReplan);
  uint64_t sb = s_off / kBlockSize, db = d_off / kBlockSize;
  auto q = map_query(t.w, src, sb, nb);
  if (!q) return q.status();
  // No overwrite in place may land once the blocks are shared.
  if (Status s = wait_for_pins(t.w, src, sb, nb); !s) return s;
  std::vector<Extent> with;
  for (const Extent& e : q.value()) {
    if (Status s = adjust_refs(t, {e.pblk, e.len}, +1); !s) return s;
    with.push_back({e.lblk - sb + db, e.len, e.pblk, e.unwritten});
  }
  if (Status s = remap(t, dst, drec, db, nb, with); !s) return s;
  drec.size = std::max(drec.size, d_off + len);
  touch(drec, true);
  if (Status s = put_inode(t, dst, drec); !s) return s;
  return src == dst ? Status::ok() : put_inode(t, src, srec);
}

Status StoreFs::clone_range(InodeId src, uint64_t s_off, InodeId dst, uint64_t d_off, uint64_t len) {
  if (len != 0)
    if (Status st = check_range(s_off, len); !st) return st;
  uint64_t blen = len == 0 ? to_eof(s_off) : block_up(s_off + len) - s_off;
  uint64_t dlen = len == 0 ? to_eof(d_off) : std::min(blen, to_eof(d_off));
  return two_file_change(src, s_off, blen, dst, d_off, dlen,
                         [&](Tx& t, const BreakToken* st, const BreakToken* dt) {
                           return clone_locked(t, st, dt, src, s_off, dst, d_off, len);
                         });
}

Result<uint64_t> StoreFs::dedupe_range(InodeId src, uint64_t s_off, InodeId dst, uint64_t d_off,
                                       uint64_t len) {
  if (len == 0) return uint64_t{0};  // fs.h: nothing to compare
  if (Status st = check_range(s_off, len); !st) return Result<uint64_t>::error(st.err());
  if (d_off > kMaxFileSize || len > kMaxFileSize - d_off) return Result<uint64_t>::error(EINVAL);
  uint64_t blen = block_up(s_off + len) - s_off;
  Status st = two_file_change(src, s_off, blen, dst, d_off, std::min(blen, to_eof(d_off)),
                              [&](Tx& t, const BreakToken* stok, const BreakToken* dtok) -> Status {
                                // Inside a batch no change slips in between;
                                // overwrites in place are fenced, and those in flight
                                // are waited for before comparing.
                                uint64_t nb = block_up(len) / kBlockSize;
                                if (Status s = wait_for_pins(t.w, src, s_off / kBlockSize, nb); !s) return s;
                                if (Status s = wait_for_pins(t.w, dst, d_off / kBlockSize, nb); !s) return s;
                                std::vector<uint8_t> a, b;
                                for (uint64_t done = 0; done < len;) {
                                  uint64_t n = std::min(kCopyChunk, len - done);
                                  a.resize(n), b.resize(n);
                                  bool eof;
                                  auto ra = read(src, s_off + done, a, &eof);
                                  auto rb = read(dst, d_off + done, b, &eof);
                                  if (!ra) return ra.status();
                                  if (!rb) return rb.status();
                                  if (ra.value() != n || rb.value() != n) return Status::error(EINVAL);
                                  if (memcmp(a.data(), b.data(), n) != 0) return Status::error(EBADE);
                                  done += n;
                                }
                                return clone_locked(t, stok, dtok, src, s_off, dst, d_off, len);
                              });
  if (!st) return Result<uint64_t>::error(st.err());
  return len;
}

Result<uint64_t> StoreFs::copy_range(InodeId src, uint64_t s_off, InodeId dst, uint64_t d_off,
                                     uint64_t len) {
  using R = Result<uint64_t>;
  if (Status st = flush_cached(src); !st) return R::error(st.err());
  if (Status st = flush_cached(dst); !st) return R::error(st.err());
  auto sa = getattr(src);
  if (!sa) return R::error(sa.err());
  auto da = getattr(dst);
  if (!da) return R::error(da.err());
  if (sa.value().type != FileType::kRegular || da.value().type != FileType::kRegular)
    return R::error(sa.value().type == FileType::kDirectory || da.value().type == FileType::kDirectory ? EISDIR : EINVAL);
  if (s_off >= sa.value().size) return uint64_t{0};
  len = std::min(len, sa.value().size - s_off);
  if (len == 0) return uint64_t{0};
  if (d_off > kMaxFileSize || len > kMaxFileSize - d_off) return R::error(EFBIG);
  if (src == dst && s_off < d_off + len && d_off < s_off + len) return R::error(EINVAL);
  // Reflink the block-aligned middle when both offsets sit alike in their
  // blocks; copy bytes for the edges (and for everything otherwise).
  uint64_t done = 0;
  auto copy_bytes = [&](uint64_t n) -> Status {
    std::vector<uint8_t> buf;
    for (uint64_t end = done + n; done < end;) {
      buf.resize(std::min(kCopyChunk, end - done));
      bool eof;
      auto r = read(src, s_off + done, buf, &eof);
      if (!r) return r.status();
      if (r.value() == 0) return Status::error(EIO);  // the source shrank under us
      auto w = write(dst, d_off + done, std::span<const uint8_t>(buf.data(), r.value()));
      if (!w) return w.status();
      done += r.value();
    }
    return Status::ok();
  };
  if (s_off % kBlockSize == d_off % kBlockSize) {
    uint64_t head = std::min(len, block_up(s_off) - s_off);
    if (Status st = copy_bytes(head); !st) return R::error(st.err());
    uint64_t mid = block_down(len - done);
    // The last block of the source may be cloned whole when it is its EOF.
    if (s_off + len == sa.value().size && d_off + len >= da.value().size) mid = len - done;
    if (mid > 0) {
      Status st = clone_range(src, s_off + done, dst, d_off + done, mid);
      if (!st) return R::error(st.err());
      done += mid;
    }
  }
  if (Status st = copy_bytes(len - done); !st) return R::error(st.err());
  return done;
}

// ---------------------------------------------------------------------------
// Reading the map.

Result<uint64_t> StoreFs::seek(InodeId ino, uint64_t off, backend::SeekWhat what) {
  using R = Result<uint64_t>;
  if (Status st = flush_cached(ino); !st) return R::error(st.err());
  auto rt = kv_->begin_read();
  if (!rt) return R::error(rt.err());
  auto r = get_inode(*rt.value(), ino);
  if (!r) return R::error(r.err());
  if (Status s = check_regular(r.value()); !s) return R::error(s.err());
  uint64_t size = r.value().size;
  if (off >= size) return R::error(ENXIO);
  // Data is written blocks; holes and preallocated blocks read as zeroes and
  // count as holes (as ext4 and XFS report them).
  uint64_t b = off / kBlockSize, eb = block_up(size) / kBlockSize;
  uint64_t found = UINT64_MAX;
  uint64_t pos = b;  // SEEK_HOLE: data runs contiguously up to here
  bool bad = false;
  Status st = rt.value()->for_each(
      db_->extent, extent_key(ino, 0), extent_key(ino, eb), [&](std::string_view k, std::string_view v) {
        auto e = decode_extent(k, v);
        if (!e) return bad = true, false;
        if (e->lend() <= b || e->unwritten) return true;
        if (what == backend::SeekWhat::kData) {
          found = std::max(e->lblk, b) * kBlockSize;
          return false;
        }
        if (e->lblk > pos) return false;  // a hole before this extent
        pos = e->lend();
        return true;
      });
  if (!st) return R::error(st.err());
  if (bad) return R::error(EIO);
  if (what == backend::SeekWhat::kData) {
    if (found == UINT64_MAX || found >= size) return R::error(ENXIO);
    return std::max(found, off);
  }
  if (pos == b) return off;  // off is in a hole
  return std::min(pos * kBlockSize, size);
}

Result<std::vector<backend::FileExtent>> StoreFs::list_extents(InodeId ino, uint64_t off, uint64_t len) {
  using R = Result<std::vector<backend::FileExtent>>;
  if (Status st = flush_cached(ino); !st) return R::error(st.err());
  auto rt = kv_->begin_read();
  if (!rt) return R::error(rt.err());
  auto r = get_inode(*rt.value(), ino);
  if (!r) return R::error(r.err());
  if (off >= kMaxFileSize) return std::vector<backend::FileExtent>{};
  uint64_t b0 = off / kBlockSize;
  uint64_t b1 = len > kMaxFileSize - off ? kMaxFileBlocks : block_up(off + len) / kBlockSize;
  if (b1 <= b0) return std::vector<backend::FileExtent>{};
  auto q = map_query(*rt.value(), ino, b0, b1 - b0);
  if (!q) return R::error(q.err());
  std::vector<backend::FileExtent> out;
  for (const Extent& e : q.value()) {
    auto sh = shared_in(*rt.value(), {e.pblk, e.len});
    if (!sh) return R::error(sh.err());
    out.push_back({e.lblk * kBlockSize, e.len * kBlockSize, e.pblk * kBlockSize, e.unwritten,
                   !sh.value().empty()});
  }
  return out;
}

}  // namespace pnfsgw::store
