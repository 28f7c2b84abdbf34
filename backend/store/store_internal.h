// Private to the store's .cc files: the named databases and the transaction
// context every change runs in.
#pragma once
#include <cerrno>
#include <memory>
#include <vector>

#include "backend/kv/kv.h"
#include "backend/store/store_fs.h"

namespace pnfsgw::store {

// Largest file size (Linux's MAX_LFS_FILESIZE); byte offsets stay signed-safe.
inline constexpr uint64_t kMaxFileSize = (1ull << 63) - 1;
inline constexpr uint64_t kMaxFileBlocks = kMaxFileSize / kBlockSize + 1;
// A change answers this (never seen outside the store) when its BreakToken no
// longer covers what it must change: broken_change() plans and breaks again.
inline constexpr int kReplan = ERESTART;

// True if tok allows changing [off, off+len) bytes of file with kind.
inline bool covers(const BreakToken* tok, uint64_t file, uint64_t off, uint64_t len, BreakKind kind) {
  return tok != nullptr && tok->covers(file, off, len, kind);
}

// Break ranges are the request's bytes widened to whole blocks: a mapping
// changes (and a layout is granted) a block at a time.
inline uint64_t block_down(uint64_t off) { return off / kBlockSize * kBlockSize; }
inline uint64_t block_up(uint64_t off) {  // callers keep off <= kMaxFileSize + 1
  return (off + kBlockSize - 1) / kBlockSize * kBlockSize;
}
inline uint64_t to_eof(uint64_t off) { return UINT64_MAX - off; }

struct StoreFs::Dbs {
  backend::kv::Db meta, inode, dirent, dircookie, extent, rmap, refcount, free, quarantine, bad;
  static Result<std::unique_ptr<Dbs>> open(backend::kv::KvStore& kv);
};

// One change: the KV write transaction plus what must be undone in memory if
// it aborts, and what goes to the breaker's quarantine once it commits.
class StoreFs::Tx {
 public:
  explicit Tx(backend::kv::WriteTxn& txn) : w(txn) {}
  struct Undo {
    bool allocated;  // true: allocated from alloc_ (undo frees); false: freed (undo reserves)
    PhysRange r;
  };
  backend::kv::WriteTxn& w;
  std::vector<Undo> undo_log;
  std::vector<PhysRange> drained;      // taken from released_ (put back on abort)
  std::vector<PhysRange> quarantined;  // entered quarantine in this change
  bool need_flush = false;  // wrote data the commit points at: flush the device first
  std::vector<std::pair<uint64_t, uint64_t>> retire_bumps;  // (ino, folded bumps) once committed
  std::vector<uint64_t> freed;  // inodes deleted: their cached writes go once committed
};

}  // namespace pnfsgw::store
