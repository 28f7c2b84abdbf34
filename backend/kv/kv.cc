#include "backend/kv/kv.h"

#include <limits.h>
#include <lmdb.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>

#include "common/log.h"

namespace pnfsgw::backend::kv {
namespace {

// LMDB returns positive errnos (from the OS) or its own negative codes.
int to_errno(int rc, const char* what) {
  switch (rc) {
    case MDB_NOTFOUND:
      return ENOENT;
    case MDB_MAP_FULL:
      return ENOSPC;
    case MDB_BAD_VALSIZE:
      return EINVAL;
    case MDB_CORRUPTED:
    case MDB_PANIC:
      PLOG_ERROR("kv: %s: %s", what, mdb_strerror(rc));
      return EIO;
    default:
      if (rc > 0) return rc;
      PLOG_ERROR("kv: %s: %s", what, mdb_strerror(rc));
      return EIO;
  }
}

MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

std::string_view to_view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// LMDB forbids opening one environment twice in a process: closing either
// would drop the other's POSIX locks on lock.mdb.
std::mutex g_open_mu;
std::set<std::string> g_open_dirs;  // GUARDED_BY(g_open_mu)

struct CursorCloser {
  void operator()(MDB_cursor* c) const { mdb_cursor_close(c); }
};
using CursorPtr = std::unique_ptr<MDB_cursor, CursorCloser>;

// 0 or an errno.
int open_cursor(MDB_txn* txn, Db db, CursorPtr* out) {
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(txn, db.dbi, &raw);
  if (rc != 0) return to_errno(rc, "cursor_open");
  out->reset(raw);
  return 0;
}

// From the record k/v that the cursor's last get returned (rc), calls fn on
// each until end_key (empty: the end) or fn returns false.
Status scan(MDB_cursor* c, int rc, MDB_val& k, MDB_val& v, std::string_view end_key,
            const RecordFn& fn) {
  while (rc == 0) {
    std::string_view key = to_view(k);
    if (!end_key.empty() && key >= end_key) return Status::ok();
    if (!fn(key, to_view(v))) return Status::ok();
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  if (rc == MDB_NOTFOUND) return Status::ok();  // ran off the end
  return Status::error(to_errno(rc, "cursor_get"));
}

}  // namespace

Result<std::string> Txn::get(Db db, std::string_view key) const {
  auto v = get_view(db, key);
  if (!v) return Result<std::string>::error(v.err());
  return std::string(v.value());
}

Result<std::string_view> Txn::get_view(Db db, std::string_view key) const {
  if (poisoned_ != 0) return Result<std::string_view>::error(poisoned_);
  if (key.empty()) return Result<std::string_view>::error(EINVAL);
  MDB_val k = to_val(key);
  MDB_val v;
  int rc = mdb_get(txn_, db.dbi, &k, &v);
  if (rc != 0) return Result<std::string_view>::error(to_errno(rc, "get"));
  return to_view(v);
}

Status Txn::for_each(Db db, std::string_view begin_key, std::string_view end_key,
                     const RecordFn& fn) const {
  if (poisoned_ != 0) return Status::error(poisoned_);
  CursorPtr cursor;
  if (int err = open_cursor(txn_, db, &cursor)) return Status::error(err);
  MDB_val k = to_val(begin_key);
  MDB_val v;
  int rc = mdb_cursor_get(cursor.get(), &k, &v, begin_key.empty() ? MDB_FIRST : MDB_SET_RANGE);
  return scan(cursor.get(), rc, k, v, end_key, fn);
}

Result<std::pair<std::string, std::string>> Txn::floor(Db db, std::string_view key) const {
  using R = Result<std::pair<std::string, std::string>>;
  if (poisoned_ != 0) return R::error(poisoned_);
  CursorPtr cursor;
  if (int err = open_cursor(txn_, db, &cursor)) return R::error(err);
  MDB_cursor* raw = cursor.get();
  MDB_val k = to_val(key);
  MDB_val v;
  int rc = mdb_cursor_get(raw, &k, &v, MDB_SET_RANGE);  // first key >= key
  if (rc != 0 && rc != MDB_NOTFOUND) return R::error(to_errno(rc, "cursor_get"));
  if (rc == 0 && to_view(k) == key) return std::pair{std::string(key), std::string(to_view(v))};
  // The record before the first greater key, or the last one if none is greater.
  rc = mdb_cursor_get(raw, &k, &v, rc == MDB_NOTFOUND ? MDB_LAST : MDB_PREV);
  if (rc == MDB_NOTFOUND) return R::error(ENOENT);
  if (rc != 0) return R::error(to_errno(rc, "cursor_get"));
  return std::pair{std::string(to_view(k)), std::string(to_view(v))};
}

Status Txn::for_each_after_floor(Db db, std::string_view begin_key, std::string_view end_key,
                                 const RecordFn& before, const RecordFn& fn) const {
  if (poisoned_ != 0) return Status::error(poisoned_);
  if (begin_key.empty()) return Status::error(EINVAL);
  CursorPtr cursor;
  if (int err = open_cursor(txn_, db, &cursor)) return Status::error(err);
  MDB_cursor* raw = cursor.get();
  MDB_val k = to_val(begin_key);
  MDB_val v;
  int rc = mdb_cursor_get(raw, &k, &v, MDB_SET_RANGE);  // first key >= begin_key
  if (rc != 0 && rc != MDB_NOTFOUND) return Status::error(to_errno(rc, "cursor_get"));
  const bool none_after = rc == MDB_NOTFOUND;
  MDB_val pk, pv;
  int prc = mdb_cursor_get(raw, &pk, &pv, none_after ? MDB_LAST : MDB_PREV);
  if (prc != 0 && prc != MDB_NOTFOUND) return Status::error(to_errno(prc, "cursor_get"));
  if (prc == 0 && !before(to_view(pk), to_view(pv))) return Status::ok();
  if (none_after) return Status::ok();
  // Back to the first key >= begin_key: the next one after the previous,
  // or, when there was none before it, found again.
  k = to_val(begin_key);
  rc = mdb_cursor_get(raw, &k, &v, prc == 0 ? MDB_NEXT : MDB_SET_RANGE);
  return scan(raw, rc, k, v, end_key, fn);
}

Result<std::unique_ptr<Cursor>> Txn::cursor(Db db) const {
  using R = Result<std::unique_ptr<Cursor>>;
  if (txn_ == nullptr) return R::error(EINVAL);
  if (poisoned_ != 0) return R::error(poisoned_);
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(txn_, db.dbi, &raw);
  if (rc != 0) return R::error(to_errno(rc, "cursor_open"));
  return std::unique_ptr<Cursor>(new Cursor(raw));
}

Cursor::~Cursor() { mdb_cursor_close(c_); }

Status Cursor::get(std::string_view key, int op) {
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_cursor_get(c_, &k, &v, static_cast<MDB_cursor_op>(op));
  if (rc != 0) {
    key_ = value_ = {};
    return Status::error(to_errno(rc, "cursor_get"));
  }
  key_ = to_view(k);
  value_ = to_view(v);
  return Status::ok();
}

Status Cursor::seek(std::string_view key) {
  if (key.empty()) return get(key, MDB_FIRST);
  return get(key, MDB_SET_RANGE);
}

Status Cursor::next() { return get({}, MDB_NEXT); }

Result<std::string_view> Cursor::find(std::string_view key) {
  if (key.empty()) return Result<std::string_view>::error(EINVAL);
  // MDB_SET_KEY fills in the key as well; MDB_SET would leave key_ pointing
  // at the caller's buffer.
  if (Status st = get(key, MDB_SET_KEY); !st) return Result<std::string_view>::error(st.err());
  return value_;
}

Result<std::unique_ptr<WriteTxn>> WriteTxn::nested() {
  using R = Result<std::unique_ptr<WriteTxn>>;
  if (txn_ == nullptr) return R::error(EINVAL);
  if (poisoned_ != 0) return R::error(poisoned_);
  MDB_txn* child = nullptr;
  int rc = mdb_txn_begin(mdb_txn_env(txn_), txn_, 0, &child);
  if (rc != 0) return R::error(to_errno(rc, "txn_begin (nested)"));
  return std::unique_ptr<WriteTxn>(new WriteTxn(child));
}

ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) store_->recycle_read(txn_);
}

WriteTxn::~WriteTxn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

Status WriteTxn::fail(int mdb_rc, const char* what) {
  int err = to_errno(mdb_rc, what);
  poisoned_ = err;  // LMDB refuses further use of a txn after a failed write
  return Status::error(err);
}

Status WriteTxn::put(Db db, std::string_view key, std::string_view value) {
  if (txn_ == nullptr) return Status::error(EINVAL);
  if (poisoned_ != 0) return Status::error(poisoned_);
  if (key.empty() || key.size() > static_cast<size_t>(mdb_env_get_maxkeysize(mdb_txn_env(txn_)))) {
    return Status::error(EINVAL);
  }
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  int rc = mdb_put(txn_, db.dbi, &k, &v, 0);
  return rc == 0 ? Status::ok() : fail(rc, "put");
}

Status WriteTxn::del(Db db, std::string_view key) {
  if (txn_ == nullptr) return Status::error(EINVAL);
  if (poisoned_ != 0) return Status::error(poisoned_);
  if (key.empty()) return Status::error(EINVAL);
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, db.dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::error(ENOENT);  // not a txn failure
  return rc == 0 ? Status::ok() : fail(rc, "del");
}

Status WriteTxn::commit() {
  if (txn_ == nullptr) return Status::error(EINVAL);
  MDB_txn* txn = txn_;
  txn_ = nullptr;
  if (poisoned_ != 0) {
    mdb_txn_abort(txn);
    return Status::error(poisoned_);
  }
  int rc = mdb_txn_commit(txn);  // frees txn whatever the outcome
  if (rc != 0) return Status::error(to_errno(rc, "commit"));
  return Status::ok();
}

Result<std::unique_ptr<KvStore>> KvStore::open(const std::string& dir, uint64_t map_size,
                                               unsigned max_dbs) {
  using R = Result<std::unique_ptr<KvStore>>;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return R::error(errno);
  char real[PATH_MAX];
  if (realpath(dir.c_str(), real) == nullptr) return R::error(errno);
  std::string canon(real);
  {
    std::lock_guard lk(g_open_mu);
    if (!g_open_dirs.insert(canon).second) return R::error(EBUSY);
  }
  auto unregister = [&] {
    std::lock_guard lk(g_open_mu);
    g_open_dirs.erase(canon);
  };
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_mapsize(env, map_size);
  if (rc == 0) rc = mdb_env_set_maxdbs(env, max_dbs);
  // MDB_NOTLS: read txns are not tied to a thread. No MDB_NOSYNC: durable commits.
  if (rc == 0) rc = mdb_env_open(env, canon.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) {
    int err = to_errno(rc, "env_open");
    if (env != nullptr) mdb_env_close(env);
    unregister();
    return R::error(err);
  }
  return std::unique_ptr<KvStore>(new KvStore(env, std::move(canon)));
}

KvStore::~KvStore() {
  for (MDB_txn* txn : idle_reads_) mdb_txn_abort(txn);
  mdb_env_close(env_);
  std::lock_guard lk(g_open_mu);
  g_open_dirs.erase(dir_);
}

Result<Db> KvStore::open_db(const std::string& name) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return Result<Db>::error(to_errno(rc, "txn_begin"));
  MDB_dbi dbi = 0;
  rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return Result<Db>::error(to_errno(rc, "dbi_open"));
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return Result<Db>::error(to_errno(rc, "commit"));
  return Db{dbi};
}

Result<std::unique_ptr<ReadTxn>> KvStore::begin_read() {
  MDB_txn* txn = nullptr;
  {
    std::lock_guard lk(idle_mu_);
    if (!idle_reads_.empty()) {
      txn = idle_reads_.back();
      idle_reads_.pop_back();
    }
  }
  // A renewed transaction sees the latest commit, as a new one would.
  if (txn != nullptr && mdb_txn_renew(txn) != 0) {
    mdb_txn_abort(txn);
    txn = nullptr;
  }
  if (txn == nullptr) {
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return Result<std::unique_ptr<ReadTxn>>::error(to_errno(rc, "txn_begin"));
  }
  return std::unique_ptr<ReadTxn>(new ReadTxn(txn, this));
}

void KvStore::recycle_read(MDB_txn* txn) {
  mdb_txn_reset(txn);  // releases the snapshot now, whatever happens next
  {
    std::lock_guard lk(idle_mu_);
    if (idle_reads_.size() < kIdleReads) {
      idle_reads_.push_back(txn);
      return;
    }
  }
  mdb_txn_abort(txn);
}

Result<std::unique_ptr<WriteTxn>> KvStore::begin_write() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return Result<std::unique_ptr<WriteTxn>>::error(to_errno(rc, "txn_begin"));
  return std::unique_ptr<WriteTxn>(new WriteTxn(txn));
}

size_t KvStore::max_key_size() const { return static_cast<size_t>(mdb_env_get_maxkeysize(env_)); }

KeyBuilder& KeyBuilder::u32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) key_.push_back(static_cast<char>(v >> shift));
  return *this;
}

KeyBuilder& KeyBuilder::u64(uint64_t v) {
  char b[8];
  put_be64(b, v);
  key_.append(b, sizeof b);  // one append: push_back checks capacity per byte
  return *this;
}

KeyBuilder& KeyBuilder::bytes(std::string_view b) {
  key_.append(b);
  return *this;
}

bool KeyReader::u32(uint32_t* v) {
  if (rest_.size() < 4) return false;
  uint32_t x = 0;
  for (int i = 0; i < 4; ++i) x = (x << 8) | static_cast<uint8_t>(rest_[i]);
  rest_.remove_prefix(4);
  *v = x;
  return true;
}

bool KeyReader::u64(uint64_t* v) {
  if (rest_.size() < 8) return false;
  *v = get_be64(rest_.data());
  rest_.remove_prefix(8);
  return true;
}

}  // namespace pnfsgw::backend::kv
