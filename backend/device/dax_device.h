// DaxDevice: a Device that maps a file (on a DAX filesystem or not) or a
// device-DAX node (/dev/daxX.Y) and moves data with loads and stores.
// Persistence goes through libpmem: on real persistent memory (pmem_is_pmem)
// writes use non-temporal stores and flush() drains; elsewhere the mapping
// is made durable with msync (pmem_msync). libpmem stays out of this header.
//
// Safe from any thread. Media errors on a mapping surface as SIGBUS, not EIO
// (handling poisoned pages is future work). Unmaps on destruction.
#pragma once
#include <memory>
#include <string>

#include "backend/device/device.h"

namespace pnfsgw::backend::device {

class DaxDevice final : public Device {
 public:
  DaxDevice(uint8_t* base, uint64_t size, bool is_pmem)
      : base_(base), size_(size), is_pmem_(is_pmem) {}
  ~DaxDevice() override;
  DaxDevice(const DaxDevice&) = delete;
  DaxDevice& operator=(const DaxDevice&) = delete;

  uint64_t size() const override { return size_; }
  Status read(uint64_t off, std::span<uint8_t> buf) override;
  Status write(uint64_t off, std::span<const uint8_t> buf) override;
  Status flush() override;
  Status flush_range(uint64_t off, uint64_t len) override;
  uint8_t* map() override { return base_; }

  // True when the mapping is real persistent memory (CPU cache flushes
  // suffice); false when msync is needed.
  bool is_pmem() const { return is_pmem_; }

 private:
  uint8_t* const base_;
  const uint64_t size_;
  const bool is_pmem_;
};

// Maps `path` whole. A file that does not exist is created sparse with
// create_size bytes (create_size 0: ENOENT instead).
Result<std::unique_ptr<DaxDevice>> open_dax_device(const std::string& path, uint64_t create_size);

}  // namespace pnfsgw::backend::device
