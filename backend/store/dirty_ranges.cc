#include "backend/store/dirty_ranges.h"

#include <algorithm>
#include <cstring>

namespace pnfsgw::store {

void DirtyRanges::write(uint64_t off, std::span<const uint8_t> data) {
  if (data.empty()) return;
  const uint64_t end = off + data.size();
  // The piece starting before off, if it reaches into the write.
  auto it = pieces_.upper_bound(off);
  Pieces::iterator prev = pieces_.end();
  if (it != pieces_.begin() && std::prev(it)->first < off) {
    prev = std::prev(it);
    std::vector<uint8_t>& p = prev->second;
    uint64_t p_end = prev->first + p.size();
    if (p_end >= end) {  // inside one piece: overwrite it there
      memcpy(p.data() + (off - prev->first), data.data(), data.size());
      return;
    }
    if (p_end > off) {
      bytes_ -= p_end - off;
      p.resize(off - prev->first);
    }
  }
  // Pieces starting inside the write: dropped, or their tail kept.
  it = pieces_.lower_bound(off);
  while (it != pieces_.end() && it->first < end) {
    uint64_t q_end = it->first + it->second.size();
    if (q_end <= end) {
      bytes_ -= it->second.size();
      it = pieces_.erase(it);
      continue;
    }
    std::vector<uint8_t> tail(it->second.begin() + static_cast<long>(end - it->first), it->second.end());
    bytes_ -= end - it->first;
    pieces_.erase(it);
    pieces_.emplace(end, std::move(tail));
    break;
  }
  bytes_ += data.size();
  end_ = std::max(end_, end);
  if (prev != pieces_.end() && prev->first + prev->second.size() == off &&
      prev->second.size() + data.size() <= kMaxAppend) {
    prev->second.insert(prev->second.end(), data.begin(), data.end());
    return;
  }
  pieces_.emplace(off, std::vector<uint8_t>(data.begin(), data.end()));
}

void DirtyRanges::overlay(uint64_t off, std::span<uint8_t> buf) const {
  const uint64_t end = off + buf.size();
  auto it = pieces_.upper_bound(off);
  if (it != pieces_.begin()) --it;
  for (; it != pieces_.end() && it->first < end; ++it) {
    uint64_t s = std::max(off, it->first), e = std::min(end, it->first + it->second.size());
    if (e > s) memcpy(buf.data() + (s - off), it->second.data() + (s - it->first), e - s);
  }
}

bool DirtyRanges::overlaps(uint64_t off, uint64_t len) const {
  const uint64_t end = off + len;
  auto it = pieces_.upper_bound(off);
  if (it != pieces_.begin() && std::prev(it)->first + std::prev(it)->second.size() > off) return true;
  return it != pieces_.end() && it->first < end;
}

}  // namespace pnfsgw::store
