// Thin, errno-preserving helpers over the Linux syscalls HostDirFs is built
// on: an owning fd, kernel file handles (name_to_handle_at/open_by_handle_at)
// and stat -> Attr conversion. Stateless; safe from any thread.
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "backend/fs.h"
#include "common/result.h"

namespace pnfsgw::backend::hostdir {

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// The kernel's persistent identity of an inode (struct file_handle). Includes
// the inode generation, so a reused inode number does not match.
struct KernelHandle {
  int type = 0;
  std::string bytes;  // f_handle, 1..kMaxBytes
  static constexpr size_t kMaxBytes = 64;
  bool operator==(const KernelHandle&) const = default;
};

// The handle of the inode fd refers to (fd may be an O_PATH fd).
// EOPNOTSUPP if the filesystem has no persistent handles.
Result<KernelHandle> kernel_handle_of(int fd);

// open_by_handle_at(mount_fd, h, flags). ESTALE if the inode is gone.
Result<UniqueFd> open_by_kernel_handle(int mount_fd, const KernelHandle& h, int flags);

// HostDirFs's encode_handle() bytes: u8 version (1), u8 length n,
// u32 little-endian handle_type, n bytes f_handle.
std::string serialize_handle(const KernelHandle& h);
// EINVAL unless bytes have exactly that shape.
Result<KernelHandle> parse_handle(std::span<const uint8_t> bytes);

// A directory entry name as a C string. EINVAL for "", ".", "..", or a name
// containing '/' or NUL; ENAMETOOLONG beyond NAME_MAX.
Result<std::string> checked_name(std::string_view name);

// "/proc/self/fd/N": names the inode behind an O_PATH fd for the syscalls
// that have no fd-relative form (chmod, link without CAP_DAC_READ_SEARCH).
std::string proc_fd_path(int fd);

Attr attr_from_stat(const struct stat& st);
FileType file_type_of(mode_t mode);

// Returns errno as a Status/Result error; errno must be set.
Status errno_status();

}  // namespace pnfsgw::backend::hostdir
