// HostDirFs: read, write and fsync, through the open-file cache. The space
// operations are in hostdir_space.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>

#include "backend/hostdir/hostdir_fs_impl.h"

namespace pnfsgw::backend::hostdir {

namespace {

constexpr uint64_t kMaxOffset = static_cast<uint64_t>(INT64_MAX);

}  // namespace

Result<std::shared_ptr<const OpenFile>> HostDirFs::open_file(InodeId ino, bool for_write) {
  if (auto cached = files_.get(ino); cached && (!for_write || cached->writable)) {
    return cached;
  }
  // Check the type through an O_PATH fd first: opening a fifo or a device
  // can block or have side effects.
  {
    auto pfd = open_ino(ino, O_PATH);
    if (!pfd) return pfd.status();
    struct stat st;
    if (fstat(pfd->get(), &st) != 0) return errno_status();
    if (S_ISDIR(st.st_mode)) return Status::error(EISDIR);
    if (!S_ISREG(st.st_mode)) return Status::error(EINVAL);
  }
  // A read-only entry is replaced by a writable one; users of the old fd
  // keep it until they are done.
  auto fd = open_ino(ino, (for_write ? O_RDWR : O_RDONLY) | O_NOCTTY);
  if (!fd) return fd.status();
  auto file = std::make_shared<OpenFile>();
  file->fd = std::move(*fd);
  file->writable = for_write;
  files_.put(ino, file);
  return std::shared_ptr<const OpenFile>(std::move(file));
}

Result<size_t> HostDirFs::read(InodeId ino, uint64_t offset, std::span<uint8_t> buf, bool* eof) {
  bool at_eof = false;
  if (eof) *eof = false;
  auto file = open_file(ino, /*for_write=*/false);
  if (!file) return file.status();
  const int fd = (*file)->fd.get();
  if (offset > kMaxOffset) {
    if (eof) *eof = true;
    return size_t{0};
  }
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;
      return errno_status();
    }
    if (n == 0) {
      at_eof = true;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (!at_eof) {
    // A full buffer may still end exactly at end of file; say so, which
    // saves the client a READ that returns nothing.
    struct stat st;
    if (fstat(fd, &st) != 0) return errno_status();
    at_eof = offset + done >= static_cast<uint64_t>(st.st_size);
  }
  if (eof) *eof = at_eof;
  return done;
}

Result<size_t> HostDirFs::write(InodeId ino, uint64_t offset, std::span<const uint8_t> data) {
  auto file = open_file(ino, /*for_write=*/true);
  if (!file) return file.status();
  if (offset > kMaxOffset || data.size() > kMaxOffset - offset) return Status::error(EFBIG);
  const int fd = (*file)->fd.get();
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;
      return errno_status();
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status HostDirFs::fsync(InodeId ino, bool data_only) {
  auto sync = [data_only](int fd) {
    int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
    return rc == 0 ? Status::ok() : errno_status();
  };
  if (auto cached = files_.get(ino)) return sync(cached->fd.get());
  auto pfd = open_ino(ino, O_PATH);
  if (!pfd) return pfd.status();
  struct stat st;
  if (fstat(pfd->get(), &st) != 0) return errno_status();
  if (S_ISDIR(st.st_mode)) {
    auto dfd = open_ino(ino, O_RDONLY | O_DIRECTORY);
    if (!dfd) return dfd.status();
    return sync(dfd->get());
  }
  // Devices, fifos, sockets and symlinks have no data of their own here;
  // their metadata is journalled with the directory.
  if (!S_ISREG(st.st_mode)) return Status::ok();
  auto file = open_file(ino, /*for_write=*/false);
  if (!file) return file.status();
  return sync((*file)->fd.get());
}

}  // namespace pnfsgw::backend::hostdir
