// StoreFs: read, write (with copy-on-write of shared blocks), truncate,
// fsync and media errors.
#include <algorithm>
#include <cstring>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"
#include "common/log.h"

namespace pnfsgw::store {

using backend::FileType;
using backend::InodeId;

namespace {

Status check_regular(const InodeRec& r) {
  if (r.type == FileType::kDirectory) return Status::error(EISDIR);
  if (r.type != FileType::kRegular) return Status::error(EINVAL);
  return Status::ok();
}

// How write_locked() treats one run of blocks.
enum class SegKind { kInPlace, kConvert, kNew };
struct Seg {
  uint64_t lblk, n;
  SegKind kind;
  uint64_t pblk;   // current block (in place / convert); unused for new
  bool displaces;  // kNew over a mapped block (copy-on-write or bad block)
};

}  // namespace

Status StoreFs::pin_range(InodeId ino, uint64_t offset, size_t count, PinnedRange* out) {
  Status err;
  // Look up the mapping and pin what it points at in one step (pins.h).
  out->pin = pins_.pin_with([&]() -> std::vector<PhysRange> {
    auto rt = kv_->begin_read();
    if (!rt) return err = rt.status(), std::vector<PhysRange>{};
    auto r = get_inode(*rt.value(), ino);
    if (!r) return err = r.status(), std::vector<PhysRange>{};
    if (err = check_regular(r.value()); !err) return {};
    uint64_t size = r.value().size;
    out->n = offset >= size ? 0 : std::min<uint64_t>(count, size - offset);
    out->eof = offset + out->n >= size;
    if (out->n == 0) return {};
    uint64_t b0 = offset / kBlockSize, b1 = (offset + out->n + kBlockSize - 1) / kBlockSize;
    auto q = map_query(*rt.value(), ino, b0, b1 - b0);
    if (!q) return err = q.status(), std::vector<PhysRange>{};
    out->pieces = std::move(q).value();
    std::vector<PhysRange> pin;
    for (const Extent& e : out->pieces) {
      if (e.unwritten) continue;
      auto b = bad_in(*rt.value(), {e.pblk, e.len});
      if (!b) return err = b.status(), std::vector<PhysRange>{};
      if (!b.value().empty()) out->bad = true;
      pin.push_back({e.pblk, e.len});
    }
    return pin;
  });
  return err;
}

namespace {
// A read_segments() lease: the pin of the blocks the segments point at.
class PinLease final : public backend::ReadLease {
 public:
  explicit PinLease(PinTable::Pin pin) : pin_(std::move(pin)) {}

 private:
  PinTable::Pin pin_;
};
}  // namespace

Result<backend::SegmentedRead> StoreFs::read_segments(InodeId ino, uint64_t offset, size_t count) {
  using R = Result<backend::SegmentedRead>;
  const int fd = dev_->fd();
  // Cached bytes are in memory only: the caller copies them (read()).
  if (fd < 0 || !sendfile_ok_ || is_cached(ino)) return R::error(ENOTSUP);
  PinnedRange m;
  if (Status st = pin_range(ino, offset, count, &m); !st) return R::error(st.err());
  // A known media error fails the READ before any byte is handed out. An
  // unknown one surfaces in the sender (sendfile EIO), which can only cut
  // the connection: the reply's header is already on the wire.
  if (m.bad) return R::error(EIO);
  backend::SegmentedRead out;
  out.count = m.n;
  out.eof = m.eof;
  const uint64_t end = offset + m.n;
  uint64_t pos = offset;
  auto add = [&](int seg_fd, uint64_t dev_off, uint64_t len) {
    if (len == 0) return;
    if (!out.segments.empty()) {
      backend::ReadSegment& last = out.segments.back();
      if (last.fd == seg_fd && (seg_fd < 0 || last.offset + last.length == dev_off)) {
        last.length += len;
        return;
      }
    }
    out.segments.push_back({seg_fd, seg_fd < 0 ? 0 : dev_off, len});
  };
  for (const Extent& e : m.pieces) {
    uint64_t s = std::max(e.lblk * kBlockSize, offset), t = std::min(e.lend() * kBlockSize, end);
    if (t <= s) continue;
    if (s > pos) add(-1, 0, s - pos);  // a hole
    if (e.unwritten) {
      add(-1, 0, t - s);
    } else {
      add(fd, e.pblk * kBlockSize + (s - e.lblk * kBlockSize), t - s);
    }
    pos = t;
  }
  if (end > pos) add(-1, 0, end - pos);
  // Still pinned: the blocks cannot be freed before they are marked.
  for (const backend::ReadSegment& seg : out.segments)
    if (seg.fd >= 0)
      mark_sent(seg.offset / kBlockSize, block_up(seg.offset + seg.length) / kBlockSize -
                                             seg.offset / kBlockSize);
  if (m.pin.active()) out.lease = std::make_unique<PinLease>(std::move(m.pin));
  return out;
}

void StoreFs::mark_sent(uint64_t pblk, uint64_t len) {
  uint64_t lo = pblk, hi = pblk + len;
  std::lock_guard lk(sent_mu_);
  auto it = sent_.upper_bound(lo);
  if (it != sent_.begin() && std::prev(it)->second >= lo) {
    --it;
    lo = it->first;
    hi = std::max(hi, it->second);
    it = sent_.erase(it);
  }
  while (it != sent_.end() && it->first <= hi) {
    hi = std::max(hi, it->second);
    it = sent_.erase(it);
  }
  sent_.emplace(lo, hi);
}

void StoreFs::drop_sent(PhysRange r) {
  const uint64_t lo = r.pblk, hi = r.pblk + r.len;
  std::vector<PhysRange> parts;
  {
    std::lock_guard lk(sent_mu_);
    auto it = sent_.upper_bound(lo);
    if (it != sent_.begin()) --it;
    while (it != sent_.end() && it->first < hi) {
      if (it->second <= lo) {
        ++it;
        continue;
      }
      const uint64_t a = it->first, b = it->second;
      const uint64_t s = std::max(lo, a), e = std::min(hi, b);
      parts.push_back({s, e - s});
      it = sent_.erase(it);
      if (a < s) sent_.emplace(a, s);
      if (e < b) it = std::next(sent_.emplace(e, b).first);
    }
  }
  for (const PhysRange& p : parts) {
    if (Status st = dev_->drop_cache(p.pblk * kBlockSize, p.len * kBlockSize); !st) {
      // Stop handing out file ranges: from now on READ copies.
      if (sendfile_ok_.exchange(false))
        PLOG_ERROR("store: cannot drop the page cache of freed blocks (%s); READ copies from now on",
                   strerror(st.err()));
    }
  }
}

Result<size_t> StoreFs::read_store(InodeId ino, uint64_t offset, std::span<uint8_t> buf, bool* eof) {
  using R = Result<size_t>;
  PinnedRange m;
  if (Status st = pin_range(ino, offset, buf.size(), &m); !st) return R::error(st.err());
  *eof = m.eof;
  if (m.bad) return R::error(EIO);  // a known media error: logged when found
  uint64_t end = offset + m.n;
  uint64_t pos = offset;
  auto zero_to = [&](uint64_t to) {
    if (to > pos) memset(buf.data() + (pos - offset), 0, to - pos);
    pos = std::max(pos, to);
  };
  std::vector<PhysRange> found;  // bad blocks met on the way
  for (const Extent& e : m.pieces) {
    uint64_t s = std::max(e.lblk * kBlockSize, offset), t = std::min(e.lend() * kBlockSize, end);
    zero_to(s);
    if (e.unwritten) {
      zero_to(t);
      continue;
    }
    uint64_t dev_off = e.pblk * kBlockSize + (s - e.lblk * kBlockSize);
    if (Status st = dev_->read(dev_off, buf.subspan(s - offset, t - s)); !st) {
      if (st.err() != EIO) return R::error(st.err());
      // Find the bad blocks precisely, then record and report them.
      std::vector<uint8_t> probe(kBlockSize);
      for (uint64_t b = dev_off / kBlockSize; b * kBlockSize < dev_off + (t - s); b++)
        if (!dev_->read(b * kBlockSize, probe)) found.push_back({b, 1});
      if (found.empty()) return R::error(EIO);
      break;
    }
    pos = t;
  }
  if (!found.empty()) {
    { PinTable::Pin done = std::move(m.pin); }  // media_error may wait for pins
    for (const PhysRange& f : found) media_error(f.pblk * kBlockSize, kBlockSize);
    return R::error(EIO);
  }
  zero_to(end);
  return static_cast<size_t>(m.n);
}

Result<size_t> StoreFs::write(InodeId ino, uint64_t offset, std::span<const uint8_t> data) {
  if (offset > kMaxFileSize || data.size() > kMaxFileSize - offset) return Result<size_t>::error(EFBIG);
  if (data.empty()) {
    auto a = getattr(ino);
    if (!a) return Result<size_t>::error(a.err());
    return size_t{0};
  }
  if (auto fast = write_uncommitted(ino, offset, data, true)) return *fast;
  if (Status st = flush_cached(ino); !st) return Result<size_t>::error(st.err());
  uint64_t end = offset + data.size();
  Status st = broken_change(
      [&](uint64_t* file, uint64_t* off, uint64_t* len, BreakKind* kind) {
        return plan_write(ino, offset, end, file, off, len, kind);
      },
      [&](Tx& t, const BreakToken* tok) {
        auto r = get_inode(t.w, ino);
        if (!r) return r.status();
        if (Status s = check_regular(r.value()); !s) return s;
        if (Status s = write_locked(t, tok, ino, r.value(), offset, data); !s) return s;
        return put_inode(t, ino, r.value());
      });
  if (!st) return Result<size_t>::error(st.err());
  return data.size();
}

std::optional<Result<size_t>> StoreFs::write_uncommitted(InodeId ino, uint64_t offset,
                                                         std::span<const uint8_t> data, bool may_wait) {
  // In place when the blocks are there (and nothing of the file is cached,
  // which must stay the latest); else into the write cache.
  if (!is_cached(ino)) {
    if (auto fast = write_in_place(ino, offset, data)) {
      if (!*fast) return Result<size_t>::error(fast->err());
      return data.size();
    }
  }
  return write_cached(ino, offset, data, may_wait);
}

std::optional<Result<size_t>> StoreFs::write_quick(InodeId ino, uint64_t offset,
                                                   std::span<const uint8_t> data) {
  // A break that is not granted at once waits for a recall; the odd cases
  // (nothing to write, past the largest size) are write()'s to answer.
  if (data.empty() || offset > kMaxFileSize || data.size() > kMaxFileSize - offset ||
      !breaker_->grants_at_once())
    return std::nullopt;
  return write_uncommitted(ino, offset, data, false);
}

Status StoreFs::plan_write(InodeId ino, uint64_t offset, uint64_t end, uint64_t* file, uint64_t* off,
                           uint64_t* len, BreakKind* kind) {
  // Copy-on-write of shared blocks (or moving off bad ones) unmaps them.
  *file = ino;
  *off = block_down(offset);
  *len = block_up(end) - *off;
  *kind = BreakKind::kWrite;
  auto rt = kv_->begin_read();
  if (!rt) return rt.status();
  auto q = map_query(*rt.value(), ino, *off / kBlockSize, *len / kBlockSize);
  if (!q) return q.status();
  auto r = get_inode(*rt.value(), ino);
  if (!r) return r.status();
  uint64_t size = r.value().size;
  for (const Extent& e : q.value()) {
    auto sh = shared_in(*rt.value(), {e.pblk, e.len});
    auto bd = bad_in(*rt.value(), {e.pblk, e.len});
    if (!sh || !bd) return Status::error(EIO);
    if (!sh.value().empty() || !bd.value().empty()) *kind = BreakKind::kUnmap;
    // Extending past a partial EOF block moves that block (see write_locked).
    if (end > size && size % kBlockSize != 0 && !e.unwritten && e.lblk <= size / kBlockSize &&
        size / kBlockSize < e.lend())
      *kind = BreakKind::kUnmap;
  }
  return Status::ok();
}

Status StoreFs::write_locked(Tx& t, const BreakToken* tok, uint64_t ino, InodeRec& r, uint64_t off,
                             std::span<const uint8_t> data) {
  uint64_t end = off + data.size();
  uint64_t b0 = off / kBlockSize, b1 = (end + kBlockSize - 1) / kBlockSize;
  if (!covers(tok, ino, b0 * kBlockSize, (b1 - b0) * kBlockSize, BreakKind::kWrite))
    return Status::error(kReplan);
  auto q = map_query(t.w, ino, b0, b1 - b0);
  if (!q) return q.status();
  const std::vector<Extent>& pieces = q.value();
  // Split the blocks into runs written in place, preallocated blocks turned
  // into data in place, and runs that get new blocks (holes, shared, bad).
  std::vector<Seg> segs;
  uint64_t pos = b0;
  for (const Extent& e : pieces) {
    if (e.lblk > pos) segs.push_back({pos, e.lblk - pos, SegKind::kNew, 0, false});
    auto sh = shared_in(t.w, {e.pblk, e.len});
    auto bd = bad_in(t.w, {e.pblk, e.len});
    if (!sh) return sh.status();
    if (!bd) return bd.status();
    std::vector<PhysRange> moving = sh.value();
    moving.insert(moving.end(), bd.value().begin(), bd.value().end());
    std::sort(moving.begin(), moving.end(), [](auto& a, auto& b) { return a.pblk < b.pblk; });
    uint64_t p = e.pblk;
    auto keep = [&](uint64_t to) {
      if (to > p)
        segs.push_back({e.lblk + (p - e.pblk), to - p, e.unwritten ? SegKind::kConvert : SegKind::kInPlace, p, false});
    };
    for (const PhysRange& m : moving) {
      uint64_t m0 = std::max(m.pblk, p), m1 = m.pblk + m.len;
      if (m1 <= p) continue;
      keep(m0);
      segs.push_back({e.lblk + (m0 - e.pblk), m1 - m0, SegKind::kNew, m0, true});
      p = m1;
    }
    keep(e.pblk + e.len);
    pos = e.lend();
  }
  if (pos < b1) segs.push_back({pos, b1 - pos, SegKind::kNew, 0, false});
  // A write past EOF never lands in place in the block holding EOF: that
  // block gets a copy instead. Bytes past EOF must stay zero on the device
  // (a later truncate up or write beyond shows them), and an in-place write
  // there would survive a crash that loses the commit growing the file.
  if (end > r.size && r.size % kBlockSize != 0) {
    uint64_t eb = r.size / kBlockSize;
    for (size_t i = 0; i < segs.size(); i++) {
      Seg s = segs[i];
      if (s.kind != SegKind::kInPlace || eb < s.lblk || eb >= s.lblk + s.n) continue;
      std::vector<Seg> parts;
      if (eb > s.lblk) parts.push_back({s.lblk, eb - s.lblk, SegKind::kInPlace, s.pblk, false});
      parts.push_back({eb, 1, SegKind::kNew, s.pblk + (eb - s.lblk), true});
      if (eb + 1 < s.lblk + s.n)
        parts.push_back({eb + 1, s.lblk + s.n - eb - 1, SegKind::kInPlace, s.pblk + (eb + 1 - s.lblk), false});
      segs.erase(segs.begin() + static_cast<long>(i));
      segs.insert(segs.begin() + static_cast<long>(i), parts.begin(), parts.end());
      break;
    }
  }

  uint64_t need = 0;
  for (const Seg& s : segs) {
    if (s.kind != SegKind::kNew) continue;
    need += s.n;
    if (s.displaces && !covers(tok, ino, s.lblk * kBlockSize, s.n * kBlockSize, BreakKind::kUnmap))
      return Status::error(kReplan);
    if (s.displaces) {  // a partly rewritten bad block cannot keep its other bytes
      auto bd = bad_in(t.w, {s.pblk, s.n});
      if (!bd) return bd.status();
      for (const PhysRange& b : bd.value()) {
        uint64_t l = s.lblk + (b.pblk - s.pblk);
        if (l * kBlockSize < off || (l + b.len) * kBlockSize > end) return Status::error(EIO);
      }
    }
  }
  std::vector<PhysRange> fresh;
  if (need > 0) {
    auto got = alloc_after(t, ino, b0, need);
    if (!got) return got.status();
    fresh = std::move(got).value();
  }
  // Data first: device writes, then one flush before the metadata commit.
  std::vector<PhysRange> to_flush;  // blocks the commit will point at
  size_t fi = 0;
  uint64_t fused = 0;  // blocks of fresh[fi] already handed out
  struct NewMap {
    uint64_t lblk, n;
    std::vector<Extent> with;
  };
  std::vector<NewMap> new_maps;
  for (const Seg& s : segs) {
    if (s.kind == SegKind::kInPlace) {
      uint64_t s0 = std::max(s.lblk * kBlockSize, off), s1 = std::min((s.lblk + s.n) * kBlockSize, end);
      uint64_t dev_off = s.pblk * kBlockSize + (s0 - s.lblk * kBlockSize);
      if (Status st = dev_->write(dev_off, data.subspan(s0 - off, s1 - s0)); !st) return st;
      continue;
    }
    if (s.kind == SegKind::kConvert) {
      if (Status st = write_new_blocks(s.lblk, s.n, s.pblk, off, data, {}); !st) return st;
      to_flush.push_back({s.pblk, s.n});
      continue;
    }
    NewMap m{s.lblk, s.n, {}};
    for (uint64_t l = s.lblk; l < s.lblk + s.n;) {
      uint64_t take = std::min(fresh[fi].len - fused, s.lblk + s.n - l);
      uint64_t p = fresh[fi].pblk + fused;
      if (Status st = write_new_blocks(l, take, p, off, data, pieces); !st) return st;
      to_flush.push_back({p, take});
      m.with.push_back({l, take, p, false});
      l += take;
      fused += take;
      if (fused == fresh[fi].len) fi++, fused = 0;
    }
    new_maps.push_back(std::move(m));
  }
  if (!to_flush.empty()) t.need_flush = true;  // before the commit (group commit, store_commit.cc)
  for (const Seg& s : segs)
    if (s.kind == SegKind::kConvert)
      if (Status st = set_unwritten(t, ino, s.lblk, s.n, false); !st) return st;
  for (const NewMap& m : new_maps)
    if (Status st = remap(t, ino, r, m.lblk, m.n, m.with); !st) return st;
  r.size = std::max(r.size, end);
  touch(r, true);
  return Status::ok();
}

Status StoreFs::write_new_blocks(uint64_t lblk, uint64_t n, uint64_t pblk, uint64_t off,
                                 std::span<const uint8_t> data, const std::vector<Extent>& old) {
  uint64_t end = off + data.size();
  std::vector<uint8_t> block;
  for (uint64_t i = 0; i < n;) {
    uint64_t bs = (lblk + i) * kBlockSize, be = bs + kBlockSize;
    if (bs >= off && be <= end) {  // a run of whole blocks straight from data
      uint64_t j = i + 1;
      while (j < n && (lblk + j + 1) * kBlockSize <= end) j++;
      if (Status st = dev_->write((pblk + i) * kBlockSize, data.subspan(bs - off, (j - i) * kBlockSize)); !st)
        return st;
      i = j;
      continue;
    }
    // An edge block: its old contents (or zeroes) around the new bytes.
    block.assign(kBlockSize, 0);
    for (const Extent& e : old) {
      uint64_t l = lblk + i;
      if (e.unwritten || l < e.lblk || l >= e.lend()) continue;
      if (Status st = dev_->read((e.pblk + (l - e.lblk)) * kBlockSize, block); !st) return st;
    }
    uint64_t c0 = std::max(bs, off), c1 = std::min(be, end);
    if (c1 > c0) memcpy(block.data() + (c0 - bs), data.data() + (c0 - off), c1 - c0);
    if (Status st = dev_->write((pblk + i) * kBlockSize, block); !st) return st;
    i++;
  }
  return Status::ok();
}

Status StoreFs::zero_bytes(Tx& t, const BreakToken* tok, uint64_t ino, InodeRec& r, uint64_t off,
                           uint64_t len) {
  if (len == 0) return Status::ok();
  uint64_t b0 = off / kBlockSize, b1 = (off + len + kBlockSize - 1) / kBlockSize;
  auto q = map_query(t.w, ino, b0, b1 - b0);
  if (!q) return q.status();
  // Holes and preallocated blocks already read as zeroes.
  for (const Extent& e : q.value()) {
    if (e.unwritten) continue;
    uint64_t s0 = std::max(e.lblk * kBlockSize, off), s1 = std::min(e.lend() * kBlockSize, off + len);
    std::vector<uint8_t> zeros(s1 - s0, 0);
    if (Status st = write_locked(t, tok, ino, r, s0, zeros); !st) return st;
    // write_locked leaves bytes overwritten in place unflushed (durable at
    // fsync), but these zeroes belong to a completed punch, zero range or
    // truncate: they must land before its commit, or a crash brings the old
    // bytes back (inside EOF, or past it when the file grows again). Found
    // by tests/crash (seeds 3, 12, 14, 49). Flushing the old blocks is
    // harmless when write_locked moved the bytes to new ones instead.
    t.need_flush = true;
  }
  return Status::ok();
}

Status StoreFs::truncate_locked(Tx& t, const BreakToken* tok, InodeId ino, InodeRec& r,
                                uint64_t new_size) {
  if (new_size < r.size) {
    if (!covers(tok, ino, block_down(new_size), to_eof(block_down(new_size)), BreakKind::kUnmap))
      return Status::error(kReplan);
    uint64_t nb = (new_size + kBlockSize - 1) / kBlockSize;
    // Bytes past the new EOF in its last block must read as zeroes later.
    if (Status st = zero_bytes(t, tok, ino, r, new_size, std::min(r.size, nb * kBlockSize) - new_size); !st)
      return st;
    if (Status st = remap(t, ino, r, nb, kMaxFileBlocks - nb, {}); !st) return st;
  } else if (new_size > r.size) {
    if (!covers(tok, ino, block_down(r.size), block_up(new_size) - block_down(r.size), BreakKind::kWrite))
      return Status::error(kReplan);
  }
  r.size = new_size;
  touch(r, true);
  return Status::ok();
}

Status StoreFs::fsync(InodeId ino, bool) {
  auto a = getattr(ino);
  if (!a) return a.status();
  if (Status st = flush_cached(ino); !st) return st;
  // Every metadata commit is already synced; the data written in place is
  // not, nor the times of in-place overwrites (data first).
  if (Status st = dev_->flush(); !st) return st;
  return persist_times(ino);
}

void StoreFs::media_error(uint64_t dev_off, uint64_t len) {
  if (len == 0) return;
  uint64_t b0 = dev_off / kBlockSize;
  uint64_t b1 = std::min(nblocks_, (dev_off + len - 1) / kBlockSize + 1);
  if (b0 == 0) {
    go_read_only("media error in the superblock (device block 0)");
    b0 = 1;
  }
  if (b0 >= b1) return;
  {
    auto rt = kv_->begin_read();
    std::string owners = rt ? describe_owners(*rt.value(), {b0, b1 - b0}) : "unknown (metadata unreadable)";
    PLOG_ERROR("store: media error on device blocks %llu-%llu; affected: %s",
               static_cast<unsigned long long>(b0), static_cast<unsigned long long>(b1 - 1), owners.c_str());
  }
  Status st = mutate([&](Tx& t) {
    auto known = bad_in(t.w, {b0, b1 - b0});
    if (!known) return known.status();
    uint64_t p = b0;
    auto mark = [&](uint64_t a, uint64_t b) -> Status {
      if (b <= a) return Status::ok();
      if (Status s = t.w.put(db_->bad, block_key(a), encode_u64(b - a)); !s) return s;
      bad_count_++;
      // Free blocks in it leave service at once.
      for (const PhysRange& f : alloc_.free_overlapping(a, b)) {
        uint64_t f0 = std::max(f.pblk, a), f1 = std::min(f.pblk + f.len, b);
        if (Status s = alloc_.reserve(f0, f1 - f0); !s) return s;
        t.undo_log.push_back({true, {f0, f1 - f0}});
        if (Status s = persist_free(t, f0, f1); !s) return s;
      }
      return Status::ok();
    };
    for (const PhysRange& k : known.value()) {
      if (Status s = mark(p, k.pblk); !s) return s;
      p = k.pblk + k.len;
    }
    return mark(p, b1);
  });
  if (!st && st.err() != EROFS)
    PLOG_ERROR("store: could not record the media error: %s", strerror(st.err()));
}

}  // namespace pnfsgw::store
