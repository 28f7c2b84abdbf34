// StoreFs: the write cache (delayed allocation; docs/store.md "Write cache").
//
// A write that cannot go in place (it needs new blocks: a hole, past EOF,
// copy-on-write) is kept in memory and answered at once; fsync() (NFS
// COMMIT), age, memory pressure, or any other change of the file writes the
// file's cached bytes back in one batch: one allocation per run, one device
// flush, one KV commit. A file written and removed before that costs no
// device I/O. Until then read() lays the cached bytes over the store's and
// getattr() shows their size, mtime and change attribute. A crash loses
// cached bytes, as the NFS write verifier (new at every start) tells
// clients that wrote UNSTABLE and have not committed.
#include <algorithm>
#include <cstring>

#include "backend/store/store_cache.h"
#include "backend/store/store_internal.h"
#include "common/log.h"

namespace pnfsgw::store {

using backend::InodeId;

namespace {

// Blocks a write-back of r may allocate, at most: every byte in a block of
// its own plus two partial blocks per piece.
uint64_t reserve_for(const DirtyRanges& r) { return (r.bytes() + kBlockSize - 1) / kBlockSize + 2 * r.count(); }

// Free blocks a cached write must leave, so that metadata and the full path
// still find some when the cache reserves the rest.
constexpr uint64_t kSpareBlocks = 256;

bool later(const backend::Timespec& a, const backend::Timespec& b) {
  return a.sec > b.sec || (a.sec == b.sec && a.nsec > b.nsec);
}

}  // namespace

bool StoreFs::is_cached(InodeId ino) const {
  if (!cache_ || cache_->count.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lk(cache_->mu);
  return cache_->files.count(ino) != 0;
}

std::optional<Result<size_t>> StoreFs::write_cached(InodeId ino, uint64_t off, std::span<const uint8_t> data,
                                                    bool may_wait) {
  WriteCache* c = cache_.get();
  if (!c || data.size() > c->limit / 4 || read_only()) return std::nullopt;
  if (!is_cached(ino)) {  // regular files only; the full path answers for the rest
    auto rt = kv_->begin_read();
    if (!rt) return std::nullopt;
    auto r = get_inode(*rt.value(), ino);
    if (!r || r.value().type != backend::FileType::kRegular) return std::nullopt;
  }
  const uint64_t need = (data.size() + kBlockSize - 1) / kBlockSize + 2;
  for (int attempt = 0; attempt < 4; attempt++) {
    std::unique_lock lk(c->mu);
    if (c->reserved + need + kSpareBlocks > free_blocks_.load()) return std::nullopt;
    if (c->bytes + data.size() > c->limit) {
      if (!may_wait) return std::nullopt;
      lk.unlock();
      make_room(data.size());
      continue;
    }
    std::shared_ptr<CachedFile>& slot = c->files[ino];
    if (!slot) {
      slot = std::make_shared<CachedFile>();
      c->count.fetch_add(1, std::memory_order_release);
    }
    CachedFile& f = *slot;
    if (f.ranges.empty()) f.since = std::chrono::steady_clock::now();
    const uint64_t bytes_before = f.ranges.bytes();
    f.ranges.write(off, data);
    c->bytes += f.ranges.bytes() - bytes_before;
    const uint64_t reserve = reserve_for(f.ranges) + reserve_for(f.flushing);
    c->reserved += reserve - f.reserved;
    f.reserved = reserve;
    f.mtime = now();
    f.bumps++;
    if (c->bytes > c->limit / 2) c->wb_cv.notify_one();
    return Result<size_t>(data.size());
  }
  return std::nullopt;
}

Status StoreFs::flush_cached(InodeId ino) {
  if (!cache_ || cache_->count.load(std::memory_order_acquire) == 0) return Status::ok();
  std::shared_ptr<CachedFile> f;
  {
    std::lock_guard lk(cache_->mu);
    auto it = cache_->files.find(ino);
    if (it == cache_->files.end()) return Status::ok();
    f = it->second;
  }
  std::lock_guard fl(f->flush_mu);  // waits for a write-back under way
  {
    std::lock_guard lk(cache_->mu);
    if (f->gone) return Status::ok();  // that write-back took everything
    if (f->ranges.empty()) return Status::ok();
    // What is cached now goes back; later writes stay in ranges.
    f->flushing = std::move(f->ranges);
    f->ranges = DirtyRanges();
    f->flush_bumps = f->bumps;
  }
  return flush_file(ino, *f);
}

Status StoreFs::flush_file(InodeId ino, CachedFile& f) {
  const DirtyRanges::Pieces& pieces = f.flushing.pieces();
  // Runs of pieces: pieces that share a block are joined, with the file's
  // own bytes between them, so no two runs touch one block (write_locked
  // would otherwise move a block it mapped earlier in the same change).
  struct Run {
    uint64_t off;
    std::span<const uint8_t> data;
    std::vector<uint8_t> joined;
  };
  std::vector<Run> runs;
  Status st;
  for (const auto& [off, bytes] : pieces) {
    if (!runs.empty()) {
      Run& last = runs.back();
      const uint64_t last_end = last.off + last.data.size();
      if ((last_end - 1) / kBlockSize >= off / kBlockSize) {
        if (last.joined.empty()) last.joined.assign(last.data.begin(), last.data.end());
        const size_t at = last.joined.size();
        last.joined.resize(at + (off - last_end));  // zeroes past the store's EOF
        if (off > last_end) {
          bool eof;
          auto r = read_store(ino, last_end, std::span(last.joined).subspan(at, off - last_end), &eof);
          if (!r) {
            st = r.status();
            break;
          }
        }
        last.joined.insert(last.joined.end(), bytes.begin(), bytes.end());
        last.data = last.joined;
        continue;
      }
    }
    runs.push_back({off, bytes, {}});
  }
  if (st) {
    const uint64_t lo = runs.front().off, hi = f.flushing.end();
    st = broken_change(
        [&](uint64_t* file, uint64_t* boff, uint64_t* blen, BreakKind* kind) {
          return plan_write(ino, lo, hi, file, boff, blen, kind);
        },
        [&](Tx& t, const BreakToken* tok) {
          auto r = get_inode(t.w, ino);
          if (!r) return r.status();
          InodeRec& rec = r.value();
          if (rec.type != backend::FileType::kRegular) return Status::error(EINVAL);
          const uint64_t change0 = rec.change;
          const backend::Timespec m0 = rec.mtime, c0 = rec.ctime;
          for (const Run& run : runs)
            if (Status s = write_locked(t, tok, ino, rec, run.off, run.data); !s) return s;
          // What getattr() showed while the bytes were cached: their times,
          // and a change attribute that does not go back.
          {
            std::lock_guard lk(cache_->mu);
            rec.mtime = later(f.mtime, m0) ? f.mtime : m0;
            rec.ctime = later(f.mtime, c0) ? f.mtime : c0;
            rec.change = std::max(rec.change, change0 + f.flush_bumps);
            // This transaction holds the KV's one writer, so no snapshot
            // reaches this value before it commits (if it does not, the
            // end of flush_file() clears it).
            f.commit_change = rec.change;
          }
          return put_inode(t, ino, rec);
        });
  }
  std::lock_guard lk(cache_->mu);
  if (f.gone) return st;  // the inode was freed: forget_cached took it all
  const uint64_t bytes_before = f.ranges.bytes() + f.flushing.bytes();
  if (!st && st.err() != ESTALE) {
    // Kept, under the newer bytes: a later fsync retries.
    DirtyRanges merged = std::move(f.flushing);
    for (const auto& [off, bytes] : f.ranges.pieces()) merged.write(off, bytes);
    f.ranges = std::move(merged);
    f.flushing = DirtyRanges();
  } else {
    // Written back (or the inode is gone): those bytes leave the cache.
    if (st) {
      std::vector<WriteCache::Committed>& r = cache_->recent[ino];
      if (r.size() == 4) r.erase(r.begin());
      r.push_back({f.commit_change, f.flush_bumps, std::chrono::steady_clock::now()});
      cache_->recent_count.store(cache_->recent.size(), std::memory_order_release);
    }
    f.flushing = DirtyRanges();
    f.bumps -= f.flush_bumps;
    if (st) cache_->writebacks++;
    if (!st) f.ranges = DirtyRanges();  // ESTALE: later writes to it are void too
  }
  f.flush_bumps = 0;
  f.commit_change = ~uint64_t{0};
  cache_->bytes = cache_->bytes - bytes_before + f.ranges.bytes();
  const uint64_t reserve = reserve_for(f.ranges);
  cache_->reserved = cache_->reserved - f.reserved + reserve;
  f.reserved = reserve;
  if (f.ranges.empty()) {
    f.gone = true;
    cache_->files.erase(ino);
    cache_->count.fetch_sub(1, std::memory_order_release);
  }
  return st;
}

Status StoreFs::flush_all_cached() {
  if (!cache_) return Status::ok();
  std::vector<uint64_t> inos;
  {
    std::lock_guard lk(cache_->mu);
    for (const auto& [ino, f] : cache_->files) inos.push_back(ino);
  }
  Status first;
  for (uint64_t ino : inos)
    if (Status st = flush_cached(ino); !st && st.err() != ESTALE && first) first = st;
  return first;
}

void StoreFs::forget_cached(InodeId ino) {
  if (!cache_ || cache_->count.load(std::memory_order_acquire) == 0) return;
  // Not flush_mu: a write-back of this file may be queued behind the batch
  // that freed it; it finds the inode gone (ESTALE) and the entry gone.
  std::lock_guard lk(cache_->mu);
  auto it = cache_->files.find(ino);
  if (it == cache_->files.end()) return;
  CachedFile& f = *it->second;
  f.gone = true;
  cache_->bytes -= f.ranges.bytes() + f.flushing.bytes();
  cache_->reserved -= f.reserved;
  cache_->files.erase(it);
  cache_->count.fetch_sub(1, std::memory_order_release);
}

void StoreFs::fold_cached(InodeId ino, backend::Attr& a) const {
  if (!cache_) return;
  if (cache_->count.load(std::memory_order_acquire) == 0 &&
      cache_->recent_count.load(std::memory_order_acquire) == 0)
    return;
  // a is from a snapshot taken before this lock; its change attribute
  // (without the boot's high bits) tells which write-backs it has.
  const uint64_t snap_change = a.change & ((uint64_t{1} << 40) - 1);
  std::lock_guard lk(cache_->mu);
  if (auto r = cache_->recent.find(ino); r != cache_->recent.end())
    for (const WriteCache::Committed& c : r->second)
      if (snap_change < c.change) a.change += c.bumps;  // from before that commit
  auto it = cache_->files.find(ino);
  if (it == cache_->files.end()) return;
  const CachedFile& f = *it->second;
  a.size = std::max({a.size, f.ranges.end(), f.flushing.end()});
  if (later(f.mtime, a.mtime)) a.mtime = f.mtime;
  if (later(f.mtime, a.ctime)) a.ctime = f.mtime;
  a.change += snap_change >= f.commit_change ? f.bumps - f.flush_bumps : f.bumps;
}

void StoreFs::forget_committed(std::chrono::steady_clock::time_point before) {
  std::lock_guard lk(cache_->mu);
  for (auto it = cache_->recent.begin(); it != cache_->recent.end();) {
    std::vector<WriteCache::Committed>& v = it->second;
    std::erase_if(v, [&](const WriteCache::Committed& c) { return c.when < before; });
    it = v.empty() ? cache_->recent.erase(it) : std::next(it);
  }
  cache_->recent_count.store(cache_->recent.size(), std::memory_order_release);
}

Result<size_t> StoreFs::read(InodeId ino, uint64_t offset, std::span<uint8_t> buf, bool* eof) {
  if (!cache_ || cache_->count.load(std::memory_order_acquire) == 0) return read_store(ino, offset, buf, eof);
  // The cached bytes are copied before the store is read: a write-back in
  // between puts the same bytes in the store, so either way the read sees
  // every write that finished before it began.
  DirtyRanges snap;
  uint64_t cached_end = 0;
  {
    std::lock_guard lk(cache_->mu);
    auto it = cache_->files.find(ino);
    if (it != cache_->files.end()) {
      const uint64_t end = offset + buf.size();
      // The bytes being written back first, then the newer ones over them.
      for (const DirtyRanges* r : {&it->second->flushing, &it->second->ranges}) {
        cached_end = std::max(cached_end, r->end());
        auto p = r->pieces().upper_bound(offset);
        if (p != r->pieces().begin()) --p;
        for (; p != r->pieces().end() && p->first < end; ++p) {
          uint64_t s = std::max(offset, p->first), e = std::min(end, p->first + p->second.size());
          if (e > s) snap.write(s, std::span(p->second).subspan(s - p->first, e - s));
        }
      }
    }
  }
  auto r = read_store(ino, offset, buf, eof);
  if (!r && r.err() == EIO && cached_end > offset) {
    // Bad blocks the cached bytes cover (rewritten, not yet written back)
    // do not fail the read.
    auto a = getattr(ino);
    if (!a || a.value().size <= offset) return r;
    const uint64_t n = std::min<uint64_t>(buf.size(), a.value().size - offset);
    if (snap.bytes() != n) return r;  // some byte would come from the store
    *eof = offset + n >= a.value().size;
    snap.overlay(offset, buf.first(n));
    return static_cast<size_t>(n);
  }
  if (!r || cached_end == 0) return r;
  size_t n = r.value();
  if (*eof) {  // the store's file ends here; cached bytes may go further
    uint64_t want = cached_end > offset ? std::min<uint64_t>(buf.size(), cached_end - offset) : 0;
    if (want > n) {
      memset(buf.data() + n, 0, want - n);
      n = want;
    }
    *eof = offset + n >= cached_end;
  }
  snap.overlay(offset, buf.first(n));
  return n;
}

void StoreFs::make_room(uint64_t need) {
  for (int i = 0; i < 64; i++) {
    uint64_t oldest = 0;
    std::shared_ptr<CachedFile> busy;
    {
      std::lock_guard lk(cache_->mu);
      if (cache_->bytes + need <= cache_->limit || cache_->files.empty()) return;
      auto best = cache_->files.begin();
      for (auto it = cache_->files.begin(); it != cache_->files.end(); ++it)
        if (it->second->since < best->second->since) best = it;
      oldest = best->first;
      if (!best->second->flushing.empty()) busy = best->second;
    }
    if (busy) {
      // A write-back of it is under way and will free its bytes: wait for
      // that rather than write back what came after it (the writer would
      // then stall for a whole batch of its own; one stream keeps filling
      // the cache while the write-back thread drains it).
      std::lock_guard fl(busy->flush_mu);
      continue;
    }
    if (Status st = flush_cached(oldest); !st && st.err() != ESTALE) return;  // the writer takes the full path
  }
}

void StoreFs::start_writeback() {
  if (opt_.write_cache_bytes == 0 || opt_.inspect_only) return;
  cache_ = std::make_unique<WriteCache>();
  cache_->limit = opt_.write_cache_bytes;
  cache_->age = std::chrono::milliseconds(opt_.write_cache_age_ms);
  cache_->thread = std::thread([this] { writeback_loop(); });
}

void StoreFs::writeback_loop() {
  WriteCache& c = *cache_;
  const auto tick = std::min<std::chrono::milliseconds>(c.age / 2, std::chrono::milliseconds(500));
  std::unique_lock wl(c.wb_mu);
  int last_err = 0;
  while (!c.wb_stop) {
    c.wb_cv.wait_for(wl, std::max(tick, std::chrono::milliseconds(1)));
    if (c.wb_stop) break;
    wl.unlock();
    // Old files first; under pressure, down to a quarter of the limit.
    std::vector<std::pair<std::chrono::steady_clock::time_point, uint64_t>> due;
    bool pressed;
    {
      std::lock_guard lk(c.mu);
      pressed = c.bytes > c.limit / 2;
      auto cutoff = std::chrono::steady_clock::now() - c.age;
      for (const auto& [ino, f] : c.files)
        if (pressed || f->since <= cutoff) due.push_back({f->since, ino});
    }
    forget_committed(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    std::sort(due.begin(), due.end());
    for (const auto& [since, ino] : due) {
      Status st = flush_cached(ino);
      if (!st && st.err() != ESTALE && st.err() != last_err) {
        PLOG_ERROR("store: write-back of inode %llu failed: %s (kept; fsync retries)",
                   static_cast<unsigned long long>(ino), strerror(st.err()));
        last_err = st.err();
      }
      if (st) last_err = 0;
      {
        std::lock_guard lk(c.mu);
        if (pressed && c.bytes <= c.limit / 4) pressed = false;
        if (!pressed && since > std::chrono::steady_clock::now() - c.age) break;
      }
      std::lock_guard sl(c.wb_mu);
      if (c.wb_stop) break;
    }
    wl.lock();
  }
}

void StoreFs::stop_writeback() {
  if (!cache_) return;
  {
    std::lock_guard wl(cache_->wb_mu);
    cache_->wb_stop = true;
  }
  cache_->wb_cv.notify_all();
  if (cache_->thread.joinable()) cache_->thread.join();
  if (Status st = flush_all_cached(); !st)
    PLOG_ERROR("store: cached writes lost at shutdown: %s", strerror(st.err()));
}

uint64_t StoreFs::cached_bytes() {
  if (!cache_) return 0;
  std::lock_guard lk(cache_->mu);
  return cache_->bytes;
}

uint64_t StoreFs::cache_writebacks() { return cache_ ? cache_->writebacks.load() : 0; }

}  // namespace pnfsgw::store
