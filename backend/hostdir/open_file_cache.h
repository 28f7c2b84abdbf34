// OpenFileCache: a bounded LRU of open read/write fds, keyed by inode, so
// READ/WRITE do not pay an open_by_handle_at per call.
//
// Entries are shared_ptr because an fd must stay open while any thread is
// still in pread/pwrite on it, even after eviction; the last user closes it.
// A cached fd keeps its inode alive after unlink, so a client that still
// uses an unlinked file can keep reading it, and the inode number cannot be
// reused while the entry exists. Safe from any thread.
#pragma once
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "backend/fs.h"
#include "backend/hostdir/host_sys.h"

namespace pnfsgw::backend::hostdir {

struct OpenFile {
  UniqueFd fd;
  // O_RDWR, else O_RDONLY. Files are opened for writing only once written
  // to: a cached writable fd would make exec of that file fail (ETXTBSY).
  bool writable = false;
};

class OpenFileCache {
 public:
  explicit OpenFileCache(size_t capacity) : capacity_(capacity) {}

  // The entry for ino (now most recently used), or null.
  std::shared_ptr<const OpenFile> get(InodeId ino);
  // Stores f for ino, replacing any entry except a writable one by a
  // read-only one, and evicts the least recently used entry beyond capacity.
  void put(InodeId ino, std::shared_ptr<const OpenFile> f);
  void erase(InodeId ino);
  size_t size() const;

 private:
  using Lru = std::list<std::pair<InodeId, std::shared_ptr<const OpenFile>>>;

  const size_t capacity_;
  mutable std::mutex mu_;
  Lru lru_;                                           // GUARDED_BY(mu_); front = newest
  std::unordered_map<InodeId, Lru::iterator> index_;  // GUARDED_BY(mu_)
};

}  // namespace pnfsgw::backend::hostdir
