#include "backend/device/fault_device.h"

#include <algorithm>
#include <cstring>
#include <random>

namespace pnfsgw::backend::device {

bool FaultDevice::failing(uint64_t off, uint64_t len, bool is_write) const {
  if (len == 0) return false;
  for (const FailRange& f : fail_) {
    if (is_write && !f.writes) continue;
    if (off < f.off + f.len && f.off < off + len) return true;
  }
  return false;
}

bool FaultDevice::powered() {
  if (!power_left_) return true;
  if (*power_left_ == 0) return false;
  --*power_left_;
  return true;
}

FaultDevice::Block& FaultDevice::dirty_block(uint64_t index) {
  auto it = overlay_.find(index);
  if (it != overlay_.end()) return it->second;
  // The last block may be partial when size() is not a multiple of 4 KiB.
  uint64_t off = index * kBlockSize;
  Block b(std::min<uint64_t>(kBlockSize, size() - off));
  (void)durable_.read(off, b);
  return overlay_.emplace(index, std::move(b)).first->second;
}

void FaultDevice::persist_block(uint64_t index, const Block& b) {
  (void)durable_.write(index * kBlockSize, b);
}

Status FaultDevice::read(uint64_t off, std::span<uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  std::lock_guard lk(mu_);
  if (failing(off, buf.size(), false)) return Status::error(EIO);
  uint64_t pos = off, end = off + buf.size();
  while (pos < end) {
    uint64_t index = pos / kBlockSize, in = pos % kBlockSize;
    uint64_t n = std::min<uint64_t>(kBlockSize - in, end - pos);
    std::span<uint8_t> dst = buf.subspan(pos - off, n);
    auto it = overlay_.find(index);
    if (it != overlay_.end()) {
      std::memcpy(dst.data(), it->second.data() + in, n);
    } else if (Status st = durable_.read(pos, dst); !st) {
      return st;
    }
    pos += n;
  }
  return Status::ok();
}

Status FaultDevice::write(uint64_t off, std::span<const uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  std::lock_guard lk(mu_);
  if (failing(off, buf.size(), true) || !powered()) return Status::error(EIO);
  ++writes_;
  uint64_t pos = off, end = off + buf.size();
  while (pos < end) {
    uint64_t index = pos / kBlockSize, in = pos % kBlockSize;
    uint64_t n = std::min<uint64_t>(kBlockSize - in, end - pos);
    std::memcpy(dirty_block(index).data() + in, buf.data() + (pos - off), n);
    pos += n;
  }
  return Status::ok();
}

Status FaultDevice::flush() {
  std::lock_guard lk(mu_);
  if (!powered()) return Status::error(EIO);
  ++flushes_;
  for (const auto& [index, b] : overlay_) persist_block(index, b);
  overlay_.clear();
  return Status::ok();
}

Status FaultDevice::flush_range(uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  std::lock_guard lk(mu_);
  if (!powered()) return Status::error(EIO);
  ++flushes_;
  if (len == 0) return Status::ok();
  auto it = overlay_.lower_bound(off / kBlockSize);
  auto last = overlay_.upper_bound((off + len - 1) / kBlockSize);
  while (it != last) {
    persist_block(it->first, it->second);
    it = overlay_.erase(it);
  }
  return Status::ok();
}

void FaultDevice::crash(std::optional<uint64_t> torn_seed) {
  std::lock_guard lk(mu_);
  if (torn_seed) {
    std::mt19937_64 rng(*torn_seed);
    // Iterates in block order, so the survivors depend only on the seed.
    for (const auto& [index, b] : overlay_) {
      if (rng() & 1) persist_block(index, b);
    }
  }
  overlay_.clear();
  power_left_.reset();
}

void FaultDevice::power_cut_after(uint64_t n) {
  std::lock_guard lk(mu_);
  power_left_ = n;
}

bool FaultDevice::power_cut() const {
  std::lock_guard lk(mu_);
  return power_left_ == 0u;
}

void FaultDevice::fail_range(uint64_t off, uint64_t len, bool fail_writes) {
  std::lock_guard lk(mu_);
  fail_.push_back({off, len, fail_writes});
}

void FaultDevice::clear_fail() {
  std::lock_guard lk(mu_);
  fail_.clear();
}

uint64_t FaultDevice::writes() const {
  std::lock_guard lk(mu_);
  return writes_;
}

uint64_t FaultDevice::flushes() const {
  std::lock_guard lk(mu_);
  return flushes_;
}

size_t FaultDevice::dirty_blocks() const {
  std::lock_guard lk(mu_);
  return overlay_.size();
}

}  // namespace pnfsgw::backend::device
