#include "backend/store/extent_map.h"

#include <cstdio>
#include <iterator>

namespace pnfsgw::store {

ExtentMap::Map::const_iterator ExtentMap::first_touching(uint64_t lblk) const {
  auto it = map_.upper_bound(lblk);
  if (it != map_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.len > lblk) return prev;
  }
  return it;
}

ExtentMap::Map::iterator ExtentMap::first_touching(uint64_t lblk) {
  auto it = map_.upper_bound(lblk);
  if (it != map_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.len > lblk) return prev;
  }
  return it;
}

std::optional<Extent> ExtentMap::lookup(uint64_t lblk) const {
  auto it = first_touching(lblk);
  if (it == map_.end()) return std::nullopt;
  return to_extent(*it);
}

std::vector<Extent> ExtentMap::query(uint64_t lblk, uint64_t len) const {
  std::vector<Extent> out;
  if (!valid_range(lblk, len)) return out;
  const uint64_t end = lblk + len;
  for (auto it = first_touching(lblk); it != map_.end() && it->first < end; ++it) {
    Extent e = to_extent(*it);
    if (e.lblk < lblk) {
      const uint64_t cut = lblk - e.lblk;
      e.lblk += cut;
      e.pblk += cut;
      e.len -= cut;
    }
    if (e.lend() > end) e.len = end - e.lblk;
    out.push_back(e);
  }
  return out;
}

void ExtentMap::split_at(uint64_t b) {
  auto it = map_.upper_bound(b);
  if (it == map_.begin()) return;
  --it;
  Mapping& m = it->second;
  const uint64_t start = it->first;
  if (start == b || start + m.len <= b) return;
  const uint64_t head = b - start;
  map_.emplace_hint(std::next(it), b, Mapping{m.len - head, m.pblk + head, m.unwritten});
  m.len = head;
}

Result<std::vector<PhysRange>> ExtentMap::punch(uint64_t lblk, uint64_t len) {
  if (!valid_range(lblk, len)) return Result<std::vector<PhysRange>>::error(EINVAL);
  const uint64_t end = lblk + len;
  split_at(lblk);
  split_at(end);
  std::vector<PhysRange> displaced;
  auto it = map_.lower_bound(lblk);
  while (it != map_.end() && it->first < end) {
    displaced.push_back(PhysRange{it->second.pblk, it->second.len});
    it = map_.erase(it);
  }
  return displaced;
}

Result<std::vector<PhysRange>> ExtentMap::insert(const Extent& e) {
  if (!valid_range(e.lblk, e.len) || e.pblk > UINT64_MAX - e.len) {
    return Result<std::vector<PhysRange>>::error(EINVAL);
  }
  auto displaced = punch(e.lblk, e.len);
  // The range is now a hole, so the key is free and its neighbours end/start
  // outside it.
  map_.emplace(e.lblk, Mapping{e.len, e.pblk, e.unwritten});
  return displaced;
}

Status ExtentMap::set_unwritten(uint64_t lblk, uint64_t len, bool unwritten) {
  if (!valid_range(lblk, len)) return Status::error(EINVAL);
  const uint64_t end = lblk + len;
  split_at(lblk);
  split_at(end);
  for (auto it = map_.lower_bound(lblk); it != map_.end() && it->first < end; ++it) {
    it->second.unwritten = unwritten;
  }
  return Status::ok();
}

Status ExtentMap::shift_up(uint64_t lblk, uint64_t delta) {
  if (delta == 0 || map_.empty()) return Status::ok();
  const auto& last = *map_.rbegin();
  if (last.first + last.second.len > lblk &&
      (delta > kMaxLblk || last.first + last.second.len > kMaxLblk - delta)) {
    return Status::error(EFBIG);
  }
  split_at(lblk);
  // Highest first, so a new key never meets a key not yet moved. Order is
  // unchanged, so the node goes back right before its old successor.
  // Entries before `it` with a key >= lblk are the ones still to move.
  auto it = map_.end();
  while (it != map_.begin() && std::prev(it)->first >= lblk) {
    auto cur = std::prev(it);
    auto node = map_.extract(cur);
    node.key() += delta;
    it = map_.insert(it, std::move(node));
  }
  return Status::ok();
}

Status ExtentMap::shift_down(uint64_t lblk, uint64_t delta) {
  if (delta == 0) return Status::ok();
  if (delta > lblk) return Status::error(EINVAL);
  // The collapsed range must be a hole and nothing may straddle lblk
  // (the moved entries would overlap the one left behind).
  auto t = first_touching(lblk - delta);
  if (t != map_.end() && t->first < lblk) return Status::error(EINVAL);
  // Lowest first: every key not yet moved is above the new one.
  auto it = map_.lower_bound(lblk);
  while (it != map_.end()) {
    auto next = std::next(it);
    auto node = map_.extract(it);
    node.key() -= delta;
    map_.insert(next, std::move(node));
    it = next;
  }
  return Status::ok();
}

void ExtentMap::merge(uint64_t lblk, uint64_t len) {
  if (map_.empty()) return;
  const uint64_t end = valid_range(lblk, len) ? lblk + len : kMaxLblk;
  auto it = first_touching(lblk == 0 ? 0 : lblk - 1);
  if (it != map_.begin()) --it;  // the left neighbour may fold into the first one
  while (it != map_.end() && it->first <= end) {
    auto next = std::next(it);
    if (next == map_.end()) break;
    Mapping& a = it->second;
    const Mapping& b = next->second;
    if (it->first + a.len == next->first && a.pblk + a.len == b.pblk &&
        a.unwritten == b.unwritten) {
      a.len += b.len;
      map_.erase(next);
    } else {
      it = next;
    }
  }
}

uint64_t ExtentMap::mapped_blocks() const {
  uint64_t n = 0;
  for (const auto& kv : map_) n += kv.second.len;
  return n;
}

std::vector<Extent> ExtentMap::all() const {
  std::vector<Extent> out;
  out.reserve(map_.size());
  for (const auto& kv : map_) out.push_back(to_extent(kv));
  return out;
}

Status ExtentMap::check() const {
  uint64_t prev_end = 0;
  bool first = true;
  for (const auto& [lblk, m] : map_) {
    const char* why = nullptr;
    if (m.len == 0) {
      why = "zero length";
    } else if (!valid_range(lblk, m.len)) {
      why = "logical range past kMaxLblk";
    } else if (m.pblk > UINT64_MAX - m.len) {
      why = "physical range wraps";
    } else if (!first && lblk < prev_end) {
      why = "overlaps the previous entry";
    }
    if (why != nullptr) {
      std::fprintf(stderr, "ExtentMap::check: entry lblk=%llu len=%llu pblk=%llu: %s\n",
                   static_cast<unsigned long long>(lblk), static_cast<unsigned long long>(m.len),
                   static_cast<unsigned long long>(m.pblk), why);
      return Status::error(EUCLEAN);
    }
    prev_end = lblk + m.len;
    first = false;
  }
  return Status::ok();
}

}  // namespace pnfsgw::store
