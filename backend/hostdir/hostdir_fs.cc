// HostDirFs: opening, identity (handles), attributes and lookup.
#include "backend/hostdir/hostdir_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "backend/hostdir/hostdir_fs_impl.h"
#include "common/log.h"

namespace pnfsgw::backend {

Result<std::unique_ptr<Filesystem>> open_hostdir_fs(const std::string& root_path) {
  return hostdir::HostDirFs::open(root_path);
}

namespace hostdir {

namespace {

struct timespec to_utimens(SetAttr::TimeHow how, const Timespec& t) {
  switch (how) {
    case SetAttr::TimeHow::kServerNow:
      return {0, UTIME_NOW};
    case SetAttr::TimeHow::kGiven:
      return {static_cast<time_t>(t.sec), static_cast<long>(t.nsec)};
    case SetAttr::TimeHow::kKeep:
      break;
  }
  return {0, UTIME_OMIT};
}

// The setattr steps that need only the O_PATH fd. Ownership goes before mode
// because chown clears setuid/setgid bits.
Status set_owner_mode_times(int fd, const struct stat& st, const SetAttr& sa) {
  if (sa.uid || sa.gid) {
    uid_t uid = sa.uid ? static_cast<uid_t>(*sa.uid) : static_cast<uid_t>(-1);
    gid_t gid = sa.gid ? static_cast<gid_t>(*sa.gid) : static_cast<gid_t>(-1);
    if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_status();
    }
  }
  // Linux symlinks have no mode of their own; chmod through /proc would
  // follow the link, so it is skipped.
  if (sa.mode && !S_ISLNK(st.st_mode)) {
    if (fchmodat(AT_FDCWD, proc_fd_path(fd).c_str(), *sa.mode & 07777, 0) != 0) {
      return errno_status();
    }
  }
  return Status::ok();
}

Status set_times(int fd, const SetAttr& sa) {
  if (sa.atime_how == SetAttr::TimeHow::kKeep && sa.mtime_how == SetAttr::TimeHow::kKeep) {
    return Status::ok();
  }
  if ((sa.atime_how == SetAttr::TimeHow::kGiven && sa.atime.nsec >= 1000000000) ||
      (sa.mtime_how == SetAttr::TimeHow::kGiven && sa.mtime.nsec >= 1000000000)) {
    return Status::error(EINVAL);
  }
  struct timespec ts[2] = {to_utimens(sa.atime_how, sa.atime), to_utimens(sa.mtime_how, sa.mtime)};
  if (utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno_status();
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Filesystem>> HostDirFs::open(const std::string& root_path) {
  // chmod of an O_PATH fd goes through /proc/self/fd (host_sys.h).
  if (access("/proc/self/fd", X_OK) != 0) {
    PLOG_ERROR("hostdir: /proc/self/fd is not available: %s", strerror(errno));
    return errno_status();
  }
  int raw = ::open(root_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) return errno_status();
  UniqueFd root(raw);
  struct stat st;
  if (fstat(root.get(), &st) != 0) return errno_status();
  auto handle = kernel_handle_of(root.get());
  if (!handle) return handle.status();
  // open_by_handle_at needs CAP_DAC_READ_SEARCH; find out now, not on the
  // first client request.
  auto probe = open_by_kernel_handle(root.get(), *handle, O_PATH);
  if (!probe) return probe.status();

  std::unique_ptr<HostDirFs> fs(new HostDirFs(std::move(root), st.st_dev, st.st_ino));
  fs->remember(st.st_ino, std::move(*handle));
  return std::unique_ptr<Filesystem>(std::move(fs));
}

HostDirFs::HostDirFs(UniqueFd root_fd, dev_t dev, InodeId root_ino)
    : root_fd_(std::move(root_fd)), dev_(dev), root_ino_(root_ino) {}

void HostDirFs::remember(InodeId ino, KernelHandle h) {
  std::lock_guard lock(mu_);
  handles_[ino] = std::move(h);
}

Result<UniqueFd> HostDirFs::open_ino(InodeId ino, int flags) {
  KernelHandle h;
  {
    std::lock_guard lock(mu_);
    auto it = handles_.find(ino);
    if (it == handles_.end()) return Status::error(ESTALE);
    h = it->second;
  }
  return open_by_kernel_handle(root_fd_.get(), h, flags);
}

Result<Attr> HostDirFs::adopt(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno_status();
  if (st.st_dev != dev_) return Status::error(EXDEV);
  auto h = kernel_handle_of(fd);
  if (!h) return h.status();
  remember(st.st_ino, std::move(*h));
  return attr_from_stat(st);
}

Result<Attr> HostDirFs::adopt_child(int dirfd, const std::string& name) {
  int fd = openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_status();
  UniqueFd child(fd);
  return adopt(child.get());
}

Result<std::string> HostDirFs::encode_handle(InodeId ino) {
  std::lock_guard lock(mu_);
  auto it = handles_.find(ino);
  if (it == handles_.end()) return Status::error(ESTALE);
  return serialize_handle(it->second);
}

Result<InodeId> HostDirFs::resolve_handle(std::span<const uint8_t> bytes) {
  auto h = parse_handle(bytes);
  if (!h) return h.status();
  auto fd = open_by_kernel_handle(root_fd_.get(), *h, O_PATH);
  if (!fd) return fd.status();
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return errno_status();
  // Another filesystem (e.g. a btrfs subvolume) is not part of this export.
  if (st.st_dev != dev_) return Status::error(ESTALE);
  remember(st.st_ino, std::move(*h));
  return InodeId{st.st_ino};
}

Result<Attr> HostDirFs::getattr(InodeId ino) {
  auto fd = open_ino(ino, O_PATH);
  if (!fd) return fd.status();
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return errno_status();
  return attr_from_stat(st);
}

Result<Attr> HostDirFs::setattr(InodeId ino, const SetAttr& sa) {
  auto fd = open_ino(ino, O_PATH);
  if (!fd) return fd.status();
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return errno_status();
  if (sa.size) {
    if (S_ISDIR(st.st_mode)) return Status::error(EISDIR);
    if (!S_ISREG(st.st_mode)) return Status::error(EINVAL);
    if (*sa.size > static_cast<uint64_t>(INT64_MAX)) return Status::error(EFBIG);
  }
  if (Status s = set_owner_mode_times(fd->get(), st, sa); !s) return s;
  if (sa.size) {
    auto file = open_file(ino, /*for_write=*/true);
    if (!file) return file.status();
    if (ftruncate((*file)->fd.get(), static_cast<off_t>(*sa.size)) != 0) return errno_status();
  }
  // Last, so that a truncate does not overwrite the given mtime.
  if (Status s = set_times(fd->get(), sa); !s) return s;
  if (fstat(fd->get(), &st) != 0) return errno_status();
  return attr_from_stat(st);
}

Result<FsStat> HostDirFs::statfs() {
  struct statvfs sv;
  if (fstatvfs(root_fd_.get(), &sv) != 0) return errno_status();
  FsStat fs;
  const uint64_t unit = sv.f_frsize != 0 ? sv.f_frsize : sv.f_bsize;
  fs.bytes_total = sv.f_blocks * unit;
  fs.bytes_free = sv.f_bfree * unit;
  fs.bytes_avail = sv.f_bavail * unit;
  fs.files_total = sv.f_files;
  fs.files_free = sv.f_ffree;
  fs.files_avail = sv.f_favail;
  fs.name_max = static_cast<uint32_t>(sv.f_namemax);
  return fs;
}

Result<Attr> HostDirFs::lookup(InodeId dir, std::string_view name) {
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  return adopt_child(dfd->get(), *nm);
}

Result<Attr> HostDirFs::lookup_parent(InodeId dir) {
  if (dir == root_ino_) return getattr(root_ino_);
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  int fd = openat(dfd->get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status();
  UniqueFd parent(fd);
  return adopt(parent.get());
}

}  // namespace hostdir
}  // namespace pnfsgw::backend
