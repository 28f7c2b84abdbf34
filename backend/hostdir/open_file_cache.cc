#include "backend/hostdir/open_file_cache.h"

namespace pnfsgw::backend::hostdir {

std::shared_ptr<const OpenFile> OpenFileCache::get(InodeId ino) {
  std::lock_guard lock(mu_);
  auto it = index_.find(ino);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void OpenFileCache::put(InodeId ino, std::shared_ptr<const OpenFile> f) {
  // Dropped references are released after unlocking: the last one closes an fd.
  std::shared_ptr<const OpenFile> replaced, evicted;
  std::lock_guard lock(mu_);
  if (auto it = index_.find(ino); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    // A racing reader must not undo a writer's upgrade.
    if (it->second->second->writable && !f->writable) return;
    replaced = std::move(it->second->second);
    it->second->second = std::move(f);
    return;
  }
  lru_.emplace_front(ino, std::move(f));
  index_[ino] = lru_.begin();
  if (lru_.size() > capacity_) {
    evicted = std::move(lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void OpenFileCache::erase(InodeId ino) {
  std::shared_ptr<const OpenFile> dropped;
  std::lock_guard lock(mu_);
  auto it = index_.find(ino);
  if (it == index_.end()) return;
  dropped = std::move(it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
}

size_t OpenFileCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace pnfsgw::backend::hostdir
