#include "backend/device/file_device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace pnfsgw::backend::device {

FileDevice::~FileDevice() { ::close(fd_); }

Status FileDevice::read(uint64_t off, std::span<uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done, off + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::error(errno);
    if (n == 0) return Status::error(EIO);  // file shrank under us
    done += n;
  }
  return Status::ok();
}

Status FileDevice::write(uint64_t off, std::span<const uint8_t> buf) {
  if (Status st = check_range(off, buf.size()); !st) return st;
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pwrite(fd_, buf.data() + done, buf.size() - done, off + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::error(errno);
    if (n == 0) return Status::error(EIO);
    done += n;
  }
  return Status::ok();
}

Status FileDevice::flush() {
  while (::fdatasync(fd_) != 0) {
    if (errno != EINTR) return Status::error(errno);
  }
  return Status::ok();
}

Status FileDevice::drop_cache(uint64_t off, uint64_t len) {
  if (Status st = check_range(off, len); !st) return st;
  while (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                     static_cast<off_t>(len)) != 0) {
    if (errno != EINTR) return Status::error(errno);
  }
  return Status::ok();
}

Result<std::unique_ptr<FileDevice>> open_file_device(const std::string& path,
                                                     uint64_t create_size) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create_size > 0) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 && ::ftruncate(fd, static_cast<off_t>(create_size)) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Result<std::unique_ptr<FileDevice>>::error(err);
    }
  }
  if (fd < 0) return Result<std::unique_ptr<FileDevice>>::error(errno);
  auto fail = [fd](int err) {
    ::close(fd);
    return Result<std::unique_ptr<FileDevice>>::error(err);
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(errno);
  uint64_t size = 0;
  if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) return fail(errno);
  } else if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else {
    return fail(EINVAL);
  }
  return std::make_unique<FileDevice>(fd, size);
}

}  // namespace pnfsgw::backend::device
