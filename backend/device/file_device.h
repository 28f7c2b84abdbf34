// FileDevice: a Device on a regular file or a block device, through
// pread/pwrite; flush() is fdatasync(2). Owns the file descriptor.
// Safe from any thread (pread/pwrite carry their own offsets).
#pragma once
#include <memory>
#include <string>

#include "backend/device/device.h"

namespace pnfsgw::backend::device {

class FileDevice final : public Device {
 public:
  FileDevice(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FileDevice() override;
  FileDevice(const FileDevice&) = delete;
  FileDevice& operator=(const FileDevice&) = delete;

  uint64_t size() const override { return size_; }
  Status read(uint64_t off, std::span<uint8_t> buf) override;
  Status write(uint64_t off, std::span<const uint8_t> buf) override;
  Status flush() override;
  int fd() const override { return fd_; }
  // fallocate(PUNCH_HOLE | KEEP_SIZE): removes the pages from the file's
  // page cache even while others hold them (on a block device: zeroes).
  Status drop_cache(uint64_t off, uint64_t len) override;

 private:
  const int fd_;
  const uint64_t size_;
};

// Opens `path` read-write. A regular file that does not exist is created
// sparse with create_size bytes (create_size 0: ENOENT instead). The size of
// a block device comes from BLKGETSIZE64, of a regular file from its length.
Result<std::unique_ptr<FileDevice>> open_file_device(const std::string& path, uint64_t create_size);

}  // namespace pnfsgw::backend::device
