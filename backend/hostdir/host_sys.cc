#include "backend/hostdir/host_sys.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pnfsgw::backend::hostdir {

namespace {

constexpr uint8_t kHandleVersion = 1;
constexpr size_t kHandleHeader = 6;  // version, length, u32 type

// struct file_handle followed by room for the largest handle the kernel makes.
struct HandleBuf {
  alignas(struct file_handle) unsigned char raw[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  struct file_handle* get() {
    return reinterpret_cast<struct file_handle*>(raw);
  }
};

Timespec to_timespec(const struct timespec& ts) {
  return Timespec{static_cast<int64_t>(ts.tv_sec), static_cast<uint32_t>(ts.tv_nsec)};
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status errno_status() { return Status::error(errno != 0 ? errno : EIO); }

Result<KernelHandle> kernel_handle_of(int fd) {
  HandleBuf buf;
  struct file_handle* fh = buf.get();
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (name_to_handle_at(fd, "", fh, &mount_id, AT_EMPTY_PATH) != 0) {
    // EOVERFLOW: larger than MAX_HANDLE_SZ, i.e. not a handle we can keep.
    if (errno == EOVERFLOW) return Status::error(EOPNOTSUPP);
    return errno_status();
  }
  if (fh->handle_bytes == 0 || fh->handle_bytes > KernelHandle::kMaxBytes) {
    return Status::error(EOPNOTSUPP);
  }
  return KernelHandle{fh->handle_type,
                      std::string(reinterpret_cast<const char*>(fh->f_handle), fh->handle_bytes)};
}

Result<UniqueFd> open_by_kernel_handle(int mount_fd, const KernelHandle& h, int flags) {
  HandleBuf buf;
  struct file_handle* fh = buf.get();
  fh->handle_type = h.type;
  fh->handle_bytes = static_cast<unsigned>(h.bytes.size());
  std::memcpy(fh->f_handle, h.bytes.data(), h.bytes.size());
  int fd = open_by_handle_at(mount_fd, fh, flags | O_CLOEXEC);
  if (fd < 0) {
    // Some filesystems say ENOENT for a freed inode; to the caller both mean
    // "this handle no longer names an inode".
    if (errno == ENOENT) return Status::error(ESTALE);
    // A symlink can only be opened O_PATH; asked for a directory, it is not one.
    if (errno == ELOOP && (flags & O_DIRECTORY)) return Status::error(ENOTDIR);
    return errno_status();
  }
  return UniqueFd(fd);
}

std::string serialize_handle(const KernelHandle& h) {
  std::string out;
  out.reserve(kHandleHeader + h.bytes.size());
  out.push_back(static_cast<char>(kHandleVersion));
  out.push_back(static_cast<char>(h.bytes.size()));
  auto type = static_cast<uint32_t>(h.type);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((type >> (8 * i)) & 0xff));
  out += h.bytes;
  return out;
}

Result<KernelHandle> parse_handle(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHandleHeader + 1 || bytes[0] != kHandleVersion) {
    return Status::error(EINVAL);
  }
  size_t n = bytes[1];
  if (n == 0 || n > KernelHandle::kMaxBytes || bytes.size() != kHandleHeader + n) {
    return Status::error(EINVAL);
  }
  uint32_t type = 0;
  for (int i = 0; i < 4; ++i) type |= static_cast<uint32_t>(bytes[2 + i]) << (8 * i);
  // Bits above 0xffff are the kernel's FILEID_* user flags, never in a
  // handle we encoded.
  if (type > 0xffff) return Status::error(EINVAL);
  return KernelHandle{static_cast<int>(type),
                      std::string(reinterpret_cast<const char*>(bytes.data()) + kHandleHeader, n)};
}

Result<std::string> checked_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    return Status::error(EINVAL);
  }
  if (name.size() > NAME_MAX) return Status::error(ENAMETOOLONG);
  return std::string(name);
}

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

FileType file_type_of(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return FileType::kDirectory;
    case S_IFBLK:
      return FileType::kBlock;
    case S_IFCHR:
      return FileType::kChar;
    case S_IFLNK:
      return FileType::kSymlink;
    case S_IFSOCK:
      return FileType::kSocket;
    case S_IFIFO:
      return FileType::kFifo;
    default:
      return FileType::kRegular;
  }
}

Attr attr_from_stat(const struct stat& st) {
  Attr a;
  a.ino = st.st_ino;
  a.type = file_type_of(st.st_mode);
  a.mode = st.st_mode & 07777;
  a.nlink = static_cast<uint32_t>(st.st_nlink);
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.size = static_cast<uint64_t>(st.st_size);
  a.space_used = static_cast<uint64_t>(st.st_blocks) * 512;
  a.rdev_major = major(st.st_rdev);
  a.rdev_minor = minor(st.st_rdev);
  a.atime = to_timespec(st.st_atim);
  a.mtime = to_timespec(st.st_mtim);
  a.ctime = to_timespec(st.st_ctim);
  // ext4 keeps ctime in nanoseconds and the kernel bumps it on every data or
  // metadata change, which is what the NFSv4 change attribute needs.
  a.change = static_cast<uint64_t>(st.st_ctim.tv_sec) * 1000000000ULL +
             static_cast<uint64_t>(st.st_ctim.tv_nsec);
  return a;
}

}  // namespace pnfsgw::backend::hostdir
