// StoreFs: the extent store as a layer source (docs/store.md). Namespace,
// inodes, extent maps, reference counts, reverse map, free space and
// quarantine live in LMDB (store_schema.h); file data lives in blocks of a
// Device whose block 0 is the superblock.
//
// Contract:
//  - Thread-safety: every method is safe from any thread. Changes run one
//    batch after another, each batch on the thread of one of its callers
//    (the leader, store_commit.cc: one KV write transaction at a time, as
//    LMDB has anyway); reads run on the caller's
//    thread on LMDB snapshots, pinning the physical blocks they read
//    (PinTable) so that nothing they read is reused under them.
//  - Break hooks: every change of an extent map first obtains a BreakToken
//    from the ExtentBreaker for the bytes whose mapping changes, on the
//    caller's thread (a recall may wait for clients); then the change, in a
//    batch, re-checks that
//    the token still covers what the change needs (the state may have moved
//    meanwhile), else drops everything and plans again (DESIGN "drop, wait,
//    retake, re-check"). Which kind each operation asks for is in break.h.
//  - Durability: data lands (device flush) before the KV commit that points
//    at it; every KV commit is synced, so every completed namespace or
//    mapping change survives a crash; overwrites in place of already written
//    blocks are durable after fsync(). With the write cache on, a write
//    that needs new blocks is kept in memory until fsync() or another
//    trigger writes it back (store_cache.cc); reads and attributes see it
//    at once, a crash loses it. Blocks unmapped by a change go to
//    quarantine (in the same transaction) and become free only when the
//    breaker releases them and no pin covers them.
//  - Media errors: a device EIO on a read, or media_error(), records the bad
//    blocks, names their owners in the log (reverse map) and fails reads of
//    them with EIO until they are rewritten or punched; bad blocks are never
//    reused. A bad range in the superblock, or a failed KV commit, makes the
//    store read-only (EROFS) with the reason logged.
//  - atime is not updated by reads (noatime).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend/device/device.h"
#include "backend/fs.h"
#include "backend/store/allocator.h"
#include "backend/store/break.h"
#include "backend/store/pins.h"
#include "backend/store/store_schema.h"

namespace pnfsgw::backend::kv {
class KvStore;
class Txn;
class WriteTxn;
}  // namespace pnfsgw::backend::kv

namespace pnfsgw::store {

struct StoreOptions {
  std::string meta_dir;                  // LMDB environment directory (created)
  uint64_t meta_map_size = 16ull << 30;  // most bytes the metadata may take
  // Inspection only (fsck): no recovery, every change answers EROFS.
  bool inspect_only = false;
  // Write cache (store_cache.cc, docs/store.md "Write cache"): writes that
  // would allocate are kept in memory, up to this many bytes in all, until
  // fsync(), their age, memory pressure or any other change of the file
  // writes them back in one batch. 0: every write goes to the store at once.
  uint64_t write_cache_bytes = 0;
  // Cached bytes older than this are written back without being asked.
  uint32_t write_cache_age_ms = 5000;
};

// One line of fsck's report.
struct FsckProblem {
  std::string what;
};

class StoreFs final : public backend::Filesystem {
 public:
  // Writes a superblock to dev and an empty namespace (a root directory) to
  // opt.meta_dir. EEXIST if the metadata directory already holds a store.
  static Status format(backend::device::Device& dev, const StoreOptions& opt);
  // Opens a formatted store. dev and breaker (if given; else a NullBreaker is
  // used) must outlive it. Recovery: quarantine left by a crash is released
  // (no layout or pin survives a restart).
  static Result<std::unique_ptr<StoreFs>> open(backend::device::Device* dev,
                                               ExtentBreaker* breaker, const StoreOptions& opt);
  ~StoreFs() override;

  // Filesystem.
  backend::InodeId root() const override { return kRootIno; }
  Result<std::string> encode_handle(backend::InodeId ino) override;
  Result<backend::InodeId> resolve_handle(std::span<const uint8_t> bytes) override;
  Result<backend::InodeId> resolve_handle_attr(std::span<const uint8_t> bytes,
                                               std::optional<Result<backend::Attr>>* attr) override;
  Result<backend::Attr> getattr(backend::InodeId ino) override;
  Result<backend::Attr> setattr(backend::InodeId ino, const backend::SetAttr& sa) override;
  Result<backend::FsStat> statfs() override;
  Result<backend::Attr> lookup(backend::InodeId dir, std::string_view name) override;
  Result<backend::Attr> lookup_parent(backend::InodeId dir) override;
  Result<backend::Attr> create(backend::InodeId dir, std::string_view name, uint32_t mode,
                               const backend::Cred& cred, backend::CreateMode how,
                               bool* created) override;
  Result<backend::Attr> mkdir(backend::InodeId dir, std::string_view name, uint32_t mode,
                              const backend::Cred& cred) override;
  Result<backend::Attr> symlink(backend::InodeId dir, std::string_view name,
                                std::string_view target, const backend::Cred& cred) override;
  Result<backend::Attr> mknod(backend::InodeId dir, std::string_view name, backend::FileType type,
                              uint32_t mode, uint32_t rdev_major, uint32_t rdev_minor,
                              const backend::Cred& cred) override;
  Result<backend::Attr> link(backend::InodeId target, backend::InodeId dir,
                             std::string_view name) override;
  Status unlink(backend::InodeId dir, std::string_view name) override;
  Status rmdir(backend::InodeId dir, std::string_view name) override;
  Status rename(backend::InodeId src_dir, std::string_view src_name, backend::InodeId dst_dir,
                std::string_view dst_name) override;
  Result<std::string> readlink(backend::InodeId ino) override;
  Result<backend::ReaddirPage> readdir(backend::InodeId dir, uint64_t cookie,
                                       size_t max_entries) override;
  // One read snapshot for the whole listing; a cursor walks the dircookie
  // records and another fetches each entry's inode record; the handle comes
  // with the attributes.
  Status readdir_plus(backend::InodeId dir, uint64_t cookie, bool want_attrs,
                      const backend::ReaddirPlusFn& fn, bool* eof) override;
  Result<size_t> read(backend::InodeId ino, uint64_t offset, std::span<uint8_t> buf,
                      bool* eof) override;
  // Segments on the device's fd (ENOTSUP without one: DAX, memory); the
  // lease holds the blocks' pin, so a punch or truncate that unmaps them
  // waits for it and they are not reused while it lives.
  Result<backend::SegmentedRead> read_segments(backend::InodeId ino, uint64_t offset,
                                               size_t count) override;
  Result<size_t> write(backend::InodeId ino, uint64_t offset,
                       std::span<const uint8_t> data) override;
  // In place (the blocks are there, nothing of the file is cached) or into
  // the write cache when it has room, and no layout needs recalling
  // (NullBreaker); else nullopt.
  std::optional<Result<size_t>> write_quick(backend::InodeId ino, uint64_t offset,
                                            std::span<const uint8_t> data) override;
  Status fsync(backend::InodeId ino, bool data_only) override;
  Status allocate(backend::InodeId ino, uint64_t offset, uint64_t length) override;
  Status punch_hole(backend::InodeId ino, uint64_t offset, uint64_t length) override;
  Status zero_range(backend::InodeId ino, uint64_t offset, uint64_t length) override;
  Status collapse_range(backend::InodeId ino, uint64_t offset, uint64_t length) override;
  Status insert_range(backend::InodeId ino, uint64_t offset, uint64_t length) override;
  Status unshare(backend::InodeId ino, uint64_t offset, uint64_t length) override;
  Status clone_range(backend::InodeId src, uint64_t src_off, backend::InodeId dst,
                     uint64_t dst_off, uint64_t length) override;
  Result<uint64_t> dedupe_range(backend::InodeId src, uint64_t src_off, backend::InodeId dst,
                                uint64_t dst_off, uint64_t length) override;
  Result<uint64_t> copy_range(backend::InodeId src, uint64_t src_off, backend::InodeId dst,
                              uint64_t dst_off, uint64_t length) override;
  Result<uint64_t> seek(backend::InodeId ino, uint64_t offset, backend::SeekWhat what) override;
  Result<std::vector<backend::FileExtent>> list_extents(backend::InodeId ino, uint64_t offset,
                                                        uint64_t length) override;
  bool read_only() const override { return read_only_.load(); }
  // changes_committed / metadata_commits: how many changes a group commit
  // batch carried on average since the start.
  std::vector<std::pair<std::string, uint64_t>> counters() const override {
    return {{"changes_committed", changes_committed()}, {"metadata_commits", kv_commits()}};
  }

  // The device reported [dev_off, dev_off+len) bad (a scrub, a DAX machine
  // check, a failed read): records it, logs the files it belongs to, and
  // turns the store read-only if it touches metadata (the superblock).
  void media_error(uint64_t dev_off, uint64_t len);
  // Checks every invariant of the metadata (docs/store.md "Invariants") on
  // one snapshot; returns the problems found (empty = clean).
  Result<std::vector<FsckProblem>> check();
  // Pins held by in-flight reads (tests of BREAK_UNMAP waiting).
  PinTable& pins() { return pins_; }
  // Blocks in quarantine, for tests and the admin status.
  uint64_t quarantined_blocks();
  // Changes committed and KV commits made so far (group commit at work:
  // changes / commits is the mean batch size).
  uint64_t changes_committed() const { return changes_.load(); }
  uint64_t kv_commits() const { return commits_.load(); }
  // Bytes in the write cache now, and files written back from it so far.
  uint64_t cached_bytes();
  uint64_t cache_writebacks();

 // Internals shared by the store's .cc files (store_internal.h).
  struct Dbs;
  class Tx;

 private:
  StoreFs(backend::device::Device* dev, ExtentBreaker* breaker, const StoreOptions& opt);
  Status load();

  // encode_handle()'s bytes: the store id and ino, big-endian.
  static constexpr size_t kHandleSize = 16;
  void handle_bytes(backend::InodeId ino, uint8_t out[kHandleSize]) const;

  // What read() and read_segments() found: the mapping of the bytes to
  // read, pinned (pins.h) in the same step as the lookup.
  struct PinnedRange {
    uint64_t n = 0;  // bytes to read (clipped at EOF)
    bool eof = false;
    bool bad = false;  // some mapped block is known bad
    std::vector<Extent> pieces;
    PinTable::Pin pin;
  };
  Status pin_range(backend::InodeId ino, uint64_t offset, size_t count, PinnedRange* out);

  // --- metadata helpers (store_blocks.cc); `t` is the current transaction.
  Result<InodeRec> get_inode(const backend::kv::Txn& t, backend::InodeId ino);
  Status put_inode(Tx& t, backend::InodeId ino, const InodeRec& r);
  // Mapped pieces of [lblk, lblk+len), clipped, in order.
  Result<std::vector<Extent>> map_query(const backend::kv::Txn& t, uint64_t ino, uint64_t lblk,
                                        uint64_t len);
  // Replaces the mapping of [lblk, lblk+len) with `with` (pieces inside the
  // range; the rest becomes a hole). Unmapped blocks are dropped by one
  // reference each (release_refs). Updates rmap and the inode's block count.
  Status remap(Tx& t, uint64_t ino, InodeRec& inode, uint64_t lblk, uint64_t len,
               const std::vector<Extent>& with);
  // Rewrites the unwritten flag of the mapped blocks in [lblk, lblk+len)
  // (references unchanged: preallocated blocks becoming data, or back).
  Status set_unwritten(Tx& t, uint64_t ino, uint64_t lblk, uint64_t len, bool unwritten);
  // Folds the extents meeting at block b if they are contiguous on the device.
  Status merge_at(Tx& t, uint64_t ino, uint64_t b);
  // Splits the extent strictly containing block b, if any, at b.
  Status split_at(Tx& t, uint64_t ino, uint64_t b);
  // A path of ino from the root (for log messages).
  Result<std::string> path_of(const backend::kv::Txn& t, backend::InodeId ino);
  // Moves every extent at or after `from` by delta blocks (up or down).
  Status shift(Tx& t, uint64_t ino, uint64_t from, uint64_t delta, bool up);
  // Adds delta (+1/-1) to the reference count of every block in r. Blocks
  // that reach zero go to quarantine (bad ones leave service instead).
  Status adjust_refs(Tx& t, PhysRange r, int delta);
  // Blocks of r that some other mapping shares (count >= 2), as ranges.
  Result<std::vector<PhysRange>> shared_in(const backend::kv::Txn& t, PhysRange r);
  Result<std::vector<PhysRange>> bad_in(const backend::kv::Txn& t, PhysRange r);
  Result<std::vector<PhysRange>> alloc_blocks(Tx& t, uint64_t len, uint64_t goal);
  // len blocks to map at lblk of ino, placed after the block mapping lblk-1.
  Result<std::vector<PhysRange>> alloc_after(Tx& t, uint64_t ino, uint64_t lblk, uint64_t len);
  Status return_blocks(Tx& t, PhysRange r);  // back to free space
  Status persist_free(Tx& t, uint64_t lo, uint64_t hi);
  Status drain_released(Tx& t);
  std::string describe_owners(const backend::kv::Txn& t, PhysRange r);

  // --- overwrites in place without a transaction (store_fast.cc)
  // Writes data in place when every block it touches is written data,
  // private and healthy and the file does not grow: a break, a pin, device
  // writes, and the new mtime/change kept in memory (dirty_times_) until the
  // next commit of the inode or fsync. nullopt: take the full path.
  std::optional<Status> write_in_place(backend::InodeId ino, uint64_t off,
                                       std::span<const uint8_t> data);
  // Folds dirty_times_ into r (get_inode does it for every reader).
  void fold_times(backend::InodeId ino, InodeRec& r);
  // True if some in-place overwrite's times are not yet committed. False
  // before a snapshot is taken means that snapshot holds every overwrite
  // finished until then (their times are retired only once committed), so
  // a reader of many inodes may skip fold_times().
  bool any_dirty_times();
  // Commits the inode if in-place overwrites left times in memory.
  Status persist_times(backend::InodeId ino);

  // --- write cache (store_cache.cc)
  struct WriteCache;
  struct CachedFile;
  // Keeps the write in the cache: nullopt when it does not fit (then the
  // caller writes ino's cached bytes back and takes the full path). At the
  // cache's limit it waits for room, or with may_wait false answers nullopt.
  std::optional<Result<size_t>> write_cached(backend::InodeId ino, uint64_t off,
                                             std::span<const uint8_t> data, bool may_wait);
  // write()'s paths without a commit of its own: in place, else into the
  // cache (write_cached, may_wait as there); nullopt when neither applies.
  std::optional<Result<size_t>> write_uncommitted(backend::InodeId ino, uint64_t off,
                                                  std::span<const uint8_t> data, bool may_wait);
  bool is_cached(backend::InodeId ino) const;
  // Writes ino's cached bytes to the store (one batch); ok if none. Every
  // change of a file's mapping, size or times other than write() calls it
  // first, so cached bytes are always the latest of their file.
  Status flush_cached(backend::InodeId ino);
  Status flush_file(backend::InodeId ino, CachedFile& f);  // f.flush_mu held, f.flushing set
  Status flush_all_cached();
  // Frees the cached bytes of an inode that is gone (after its commit).
  void forget_cached(backend::InodeId ino);
  // The size, times and change attribute of the cached writes.
  void fold_cached(backend::InodeId ino, backend::Attr& a) const;
  void forget_committed(std::chrono::steady_clock::time_point before);
  // read() on the store alone (read() adds the cached bytes).
  Result<size_t> read_store(backend::InodeId ino, uint64_t offset, std::span<uint8_t> buf, bool* eof);
  // Flushes the oldest cached files until `need` more bytes fit.
  void make_room(uint64_t need);
  void writeback_loop();
  void start_writeback();
  void stop_writeback();  // and writes every cached byte back
  // The break a write of [off, end) of ino needs, from the committed state.
  Status plan_write(backend::InodeId ino, uint64_t off, uint64_t end, uint64_t* file, uint64_t* boff,
                    uint64_t* blen, BreakKind* kind);

  // --- group commit (store_commit.cc)
  // One queued change; its caller waits until `done`.
  struct Request {
    const std::function<Status(Tx&)>* fn;
    Status result;
    bool done = false;
    std::vector<PhysRange> quarantined;
    bool lead = false;           // handed the lead: run the next batches
    std::condition_variable cv;  // its caller waits here (with queue_mu_)
  };
  // Queues req and returns once its batch has run (req.result says how the
  // change went); the caller may lead batches meanwhile. EDEADLK from inside
  // a batch, EROFS once stopping.
  Status commit_queued(Request& req);
  // Refuses new changes and waits for the queued ones.
  void stop_commits();
  // Runs a batch: one KV transaction, each change in a nested one, one
  // device flush if any change wrote new data, one commit.
  void run_batch(const std::vector<Request*>& batch);

  // --- change framework (store_fs.cc)
  // Queues fn for group commit and waits until its batch committed;
  // a failed commit turns the store read-only. fn may return kReplan to ask
  // for a re-plan.
  Status mutate(const std::function<Status(Tx&)>& fn, const BreakToken* tok = nullptr);
  void go_read_only(const std::string& why);
  void undo(Tx& t);  // rolls back alloc_ and released_ after an aborted change
  Status check_writable() const;
  backend::Timespec now() const;
  backend::Attr to_attr(backend::InodeId ino, const InodeRec& r) const;
  Result<InodeRec> handle_inode(std::span<const uint8_t> bytes, backend::InodeId* ino);
  void touch(InodeRec& r, bool data);  // mtime/ctime (data) or ctime, change++

  // --- namespace (store_ns.cc)
  Result<std::optional<DirentRec>> find_entry(const backend::kv::Txn& t, backend::InodeId dir,
                                              std::string_view name);
  Status add_entry(Tx& t, backend::InodeId dir, InodeRec& dir_rec, std::string_view name,
                   backend::InodeId child, backend::FileType type);
  Status del_entry(Tx& t, backend::InodeId dir, std::string_view name, const DirentRec& de);
  Result<bool> dir_empty(const backend::kv::Txn& t, backend::InodeId dir);
  Result<backend::Attr> make_node(backend::InodeId dir, std::string_view name, InodeRec rec,
                                  backend::CreateMode how, bool* created);
  Status plan_victim(backend::InodeId dir, std::string_view name, uint64_t* file, uint64_t* off,
                     uint64_t* len, BreakKind* kind);
  Status remove(backend::InodeId dir, std::string_view name, bool want_dir);
  Status drop_link(Tx& t, const BreakToken* tok, backend::InodeId dir, InodeRec& dir_rec,
                   std::string_view name, const DirentRec& de, InodeRec& child);
  Status free_inode(Tx& t, const BreakToken* tok, backend::InodeId ino, InodeRec& rec);

  // --- data (store_io.cc, store_space.cc)
  Status truncate_locked(Tx& t, const BreakToken* tok, backend::InodeId ino, InodeRec& r,
                         uint64_t new_size);
  // Writes `data` at byte `off` of the blocks [lblk, lblk+n) newly mapped at
  // pblk; bytes of those blocks outside data come from `fill_from` (a
  // physical block per logical block, or 0 = zeroes).
  Status write_new_blocks(uint64_t lblk, uint64_t n, uint64_t pblk, uint64_t off,
                          std::span<const uint8_t> data, const std::vector<Extent>& old);
  Status zero_bytes(Tx& t, const BreakToken* tok, uint64_t ino, InodeRec& r, uint64_t off,
                    uint64_t len);
  Status write_locked(Tx& t, const BreakToken* tok, uint64_t ino, InodeRec& r, uint64_t off,
                      std::span<const uint8_t> data);
  Status unshare_locked(Tx& t, const BreakToken* tok, uint64_t ino, InodeRec& r, uint64_t lblk,
                        uint64_t nblk);
  // A change of one regular file with a fixed break range; fn changes the
  // inode record, which is written back after it.
  Status file_change(backend::InodeId ino, uint64_t off, uint64_t len, BreakKind kind,
                     const std::function<Status(Tx&, const BreakToken*, InodeRec&)>& fn);
  // Clone, dedupe: BREAK_WRITE on the source range, BREAK_UNMAP on the
  // destination's, taken in inode order.
  Status two_file_change(backend::InodeId src, uint64_t s_off, uint64_t s_len, backend::InodeId dst,
                         uint64_t d_off, uint64_t d_len,
                         const std::function<Status(Tx&, const BreakToken*, const BreakToken*)>& fn);
  // Waits until no in-flight read or overwrite in place pins the blocks
  // mapped at [lblk, lblk+n) of ino.
  Status wait_for_pins(const backend::kv::Txn& t, backend::InodeId ino, uint64_t lblk, uint64_t n);
  Status clone_locked(Tx& t, const BreakToken* stok, const BreakToken* dtok, backend::InodeId src,
                      uint64_t s_off, backend::InodeId dst, uint64_t d_off, uint64_t len);
  // Punch (or, with preallocate, zero-range) [off, end) of a file.
  Status unmap_bytes(Tx& t, const BreakToken* tok, backend::InodeId ino, InodeRec& r, uint64_t off,
                     uint64_t end, bool preallocate);
  // Runs plan() for a kind and range, breaks it on the caller's thread, then
  // mutate();
  // re-plans while the change answers kReplan (the token no longer covers
  // it). A plan with *len == 0 needs no break (the change gets nullptr).
  Status broken_change(
                       const std::function<Status(uint64_t* file, uint64_t* off, uint64_t* len,
                                                  BreakKind*)>& plan,
                       const std::function<Status(Tx&, const BreakToken*)>& change);

  backend::device::Device* dev_;
  ExtentBreaker* breaker_;
  std::unique_ptr<NullBreaker> null_breaker_;
  StoreOptions opt_;
  std::unique_ptr<backend::kv::KvStore> kv_;
  std::unique_ptr<Dbs> db_;
  uint64_t store_id_ = 0;  // from the superblock UUID; goes into handles
  uint64_t nblocks_ = 0;

  Allocator alloc_{0};                  // the batch leader's (after open)
  std::atomic<uint64_t> next_ino_{0};   // written by the batch leader
  uint64_t stored_next_ino_ = 0;        // the batch leader's: next_ino as last committed
  std::atomic<uint64_t> free_blocks_{0};  // alloc_'s count after the last commit
  std::mutex released_mu_;
  std::vector<PhysRange> released_;  // GUARDED_BY(released_mu_): quarantine the breaker let go

  // Device blocks handed out by read_segments() for sendfile. The kernel
  // keeps their page-cache pages in socket buffers after the lease is gone
  // (until the peer acknowledges them; on loopback until the client reads
  // them), so a block written again in that time would send its new bytes,
  // another file's, in the old reply. Before such blocks are free again,
  // drain_released() detaches their pages (Device::drop_cache): the socket
  // keeps the old page, the next write gets a new one.
  void mark_sent(uint64_t pblk, uint64_t len);
  void drop_sent(PhysRange r);
  std::mutex sent_mu_;
  std::map<uint64_t, uint64_t> sent_;  // GUARDED_BY(sent_mu_): start block -> end block
  std::atomic<bool> sendfile_ok_{true};  // false once drop_cache failed: copy instead
  std::atomic<bool> read_only_{false};
  std::atomic<uint64_t> bad_count_{0};  // records in the bad db (reads skip the check at 0)
  // Opens of this store so far (meta "boot"), the high bits of every change
  // attribute: bumps of in-place overwrites lost in a crash can never make
  // a change attribute repeat.
  uint64_t boot_ = 0;
  struct DirtyTimes {
    backend::Timespec mtime;
    uint64_t bumps = 0;
  };
  std::mutex times_mu_;
  std::unordered_map<uint64_t, DirtyTimes> dirty_times_;  // GUARDED_BY(times_mu_)
  PinTable pins_;
  std::unique_ptr<WriteCache> cache_;  // null: no write cache

  std::mutex queue_mu_;
  std::condition_variable done_cv_;                 // the last leader stood down (stop_commits)
  std::vector<Request*> queue_;                     // GUARDED_BY(queue_mu_)
  bool leading_ = false;                            // GUARDED_BY(queue_mu_): a batch is running
  bool stopping_ = false;                           // GUARDED_BY(queue_mu_)
  std::atomic<uint64_t> changes_{0}, commits_{0};
};

// Where a data directory keeps the store: DIR/device (the device file) and
// DIR/meta (LMDB).
std::string device_path(const std::string& data_dir);
std::string meta_path(const std::string& data_dir);

}  // namespace pnfsgw::store
