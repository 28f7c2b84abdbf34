// MemDevice: a Device in memory, for tests. Nothing survives its destruction;
// flush() is a no-op (everything written is "durable" at once).
// Safe from any thread (one mutex; tests only, speed does not matter).
#pragma once
#include <mutex>
#include <vector>

#include "backend/device/device.h"

namespace pnfsgw::backend::device {

class MemDevice final : public Device {
 public:
  explicit MemDevice(uint64_t size) : data_(size, 0) {}

  uint64_t size() const override { return data_.size(); }
  Status read(uint64_t off, std::span<uint8_t> buf) override;
  Status write(uint64_t off, std::span<const uint8_t> buf) override;
  Status flush() override { return Status::ok(); }

 private:
  std::mutex mu_;
  std::vector<uint8_t> data_;  // GUARDED_BY(mu_); size fixed at construction
};

}  // namespace pnfsgw::backend::device
