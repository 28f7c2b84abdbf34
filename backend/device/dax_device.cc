#include "backend/device/dax_device.h"

#include <libpmem.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace pnfsgw::backend::device {

DaxDevice::~DaxDevice() { pmem_unmap(base_, size_); }

Status DaxDevice::read(uint64_t off, std::span<uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  if (!buf.empty()) std::memcpy(buf.data(), base_ + off, buf.size());
  return Status::ok();
}

Status DaxDevice::write(uint64_t off, std::span<const uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  if (buf.empty()) return Status::ok();
  if (is_pmem_) {
    // Stores reach the persistence domain; flush() adds the drain (fence).
    pmem_memcpy_nodrain(base_ + off, buf.data(), buf.size());
  } else {
    std::memcpy(base_ + off, buf.data(), buf.size());
  }
  return Status::ok();
}

Status DaxDevice::flush() {
  if (is_pmem_) {
    pmem_drain();
    return Status::ok();
  }
  if (pmem_msync(base_, size_) != 0) return Status::error(errno ? errno : EIO);
  return Status::ok();
}

Status DaxDevice::flush_range(uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  if (len == 0) return Status::ok();
  if (is_pmem_) {
    // Covers stores made through map() as well as write().
    pmem_persist(base_ + off, len);
    return Status::ok();
  }
  if (pmem_msync(base_ + off, len) != 0) return Status::error(errno ? errno : EIO);
  return Status::ok();
}

Result<std::unique_ptr<DaxDevice>> open_dax_device(const std::string& path, uint64_t create_size) {
  using R = Result<std::unique_ptr<DaxDevice>>;
  struct stat st {};
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (!exists && (errno != ENOENT || create_size == 0)) return R::error(errno);
  size_t mapped_len = 0;
  int is_pmem = 0;
  void* base = nullptr;
  if (exists) {
    // len 0, flags 0: map the whole existing file or device-DAX node.
    base = pmem_map_file(path.c_str(), 0, 0, 0, &mapped_len, &is_pmem);
  } else {
    base = pmem_map_file(path.c_str(), create_size,
                         PMEM_FILE_CREATE | PMEM_FILE_EXCL | PMEM_FILE_SPARSE, 0600, &mapped_len,
                         &is_pmem);
  }
  if (base == nullptr) return R::error(errno ? errno : EIO);
  return std::make_unique<DaxDevice>(static_cast<uint8_t*>(base), mapped_len, is_pmem != 0);
}

}  // namespace pnfsgw::backend::device
