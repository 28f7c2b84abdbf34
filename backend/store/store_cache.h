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

// One file's cached writes. Lock order: flush_mu, then WriteCache::mu.
//  - ranges: the newest bytes; writers add to them under WriteCache::mu.
//  - flushing: the bytes a write-back is putting in the store. It takes them
//    out of ranges under WriteCache::mu and writes them with flush_mu alone,
//    so writers go on filling ranges meanwhile; readers copy both (flushing
//    first: ranges are newer) under WriteCache::mu.
//  - gone: set under WriteCache::mu once the entry left the map (written
//    back or its inode freed); a write-back that finds it set has nothing to do.
struct StoreFs::CachedFile {
  std::mutex flush_mu;  // one write-back of the file at a time
  DirtyRanges ranges;
  DirtyRanges flushing;
  backend::Timespec mtime;  // of the last cached write
  uint64_t bumps = 0;       // cached writes not yet in the store's change attribute
  uint64_t flush_bumps = 0;  // of which flushing carries
  // The change attribute the write-back's commit gives the inode (~0 until
  // it is known): a snapshot whose change is at least this already counts
  // flush_bumps, so getattr() does not add them twice.
  uint64_t commit_change = ~uint64_t{0};
  std::chrono::steady_clock::time_point since;  // first write into ranges
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

  // Recent write-backs, per inode: a getattr() whose snapshot was taken
  // before one committed but which folds after its entry changed (or left
  // the map) adds the bumps back, so the change attribute never goes back.
  // Kept for a second (a snapshot is read in microseconds), at most 4 per
  // inode; the write-back thread drops older ones.
  struct Committed {
    uint64_t change;  // the inode's change attribute after that commit
    uint64_t bumps;   // cached writes it carried
    std::chrono::steady_clock::time_point when;
  };
  std::unordered_map<uint64_t, std::vector<Committed>> recent;  // GUARDED_BY(mu)
  std::atomic<size_t> recent_count{0};  // recent.size(), read without mu
  std::atomic<uint64_t> writebacks{0};

  // The write-back thread: age and pressure.
  std::mutex wb_mu;
  std::condition_variable wb_cv;
  bool wb_stop = false;  // GUARDED_BY(wb_mu)
  std::thread thread;
};

}  // namespace pnfsgw::store
