#include "backend/device/mem_device.h"

#include <cstring>

namespace pnfsgw::backend::device {

Status MemDevice::read(uint64_t off, std::span<uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  std::lock_guard lk(mu_);
  if (!buf.empty()) std::memcpy(buf.data(), data_.data() + off, buf.size());
  return Status::ok();
}

Status MemDevice::write(uint64_t off, std::span<const uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  std::lock_guard lk(mu_);
  if (!buf.empty()) std::memcpy(data_.data() + off, buf.data(), buf.size());
  return Status::ok();
}

}  // namespace pnfsgw::backend::device
