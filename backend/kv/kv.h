// KvStore: a thin, safe wrapper over LMDB, the transactional KV that holds the
// extent store's metadata (docs/store.md "KV layer"). lmdb.h stays out of this
// header: LMDB handles appear only as opaque pointers.
//
// Contract:
//  - Ownership: KvStore owns the LMDB environment (a directory holding
//    data.mdb and lock.mdb). Every ReadTxn/WriteTxn must be finished
//    (destroyed, committed) before its KvStore is destroyed. A directory may
//    be open at most once per process (LMDB's rule; open() returns EBUSY).
//  - Durability: WriteTxn::commit() returning ok means the transaction is on
//    stable storage (LMDB syncs on commit; MDB_NOSYNC/NOMETASYNC are never
//    set). A crash leaves the last committed transaction, never a partial one.
//  - Atomicity: a WriteTxn that is destroyed without a successful commit()
//    is aborted; none of its writes become visible. After any failed
//    put/del the transaction is poisoned: later calls return that error and
//    commit() aborts and returns it.
//  - Isolation: a ReadTxn sees the snapshot as of begin_read(), unaffected by
//    later commits. A WriteTxn sees its own writes.
//  - Thread-safety: KvStore methods are safe from any thread. One WriteTxn at
//    a time per store: begin_write() blocks while another is live (LMDB
//    serializes writers), so a thread must not begin a second one while it
//    holds one. A WriteTxn is used, committed and destroyed on the thread that
//    began it (it holds LMDB's writer mutex; never keep one across a co_await
//    that may resume elsewhere). ReadTxns may be begun on any thread and
//    handed between threads (MDB_NOTLS), but one thread uses one at a time.
//    Keep read transactions short: a live reader pins old pages.
//  - Errors are positive errno values: ENOENT (key absent), ENOSPC (map
//    full), EINVAL (key empty or longer than max_key_size(), unknown db),
//    EBUSY (directory already open), EIO (corruption, panic, anything else;
//    logged with LMDB's message).
//  - Keys compare as unsigned bytes (memcmp, shorter first on a tie), so keys
//    built with KeyBuilder sort by their big-endian integers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

namespace pnfsgw::backend::kv {

// A named sub-database, from KvStore::open_db(). Valid for the store's life.
struct Db {
  unsigned dbi = 0;
};

// Called per record in key order; return false to stop. The views are valid
// only during the call (they point into the map).
using RecordFn = std::function<bool(std::string_view key, std::string_view value)>;

class Cursor;
class KvStore;

// Reads shared by both transaction kinds.
class Txn {
 public:
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // The value stored under key; ENOENT if absent.
  Result<std::string> get(Db db, std::string_view key) const;
  // The same without a copy: the view points into the map, valid until the
  // transaction ends or (a WriteTxn) writes again.
  Result<std::string_view> get_view(Db db, std::string_view key) const;
  // Calls fn for each record with begin_key <= key < end_key, in key order.
  // An empty end_key means "to the end of the db".
  Status for_each(Db db, std::string_view begin_key, std::string_view end_key,
                  const RecordFn& fn) const;
  // The record with the greatest key <= key (key and value copied out);
  // ENOENT if every key is greater. Extent lookups use it: the extent that
  // covers a block is the last one starting at or before it.
  Result<std::pair<std::string, std::string>> floor(Db db, std::string_view key) const;
  // floor() and for_each() in one pass, nothing copied: the record with the
  // greatest key < begin_key (if any) goes to before(), then each record
  // with begin_key <= key < end_key to fn, in key order (false stops). How
  // extent lookups find the extent covering a block and those after it.
  // begin_key must not be empty; an empty end_key means "to the end".
  Status for_each_after_floor(Db db, std::string_view begin_key, std::string_view end_key,
                              const RecordFn& before, const RecordFn& fn) const;
  // A cursor over db, unpositioned. Destroy it before this transaction ends.
  Result<std::unique_ptr<Cursor>> cursor(Db db) const;

 protected:
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  ~Txn() = default;
  MDB_txn* txn_;      // null once finished
  int poisoned_ = 0;  // first errno of a failed write; 0 = healthy
};

// A position in one db of a transaction, for scans that copy nothing out
// and for runs of point lookups of nearby keys (LMDB skips the descent from
// the root when the key sought is on the page the cursor is on). key() and
// value() point into the map: valid until the cursor moves or the
// transaction ends. Used by the thread using its transaction; destroyed
// before the transaction ends.
class Cursor {
 public:
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  // To the first record with a key >= key; ENOENT if there is none.
  Status seek(std::string_view key);
  // To the next record; ENOENT past the last one.
  Status next();
  // The value stored under exactly key (the cursor moves there); ENOENT if
  // absent. Points into the map like value().
  Result<std::string_view> find(std::string_view key);
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  friend class Txn;
  explicit Cursor(MDB_cursor* c) : c_(c) {}
  Status get(std::string_view key, int op);
  MDB_cursor* c_;
  std::string_view key_, value_;
};

// A snapshot for reading; released on destruction (its LMDB transaction goes
// back to its store for reuse).
class ReadTxn : public Txn {
 public:
  ~ReadTxn();

 private:
  friend class KvStore;
  ReadTxn(MDB_txn* txn, KvStore* store) : Txn(txn), store_(store) {}
  KvStore* store_;
};

// The single writer. Aborted on destruction unless commit() succeeded.
class WriteTxn : public Txn {
 public:
  ~WriteTxn();

  // Inserts or replaces. EINVAL for an empty or too long key.
  Status put(Db db, std::string_view key, std::string_view value);
  // Removes key; ENOENT if it was absent (the transaction stays usable).
  Status del(Db db, std::string_view key);
  // Durable when ok. The transaction is finished either way. For a nested
  // transaction: its writes become part of the parent (durable with it).
  Status commit();
  // A child transaction: its writes are the parent's once it commits, and
  // vanish if it aborts; the parent must not be used while it lives. How
  // several changes share one durable commit (group commit).
  Result<std::unique_ptr<WriteTxn>> nested();

 private:
  friend class KvStore;
  explicit WriteTxn(MDB_txn* txn) : Txn(txn) {}
  Status fail(int mdb_rc, const char* what);
};

class KvStore {
 public:
  // Opens (creating if missing) the environment in directory dir. map_size:
  // the most bytes the data file may grow to (ENOSPC beyond); max_dbs: how
  // many named sub-databases may exist.
  static Result<std::unique_ptr<KvStore>> open(const std::string& dir, uint64_t map_size,
                                               unsigned max_dbs);
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // The named sub-database, created (in its own committed transaction) if
  // missing. Call while this thread holds no WriteTxn (it would deadlock).
  Result<Db> open_db(const std::string& name);

  Result<std::unique_ptr<ReadTxn>> begin_read();
  Result<std::unique_ptr<WriteTxn>> begin_write();

  // Longest key put() accepts (LMDB's compile-time limit, 511 on Debian).
  size_t max_key_size() const;

 private:
  friend class ReadTxn;
  KvStore(MDB_env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}
  // A finished read transaction: reset and kept for begin_read() to renew
  // (that skips LMDB's allocation and its reader-table scan under the lock
  // file's mutex: ~1k instructions of every begin_read()), or aborted.
  void recycle_read(MDB_txn* txn);

  // Idle read transactions a store keeps. Each holds a reader slot (LMDB's
  // default table has 126), but pins no pages while reset.
  static constexpr size_t kIdleReads = 32;

  MDB_env* env_;
  std::string dir_;  // canonical path, for the once-per-process registry
  std::mutex idle_mu_;
  std::vector<MDB_txn*> idle_reads_;  // GUARDED_BY(idle_mu_): reset, ready to renew
};

// A big-endian 64-bit field at p, as KeyBuilder writes it and KeyReader
// reads it (for keys built on the stack, without a string).
inline void put_be64(char* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<char>(v >> (56 - 8 * i));
}
inline uint64_t get_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Builds keys from big-endian integers and raw bytes, so that memcmp order is
// numeric order field by field: (ino, lblk) as u64,u64 sorts by ino, then by
// lblk. Variable-length bytes sort correctly only as the last field.
class KeyBuilder {
 public:
  KeyBuilder& u32(uint32_t v);
  KeyBuilder& u64(uint64_t v);
  KeyBuilder& bytes(std::string_view b);
  const std::string& str() const& { return key_; }
  std::string str() && { return std::move(key_); }

 private:
  std::string key_;
};

// Reads fields back out of a key in the order KeyBuilder wrote them. Each
// call returns false (and leaves the output alone) if too few bytes remain.
class KeyReader {
 public:
  explicit KeyReader(std::string_view key) : rest_(key) {}
  bool u32(uint32_t* v);
  bool u64(uint64_t* v);
  std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

}  // namespace pnfsgw::backend::kv
