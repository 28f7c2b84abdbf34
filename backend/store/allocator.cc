#include "backend/store/allocator.h"

#include <cstdio>
#include <iterator>

namespace pnfsgw::store {

Allocator::Allocator(uint64_t nblocks) : nblocks_(nblocks) {
  if (nblocks > 0) add_free(0, nblocks);
}

void Allocator::add_free(uint64_t pblk, uint64_t len) {
  by_start_.emplace(pblk, len);
  by_len_.emplace(len, pblk);
  free_ += len;
}

void Allocator::remove_free(ByStart::iterator it) {
  by_len_.erase({it->second, it->first});
  free_ -= it->second;
  by_start_.erase(it);
}

void Allocator::carve(ByStart::iterator it, uint64_t pblk, uint64_t len) {
  const uint64_t start = it->first;
  const uint64_t end = start + it->second;
  remove_free(it);
  if (pblk > start) add_free(start, pblk - start);
  if (pblk + len < end) add_free(pblk + len, end - (pblk + len));
}

bool Allocator::try_goal(uint64_t len, uint64_t goal, PhysRange* out) {
  if (goal >= nblocks_) return false;
  auto it = by_start_.upper_bound(goal);
  if (it != by_start_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second > goal) it = prev;  // the extent holding goal
  }
  for (int i = 0; i < kGoalProbe && it != by_start_.end(); ++i, ++it) {
    const uint64_t from = it->first > goal ? it->first : goal;
    if (it->first + it->second - from >= len) {
      *out = PhysRange{from, len};
      carve(it, from, len);
      return true;
    }
  }
  return false;
}

Result<std::vector<PhysRange>> Allocator::allocate(uint64_t len, uint64_t goal) {
  using R = Result<std::vector<PhysRange>>;
  if (len == 0) return R::error(EINVAL);
  if (len > free_) return R::error(ENOSPC);
  std::vector<PhysRange> out;
  PhysRange r;
  if (try_goal(len, goal, &r)) {
    out.push_back(r);
    return out;
  }
  uint64_t need = len;
  while (need > 0) {
    // Best fit for what is left, else the largest extent whole.
    auto fit = by_len_.lower_bound({need, 0});
    if (fit == by_len_.end()) fit = std::prev(by_len_.end());
    const uint64_t start = fit->second;
    const uint64_t take = fit->first < need ? fit->first : need;
    carve(by_start_.find(start), start, take);
    out.push_back(PhysRange{start, take});
    need -= take;
  }
  return out;
}

Status Allocator::free(uint64_t pblk, uint64_t len) {
  if (len == 0 || pblk >= nblocks_ || len > nblocks_ - pblk) return Status::error(EINVAL);
  const uint64_t end = pblk + len;
  auto next = by_start_.lower_bound(pblk);
  if (next != by_start_.end() && next->first < end) return Status::error(EINVAL);
  auto prev = next == by_start_.begin() ? by_start_.end() : std::prev(next);
  if (prev != by_start_.end() && prev->first + prev->second > pblk) return Status::error(EINVAL);

  uint64_t start = pblk;
  uint64_t total = len;
  if (prev != by_start_.end() && prev->first + prev->second == pblk) {
    start = prev->first;
    total += prev->second;
    remove_free(prev);
  }
  if (next != by_start_.end() && next->first == end) {
    total += next->second;
    remove_free(next);
  }
  add_free(start, total);
  return Status::ok();
}

Status Allocator::reserve(uint64_t pblk, uint64_t len) {
  if (len == 0 || pblk >= nblocks_ || len > nblocks_ - pblk) return Status::error(EINVAL);
  auto it = by_start_.upper_bound(pblk);
  if (it == by_start_.begin()) return Status::error(EINVAL);
  --it;
  if (it->first + it->second < pblk + len) return Status::error(EINVAL);
  carve(it, pblk, len);
  return Status::ok();
}

std::vector<PhysRange> Allocator::free_list() const {
  std::vector<PhysRange> out;
  out.reserve(by_start_.size());
  for (const auto& [start, len] : by_start_) out.push_back(PhysRange{start, len});
  return out;
}

std::vector<PhysRange> Allocator::free_overlapping(uint64_t lo, uint64_t hi) const {
  std::vector<PhysRange> out;
  auto it = by_start_.upper_bound(lo);
  if (it != by_start_.begin() && std::prev(it)->first + std::prev(it)->second > lo) --it;
  for (; it != by_start_.end() && it->first < hi; ++it) out.push_back(PhysRange{it->first, it->second});
  return out;
}

Status Allocator::check() const {
  const char* why = nullptr;
  uint64_t sum = 0;
  uint64_t prev_end = 0;
  bool first = true;
  if (by_start_.size() != by_len_.size()) why = "index sizes differ";
  for (const auto& [start, len] : by_start_) {
    if (why != nullptr) break;
    if (len == 0) {
      why = "zero-length free extent";
    } else if (start >= nblocks_ || len > nblocks_ - start) {
      why = "free extent outside the device";
    } else if (!first && start < prev_end) {
      why = "free extents overlap";
    } else if (!first && start == prev_end) {
      why = "adjacent free extents not coalesced";
    } else if (by_len_.count({len, start}) == 0) {
      why = "free extent missing from the length index";
    }
    sum += len;
    prev_end = start + len;
    first = false;
  }
  if (why == nullptr && sum != free_) why = "free_blocks() differs from the extents";
  if (why != nullptr) {
    std::fprintf(stderr, "Allocator::check: %s\n", why);
    return Status::error(EUCLEAN);
  }
  return Status::ok();
}

}  // namespace pnfsgw::store
