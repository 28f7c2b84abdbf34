// StoreFs: opening, formatting, handles, attributes and the change framework
// (mutate / broken_change). Namespace ops are in store_ns.cc, block and
// mapping helpers in store_blocks.cc, data ops in store_io.cc and
// store_space.cc, fsck in store_check.cc.
#include "backend/store/store_fs.h"
#include "backend/store/store_cache.h"

#include <sys/stat.h>
#include <time.h>

#include <cstring>

#include "backend/device/superblock.h"
#include "backend/kv/kv.h"
#include "backend/store/store_internal.h"
#include "common/log.h"

namespace pnfsgw::store {

using backend::Attr;
using backend::InodeId;
using backend::kv::KvStore;

std::string device_path(const std::string& data_dir) { return data_dir + "/device"; }
std::string meta_path(const std::string& data_dir) { return data_dir + "/meta"; }

namespace {

constexpr char kMetaVersion[] = "version";
constexpr char kMetaUuid[] = "uuid";
constexpr char kMetaNextIno[] = "next_ino";
constexpr unsigned kMaxDbs = 16;

Result<std::unique_ptr<KvStore>> open_kv(const StoreOptions& opt) {
  if (::mkdir(opt.meta_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    int e = errno;
    PLOG_ERROR("store: cannot create %s: %s", opt.meta_dir.c_str(), strerror(e));
    return Result<std::unique_ptr<KvStore>>::error(e);
  }
  return KvStore::open(opt.meta_dir, opt.meta_map_size, kMaxDbs);
}

uint64_t uuid_id(const std::array<uint8_t, 16>& uuid) {
  uint64_t id = 0;
  for (int i = 0; i < 8; i++) id = (id << 8) | uuid[i];
  return id;
}

}  // namespace

Result<std::unique_ptr<StoreFs::Dbs>> StoreFs::Dbs::open(KvStore& kv) {
  auto d = std::make_unique<Dbs>();
  struct {
    backend::kv::Db* db;
    const char* name;
  } all[] = {{&d->meta, "meta"},       {&d->inode, "inode"},   {&d->dirent, "dirent"},
             {&d->dircookie, "dircookie"}, {&d->extent, "extent"}, {&d->rmap, "rmap"},
             {&d->refcount, "refcount"}, {&d->free, "free"},     {&d->quarantine, "quarantine"},
             {&d->bad, "bad"}};
  for (auto& [db, name] : all) {
    auto r = kv.open_db(name);
    if (!r) return Result<std::unique_ptr<Dbs>>::error(r.err());
    *db = r.value();
  }
  return d;
}

Status StoreFs::format(backend::device::Device& dev, const StoreOptions& opt) {
  if (dev.size() / kBlockSize < 2) return Status::error(EINVAL);
  auto kv = open_kv(opt);
  if (!kv) return kv.status();
  auto dbs = Dbs::open(*kv.value());
  if (!dbs) return dbs.status();
  Dbs& db = *dbs.value();
  {
    auto rt = kv.value()->begin_read();
    if (!rt) return rt.status();
    if (rt.value()->get(db.meta, kMetaVersion)) {
      PLOG_ERROR("store: %s already holds a store", opt.meta_dir.c_str());
      return Status::error(EEXIST);
    }
  }
  auto sb = backend::device::format(dev);
  if (!sb) return sb.status();
  uint64_t nblocks = dev.size() / kBlockSize;
  auto w = kv.value()->begin_write();
  if (!w) return w.status();
  backend::kv::WriteTxn& t = *w.value();
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  InodeRec root;
  root.type = backend::FileType::kDirectory;
  root.mode = 0755;
  root.nlink = 2;
  root.atime = root.mtime = root.ctime = {ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
  root.change = 1;
  root.parent = kRootIno;
  root.next_cookie = kFirstCookie;
  std::string uuid(sb.value().uuid.begin(), sb.value().uuid.end());
  Status st = t.put(db.meta, kMetaVersion, encode_u64(kSchemaVersion));
  if (st) st = t.put(db.meta, kMetaUuid, uuid);
  if (st) st = t.put(db.meta, kMetaNextIno, encode_u64(kRootIno + 1));
  if (st) st = t.put(db.inode, ino_key(kRootIno), encode_inode(root));
  // Block 0 is the superblock; everything else starts free.
  if (st) st = t.put(db.free, block_key(1), encode_u64(nblocks - 1));
  if (!st) return st;
  return t.commit();
}

StoreFs::StoreFs(backend::device::Device* dev, ExtentBreaker* breaker, const StoreOptions& opt)
    : dev_(dev), breaker_(breaker), opt_(opt) {
  if (!breaker_) {
    null_breaker_ = std::make_unique<NullBreaker>();
    breaker_ = null_breaker_.get();
  }
}

StoreFs::~StoreFs() {
  stop_writeback();  // a clean shutdown writes the cached bytes back
  // and keeps the times of in-place overwrites.
  std::vector<uint64_t> dirty;
  {
    std::lock_guard lk(times_mu_);
    for (const auto& [ino, d] : dirty_times_) dirty.push_back(ino);
  }
  for (uint64_t ino : dirty) (void)persist_times(ino);
  stop_commits();
}

Result<std::unique_ptr<StoreFs>> StoreFs::open(backend::device::Device* dev, ExtentBreaker* breaker,
                                               const StoreOptions& opt) {
  using R = Result<std::unique_ptr<StoreFs>>;
  auto sb = backend::device::read_superblock(*dev);
  if (!sb) return R::error(sb.err());
  std::unique_ptr<StoreFs> fs(new StoreFs(dev, breaker, opt));
  auto kv = open_kv(opt);
  if (!kv) return R::error(kv.err());
  fs->kv_ = std::move(kv).value();
  auto dbs = Dbs::open(*fs->kv_);
  if (!dbs) return R::error(dbs.err());
  fs->db_ = std::move(dbs).value();
  {
    auto rt = fs->kv_->begin_read();
    if (!rt) return R::error(rt.err());
    auto ver = rt.value()->get(fs->db_->meta, kMetaVersion);
    if (!ver) {
      PLOG_ERROR("store: %s holds no store (format it first)", opt.meta_dir.c_str());
      return R::error(ENOENT);
    }
    if (decode_u64(ver.value()) != kSchemaVersion) {
      PLOG_ERROR("store: %s has an unknown schema version", opt.meta_dir.c_str());
      return R::error(EINVAL);
    }
    auto uuid = rt.value()->get(fs->db_->meta, kMetaUuid);
    if (!uuid || uuid.value() != std::string(sb.value().uuid.begin(), sb.value().uuid.end())) {
      PLOG_ERROR("store: the metadata in %s belongs to another device", opt.meta_dir.c_str());
      return R::error(EINVAL);
    }
  }
  fs->store_id_ = uuid_id(sb.value().uuid);
  fs->nblocks_ = dev->size() / kBlockSize;
  if (Status st = fs->load(); !st) return R::error(st.err());
  if (opt.inspect_only) fs->read_only_ = true;
  fs->start_writeback();
  return fs;
}

Status StoreFs::load() {
  auto rt = kv_->begin_read();
  if (!rt) return rt.status();
  const backend::kv::Txn& t = *rt.value();
  auto ni = t.get(db_->meta, kMetaNextIno);
  if (!ni || !decode_u64(ni.value())) return Status::error(EIO);
  next_ino_ = stored_next_ino_ = *decode_u64(ni.value());
  // Free space: everything starts used; the free records punch it out.
  alloc_ = Allocator(nblocks_);
  uint64_t pos = 0;
  bool bad_record = false;
  auto reserve_to = [&](uint64_t end) {
    if (end > pos && !alloc_.reserve(pos, end - pos)) bad_record = true;
  };
  Status st = t.for_each(db_->free, "", "", [&](std::string_view k, std::string_view v) {
    uint64_t start;
    auto len = decode_u64(v);
    if (!decode_block_key(k, &start) || !len || start < pos || *len > nblocks_ - start) {
      bad_record = true;
      return false;
    }
    reserve_to(start);
    pos = start + *len;
    return true;
  });
  if (!st) return st;
  reserve_to(nblocks_);
  if (bad_record) {
    PLOG_ERROR("store: free-space records are damaged; run pnfsgw fsck");
    return Status::error(EIO);
  }
  uint64_t bad = 0;
  st = t.for_each(db_->bad, "", "", [&](std::string_view, std::string_view) { return ++bad, true; });
  if (!st) return st;
  bad_count_ = bad;
  free_blocks_ = alloc_.free_blocks();
  auto boot = t.get(db_->meta, "boot");
  boot_ = (boot ? decode_u64(boot.value()).value_or(0) : 0) + 1;
  rt.value().reset();
  if (opt_.inspect_only) return Status::ok();
  if (Status b = mutate([&](Tx& tx) { return tx.w.put(db_->meta, "boot", encode_u64(boot_)); }); !b)
    return b;
  // Recovery: no layout or pin survives a restart, so quarantine is released.
  std::vector<PhysRange> q;
  {
    auto r2 = kv_->begin_read();
    if (!r2) return r2.status();
    st = r2.value()->for_each(db_->quarantine, "", "", [&](std::string_view k, std::string_view v) {
      uint64_t start;
      auto len = decode_u64(v);
      if (decode_block_key(k, &start) && len) q.push_back({start, *len});
      return true;
    });
    if (!st) return st;
  }
  if (q.empty()) return Status::ok();
  PLOG_INFO("store: releasing %zu quarantined ranges left by the last run", q.size());
  {
    std::lock_guard lk(released_mu_);
    released_ = std::move(q);
  }
  return mutate([](Tx&) { return Status::ok(); });  // drains them
}

// ---------------------------------------------------------------------------
// The change framework.

Status StoreFs::check_writable() const {
  return read_only_.load() ? Status::error(EROFS) : Status::ok();
}

void StoreFs::go_read_only(const std::string& why) {
  if (!read_only_.exchange(true)) PLOG_ERROR("store: now read-only: %s", why.c_str());
}

Status StoreFs::mutate(const std::function<Status(Tx&)>& fn, const BreakToken* tok) {
  if (Status st = check_writable(); !st) return st;
  Request req{&fn, Status::ok(), false, {}};
  if (Status st = commit_queued(req); !st) return st;
  if (req.result && !req.quarantined.empty()) {
    if (tok) {
      breaker_->release_quarantine(*tok, std::move(req.quarantined), [this](std::vector<PhysRange> r) {
        std::lock_guard lk(released_mu_);
        released_.insert(released_.end(), r.begin(), r.end());
      });
    } else {
      PLOG_ERROR("store: blocks quarantined by a change without a break token (bug)");
    }
  }
  return req.result;
}

void StoreFs::undo(Tx& t) {
  for (auto it = t.undo_log.rbegin(); it != t.undo_log.rend(); ++it) {
    Status st = it->allocated ? alloc_.free(it->r.pblk, it->r.len) : alloc_.reserve(it->r.pblk, it->r.len);
    if (!st) go_read_only("allocator undo failed (bug)");
  }
  if (!t.drained.empty()) {
    std::lock_guard lk(released_mu_);
    released_.insert(released_.end(), t.drained.begin(), t.drained.end());
  }
}

Status StoreFs::broken_change(
    const std::function<Status(uint64_t*, uint64_t*, uint64_t*, BreakKind*)>& plan,
    const std::function<Status(Tx&, const BreakToken*)>& change) {
  for (int attempt = 0;; attempt++) {
    if (Status st = check_writable(); !st) return st;
    uint64_t file = 0, off = 0, len = 0;
    BreakKind kind = BreakKind::kWrite;
    if (Status st = plan(&file, &off, &len, &kind); !st) return st;
    Status st;
    if (len == 0) {
      st = mutate([&](Tx& t) { return change(t, nullptr); });
    } else {
      // No lock is held while the breaker waits for clients.
      BreakToken tok = breaker_->break_range(file, off, len, kind);
      st = mutate([&](Tx& t) { return change(t, &tok); }, &tok);
    }
    if (st.err() != kReplan) return st;
    if (attempt == 16) return Status::error(EAGAIN);  // the state keeps moving
  }
}

// ---------------------------------------------------------------------------
// Attributes and handles.

backend::Timespec StoreFs::now() const {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return {ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

void StoreFs::touch(InodeRec& r, bool data) {
  backend::Timespec t = now();
  if (data) r.mtime = t;
  r.ctime = t;
  r.change++;
}

Attr StoreFs::to_attr(InodeId ino, const InodeRec& r) const {
  Attr a;
  a.ino = ino;
  a.type = r.type;
  a.mode = r.mode;
  a.nlink = r.nlink;
  a.uid = r.uid;
  a.gid = r.gid;
  a.size = r.type == backend::FileType::kSymlink ? r.target.size() : r.size;
  a.space_used = r.blocks * kBlockSize;
  a.rdev_major = r.rdev_major;
  a.rdev_minor = r.rdev_minor;
  a.atime = r.atime;
  a.mtime = r.mtime;
  a.ctime = r.ctime;
  a.change = (boot_ << 40) + r.change;
  fold_cached(ino, a);
  return a;
}

void StoreFs::handle_bytes(InodeId ino, uint8_t out[kHandleSize]) const {
  backend::kv::put_be64(reinterpret_cast<char*>(out), store_id_);
  backend::kv::put_be64(reinterpret_cast<char*>(out) + 8, ino);
}

Result<std::string> StoreFs::encode_handle(InodeId ino) {
  uint8_t h[kHandleSize];
  handle_bytes(ino, h);
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

// The inode a handle names, read on one snapshot.
Result<InodeRec> StoreFs::handle_inode(std::span<const uint8_t> bytes, InodeId* ino) {
  backend::kv::KeyReader k(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  uint64_t id;
  if (!k.u64(&id) || !k.u64(ino) || !k.rest().empty() || id != store_id_)
    return Result<InodeRec>::error(ESTALE);
  auto rt = kv_->begin_read();
  if (!rt) return Result<InodeRec>::error(rt.err());
  return get_inode(*rt.value(), *ino);
}

Result<InodeId> StoreFs::resolve_handle(std::span<const uint8_t> bytes) {
  InodeId ino = 0;
  auto r = handle_inode(bytes, &ino);
  if (!r) return Result<InodeId>::error(r.err());
  return ino;
}

// One snapshot and one inode read for both: resolve_handle() reads the
// inode to see that it exists, getattr() would read it again.
Result<InodeId> StoreFs::resolve_handle_attr(std::span<const uint8_t> bytes,
                                             std::optional<Result<Attr>>* attr) {
  InodeId ino = 0;
  auto r = handle_inode(bytes, &ino);
  if (!r) return Result<InodeId>::error(r.err());
  *attr = to_attr(ino, r.value());
  return ino;
}

Result<Attr> StoreFs::getattr(InodeId ino) {
  auto rt = kv_->begin_read();
  if (!rt) return Result<Attr>::error(rt.err());
  auto r = get_inode(*rt.value(), ino);
  if (!r) return Result<Attr>::error(r.err());
  return to_attr(ino, r.value());
}

Result<Attr> StoreFs::setattr(InodeId ino, const backend::SetAttr& sa) {
  Attr out;
  auto apply_rest = [&](InodeRec& r) {
    bool changed = false;
    if (sa.mode) r.mode = *sa.mode & 07777, changed = true;
    if (sa.uid) r.uid = *sa.uid, changed = true;
    if (sa.gid) r.gid = *sa.gid, changed = true;
    using H = backend::SetAttr::TimeHow;
    if (sa.atime_how != H::kKeep) r.atime = sa.atime_how == H::kGiven ? sa.atime : now(), changed = true;
    if (sa.mtime_how != H::kKeep) r.mtime = sa.mtime_how == H::kGiven ? sa.mtime : now(), changed = true;
    if (changed) {
      r.ctime = now();
      r.change++;
    }
  };
  // Cached bytes first: a truncate must cut them, a given mtime must stay.
  if (sa.size || sa.mtime_how != backend::SetAttr::TimeHow::kKeep)
    if (Status st = flush_cached(ino); !st) return Result<Attr>::error(st.err());
  if (!sa.size) {
    Status st = mutate([&](Tx& t) {
      auto r = get_inode(t.w, ino);
      if (!r) return r.status();
      apply_rest(r.value());
      out = to_attr(ino, r.value());
      return put_inode(t, ino, r.value());
    });
    if (!st) return Result<Attr>::error(st.err());
    return out;
  }
  uint64_t new_size = *sa.size;
  if (new_size > kMaxFileSize) return Result<Attr>::error(EFBIG);
  Status st = broken_change(
      [&](uint64_t* file, uint64_t* off, uint64_t* len, BreakKind* kind) {
        auto a = getattr(ino);
        if (!a) return a.status();
        if (a.value().type == backend::FileType::kDirectory) return Status::error(EISDIR);
        if (a.value().type != backend::FileType::kRegular) return Status::error(EINVAL);
        *file = ino;
        uint64_t old = a.value().size;
        if (new_size < old) {  // truncate down: to EOF and beyond
          *off = block_down(new_size);
          *len = to_eof(*off);
          *kind = BreakKind::kUnmap;
        } else if (new_size > old) {  // extending: the new bytes
          *off = block_down(old);
          *len = block_up(new_size) - *off;
          *kind = BreakKind::kWrite;
        }  // same size: no mapping change, no break
        return Status::ok();
      },
      [&](Tx& t, const BreakToken* tok) {
        auto r = get_inode(t.w, ino);
        if (!r) return r.status();
        InodeRec& rec = r.value();
        if (new_size != rec.size) {
          if (Status s = truncate_locked(t, tok, ino, rec, new_size); !s) return s;
        }
        apply_rest(rec);
        out = to_attr(ino, rec);
        return put_inode(t, ino, rec);
      });
  if (!st) return Result<Attr>::error(st.err());
  return out;
}

Result<backend::FsStat> StoreFs::statfs() {
  backend::FsStat s;
  s.bytes_total = (nblocks_ - 1) * kBlockSize;
  uint64_t free = free_blocks_.load();
  if (cache_) {  // what cached writes will take
    std::lock_guard lk(cache_->mu);
    free -= std::min(free, cache_->reserved);
  }
  s.bytes_free = s.bytes_avail = read_only() ? 0 : free * kBlockSize;
  s.files_total = 1ull << 32;
  s.files_free = s.files_avail = read_only() ? 0 : s.files_total - std::min(s.files_total, next_ino_.load());
  s.name_max = 255;
  return s;
}

uint64_t StoreFs::quarantined_blocks() {
  uint64_t n = 0;
  auto rt = kv_->begin_read();
  if (!rt) return 0;
  (void)rt.value()->for_each(db_->quarantine, "", "", [&](std::string_view, std::string_view v) {
    n += decode_u64(v).value_or(0);
    return true;
  });
  return n;
}

}  // namespace pnfsgw::store
