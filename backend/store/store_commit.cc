// StoreFs: group commit. Every change (mutate()) is queued for one committer
// thread, which runs whatever has queued up as one batch:
//
//   begin a KV write transaction; release quarantine the breaker let go;
//   for each change: a nested transaction, the change, commit or abort it
//     (an aborted change is rolled back alone: its nested transaction and
//     its allocator undo log);
//   one device flush if any change wrote data its records point at;
//   one KV commit (synced), then wake every caller.
//
// So N clients creating files at once pay one flush and one commit per
// batch instead of N, while a lone client waits no longer than before (a
// batch starts as soon as one change is queued). The committer is the only
// thread that holds a KV write transaction, which LMDB ties to its thread.
#include <cstring>

#include "backend/store/store_fs.h"
#include "backend/store/store_internal.h"
#include "common/log.h"

namespace pnfsgw::store {

namespace {
constexpr size_t kMaxBatch = 64;
}

void StoreFs::start_committer() {
  committer_ = std::thread([this] { committer_loop(); });
}

void StoreFs::stop_committer() {
  {
    std::lock_guard lk(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
}

void StoreFs::committer_loop() {
  committer_id_ = std::this_thread::get_id();
  for (;;) {
    std::vector<Request*> batch;
    {
      std::unique_lock lk(queue_mu_);
      queue_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      size_t n = std::min(queue_.size(), kMaxBatch);
      batch.assign(queue_.begin(), queue_.begin() + static_cast<long>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
    }
    run_batch(batch);
    {
      std::lock_guard lk(queue_mu_);
      for (Request* r : batch) r->done = true;
    }
    done_cv_.notify_all();
  }
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
  Status st = top.w.put(db_->meta, "next_ino", encode_u64(next_ino_));
  if (st) st = top.w.commit();
  if (!st) {
    // The allocator and the KV may no longer agree; stop changing anything.
    go_read_only(std::string("metadata commit failed: ") + strerror(st.err()));
    for (Request* r : ok) r->result = Status::error(EIO);
    return;
  }
  free_blocks_ = alloc_.free_blocks();
  commits_++;
  changes_ += ok.size();
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
