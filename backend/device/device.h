// Device: the byte-addressed medium the extent store keeps its data on (a
// file, a block device, a DAX mapping; in tests memory or a fault injector).
//
// Contract for implementations:
//  - Thread-safety: every method is safe from any thread concurrently.
//    Concurrent writes to overlapping bytes (or a read racing a write of the
//    same bytes) leave/return unspecified contents, as with pwrite(2);
//    callers (the extent store) never do that.
//  - Alignment: none required. block_size() (4096) is the unit the store
//    allocates in and the unit at which a crash may tear a write: after a
//    crash, each block written since the last flush may hold old or new data.
//    No write is atomic, not even a single block.
//  - Range: [off, off + len) must lie inside [0, size()); otherwise the call
//    fails with EINVAL and touches nothing (also for len 0 with off > size()).
//  - flush(): when it returns ok, every write that returned before flush()
//    was called is durable. flush_range(off, len) gives that promise only for
//    those bytes (implementations may persist more). A failed flush leaves
//    the durability of unflushed writes unknown.
//  - fd(): a descriptor whose bytes at device offsets are the device's
//    (pread(fd(), off) sees what read(off) sees), for sendfile(2) of stored
//    data; -1 when there is none (memory, DAX, fault injection). Valid for
//    the device's lifetime.
//  - map(): the base address of the device when it is memory-mapped (DAX),
//    else nullptr. Stores through map() become durable only through
//    flush_range() over the stored bytes.
//  - Errors are positive errno values: EIO for media errors, EINVAL for
//    ranges outside the device.
#pragma once
#include <cstdint>
#include <span>

#include "common/result.h"

namespace pnfsgw::backend::device {

inline constexpr uint32_t kBlockSize = 4096;

class Device {
 public:
  virtual ~Device() = default;

  virtual uint64_t size() const = 0;
  virtual uint32_t block_size() const { return kBlockSize; }
  virtual Status read(uint64_t off, std::span<uint8_t> buf) = 0;
  virtual Status write(uint64_t off, std::span<const uint8_t> buf) = 0;
  virtual Status flush() = 0;
  virtual Status flush_range(uint64_t off, uint64_t len) {
    if (Status st = check_range(off, len); !st) return st;
    return flush();
  }
  virtual uint8_t* map() { return nullptr; }
  // A descriptor the device's bytes can be sent from (sendfile), or -1.
  virtual int fd() const { return -1; }
  // For a device with fd(): detaches the range's pages from the page cache
  // (their contents no longer matter: the blocks are free), so that pages
  // the kernel still holds for an earlier sendfile (socket buffers) keep
  // their old bytes when the blocks are written again.
  virtual Status drop_cache(uint64_t off, uint64_t len) {
    (void)off;
    (void)len;
    return Status::ok();
  }

 protected:
  // EINVAL unless [off, off + len) lies inside the device; overflow-safe.
  Status check_range(uint64_t off, uint64_t len) const {
    uint64_t sz = size();
    if (off > sz || len > sz - off) return Status::error(EINVAL);
    return Status::ok();
  }
};

}  // namespace pnfsgw::backend::device
