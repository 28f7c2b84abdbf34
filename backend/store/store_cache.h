// The store's write cache (store_cache.cc), for the store's .cc files only.
#pragma once
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "backend/store/dirty_ranges.h"
#include "backend/store/store_fs.h"

namespace pnfsgw::store {

// One file's cached writes. Lock order: mu, then WriteCache::mu.
//  - ranges change under both locks (a writer adding bytes); readers copy
//    them under WriteCache::mu, a write-back reads them under mu alone.
//  - gone: set under WriteCache::mu once the entry left the map (written
//    back or its inode freed); a writer that finds it set takes a new one.
struct StoreFs::CachedFile {
  std::mutex mu;
  DirtyRanges ranges;
  backend::Timespec mtime;  // of the last cached write
  uint64_t bumps = 0;       // cached writes: the change attribute goes up by this
  std::chrono::steady_clock::time_point since;  // first cached write
  uint64_t reserved = 0;    // blocks counted in WriteCache::reserved for it
  bool gone = false;
};

struct StoreFs::WriteCache {
  uint64_t limit = 0;
  std::chrono::milliseconds age{5000};

  mutable std::mutex mu;
  std::unordered_map<uint64_t, std::shared_ptr<CachedFile>> files;  // GUARDED_BY(mu)
  uint64_t bytes = 0;     // GUARDED_BY(mu): cached bytes of every file
  uint64_t reserved = 0;  // GUARDED_BY(mu): blocks their write-back may take (upper bound)
  std::atomic<size_t> count{0};  // files.size(), read without mu
  std::atomic<uint64_t> writebacks{0};

  // The write-back thread: age and pressure.
  std::mutex wb_mu;
  std::condition_variable wb_cv;
  bool wb_stop = false;  // GUARDED_BY(wb_mu)
  std::thread thread;
};

}  // namespace pnfsgw::store
