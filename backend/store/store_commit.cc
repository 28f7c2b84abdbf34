// StoreFs: group commit. Every change (mutate()) is queued; one caller at a
// time is the leader and runs whatever has queued up as one batch:
//
//   begin a KV write transaction; release quarantine the breaker let go;
//   for each change: a nested transaction, the change, commit or abort it
//     (an aborted change is rolled back alone: its nested transaction and
//     its allocator undo log);
//   one device flush if any change wrote data its records point at;
//   one KV commit (synced), then wake every caller.
//
// So N clients creating files at once pay one flush and one commit per
// batch instead of N. The caller that finds no leader becomes it and runs
// batches until its own change has committed, then hands the lead to the
// oldest caller still queued (or stands down when none is). A lone client so runs its
// change on its own thread, with no hand-off to another thread and back
// (a committer thread cost two context switches per change). Batches never
// overlap: only the leader holds a KV write transaction, which it begins
// and commits on its own thread, as LMDB requires.
#include <cstring>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"
#include "common/log.h"

namespace pnfsgw::store {

namespace {
constexpr size_t kMaxBatch = 64;
}

namespace {
thread_local bool tls_in_batch = false;  // this thread runs a batch now
}  // namespace

void StoreFs::stop_commits() {
  std::unique_lock lk(queue_mu_);
  stopping_ = true;
  done_cv_.wait(lk, [&] { return !leading_ && queue_.empty(); });
}

Status StoreFs::commit_queued(Request& req) {
  // A change made from inside a change (a read in a dedupe meeting a media
  // error) would wait for its own batch.
  if (tls_in_batch) return Status::error(EDEADLK);
  std::unique_lock lk(queue_mu_);
  if (stopping_) return Status::error(EROFS);
  queue_.push_back(&req);
  if (leading_) {
    // Woken alone, when its batch has run or when it is handed the lead:
    // a batch wakes only its own callers, not every waiting thread.
    req.cv.wait(lk, [&] { return req.done || req.lead; });
    if (req.done) return Status::ok();
  } else {
    leading_ = true;
  }
  while (!req.done) {
    std::vector<Request*> batch;
    size_t n = std::min(queue_.size(), kMaxBatch);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<long>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
    lk.unlock();
    tls_in_batch = true;
    run_batch(batch);
    tls_in_batch = false;
    lk.lock();
    // Under the lock: a caller may return (and its Request go) as soon as
    // it sees done.
    for (Request* r : batch) {
      r->done = true;
      if (r != &req) r->cv.notify_one();
    }
  }
  // Hand the lead to the oldest queued change's caller (leading_ stays set,
  // so no newcomer leads beside it), or stand down.
  if (!queue_.empty()) {
    queue_.front()->lead = true;
    queue_.front()->cv.notify_one();
  } else {
    leading_ = false;
    done_cv_.notify_all();
  }
  return Status::ok();
}

void StoreFs::run_batch(const std::vector<Request*>& batch) {
  auto fail_all = [&](int err) {
    for (Request* r : batch) r->result = Status::error(err);
  };
  if (read_only()) return fail_all(EROFS);
  auto w = kv_->begin_write();
  if (!w) {
    go_read_only(std::string("cannot begin a metadata transaction: ") + strerror(w.err()));
    return fail_all(EIO);
  }
  Tx top(*w.value());
  if (Status st = drain_released(top); !st) {
    undo(top);
    go_read_only(std::string("cannot release quarantine: ") + strerror(st.err()));
    return fail_all(EIO);
  }
  std::vector<std::unique_ptr<Tx>> done;  // committed into top, by request
  std::vector<Request*> ok;
  bool need_flush = false;
  for (Request* r : batch) {
    if (read_only()) {
      r->result = Status::error(EROFS);
      continue;
    }
    auto child = w.value()->nested();
    if (!child) {
      r->result = Status::error(EIO);
      continue;
    }
    auto t = std::make_unique<Tx>(*child.value());
    Status st = (*r->fn)(*t);
    if (st) st = child.value()->commit();  // merges into top
    if (!st) {
      undo(*t);
      r->result = st;
      continue;
    }
    need_flush |= t->need_flush;
    r->result = Status::ok();
    ok.push_back(r);
    done.push_back(std::move(t));
  }
  auto undo_all = [&] {
    for (auto it = done.rbegin(); it != done.rend(); ++it) undo(**it);
    undo(top);
  };
  // Data first: the blocks the batch maps anew reach the device before the
  // records that point at them.
  if (need_flush) {
    if (Status st = dev_->flush(); !st) {
      undo_all();
      for (Request* r : ok) r->result = st;
      return;  // the transaction aborts with w
    }
  }
  // next_ino only when a change took a number: an unchanged record would
  // still copy the meta db's page (and its path) into the commit.
  const uint64_t next_ino = next_ino_.load();
  Status st = next_ino == stored_next_ino_ ? Status::ok()
                                           : top.w.put(db_->meta, "next_ino", encode_u64(next_ino));
  if (st) st = top.w.commit();
  if (!st) {
    // The allocator and the KV may no longer agree; stop changing anything.
    go_read_only(std::string("metadata commit failed: ") + strerror(st.err()));
    for (Request* r : ok) r->result = Status::error(EIO);
    return;
  }
  stored_next_ino_ = next_ino;
  free_blocks_ = alloc_.free_blocks();
  commits_++;
  changes_ += ok.size();
  for (const auto& t : done)
    for (uint64_t ino : t->freed) forget_cached(ino);
  std::lock_guard tl(times_mu_);
  for (size_t i = 0; i < ok.size(); i++) {
    ok[i]->quarantined = std::move(done[i]->quarantined);
    for (auto [ino, n] : done[i]->retire_bumps) {
      auto it = dirty_times_.find(ino);
      if (it == dirty_times_.end()) continue;
      it->second.bumps -= std::min(n, it->second.bumps);
      if (it->second.bumps == 0) dirty_times_.erase(it);
    }
  }
}

}  // namespace pnfsgw::store
