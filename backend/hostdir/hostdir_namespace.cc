// HostDirFs: making, removing, renaming and listing directory entries.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "backend/hostdir/hostdir_fs_impl.h"

namespace pnfsgw::backend::hostdir {

namespace {

// Readdir cookies are the kernel's d_off plus this bias, so that the values
// NFSv4 reserves (0, 1, 2; RFC 8881 18.23.4) are never handed out even by a
// filesystem whose offsets start at 1. ext4's hash offsets are stable across
// inserts and removals, which makes the cookies stable too.
constexpr uint64_t kCookieBias = 3;
constexpr size_t kDirentBufBytes = 32 * 1024;

// Owner and mode of a new inode in parent: the group of a setgid directory
// is inherited (and a new subdirectory stays setgid), as the host
// filesystem itself would do.
struct NewOwner {
  uint32_t gid;
  uint32_t mode;
};

Result<NewOwner> owner_in(int parent_fd, const Cred& cred, uint32_t mode, bool is_dir) {
  struct stat st;
  if (fstat(parent_fd, &st) != 0) return errno_status();
  NewOwner o{cred.gid, mode & 07777};
  if (st.st_mode & S_ISGID) {
    o.gid = st.st_gid;
    if (is_dir) o.mode |= S_ISGID;
  }
  return o;
}

Result<mode_t> node_format(FileType type) {
  switch (type) {
    case FileType::kBlock:
      return mode_t{S_IFBLK};
    case FileType::kChar:
      return mode_t{S_IFCHR};
    case FileType::kSocket:
      return mode_t{S_IFSOCK};
    case FileType::kFifo:
      return mode_t{S_IFIFO};
    default:
      return Status::error(EINVAL);
  }
}

}  // namespace

Result<Attr> HostDirFs::finish_new(int dirfd, const std::string& name, int fd, uint32_t uid,
                                   uint32_t gid, uint32_t mode) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno_status();
  Status s;
  if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    s = errno_status();
  } else if (!S_ISLNK(st.st_mode) &&
             fchmodat(AT_FDCWD, proc_fd_path(fd).c_str(), mode & 07777, 0) != 0) {
    // chmod after creating: the process umask must not shape the mode, and
    // umask(2) is process-wide.
    s = errno_status();
  }
  if (s) {
    auto attr = adopt(fd);
    if (attr) return attr;
    s = attr.status();
  }
  // Undo, unless the name has meanwhile been replaced by another inode.
  struct stat now;
  if (fstatat(dirfd, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino == st.st_ino &&
      now.st_dev == st.st_dev) {
    unlinkat(dirfd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
  }
  return s;
}

Result<Attr> HostDirFs::create(InodeId dir, std::string_view name, uint32_t mode, const Cred& cred,
                               CreateMode how, bool* created) {
  if (created) *created = false;
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  auto owner = owner_in(dfd->get(), cred, mode, /*is_dir=*/false);
  if (!owner) return owner.status();

  // O_EXCL first: an existing device or fifo must never be opened (that can
  // block or have side effects), and *created must be exact. Retried when
  // the name disappears between the two steps.
  int err = ENOENT;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = openat(dfd->get(), nm->c_str(), O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      UniqueFd file(fd);
      auto attr = finish_new(dfd->get(), *nm, file.get(), cred.uid, owner->gid, owner->mode);
      if (attr && created) *created = true;
      return attr;
    }
    if (errno != EEXIST || how == CreateMode::kExclusive) return errno_status();
    fd = openat(dfd->get(), nm->c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      if (err == ENOENT) continue;
      return Status::error(err);
    }
    UniqueFd existing(fd);
    auto attr = adopt(existing.get());
    if (!attr) return attr.status();
    if (attr->type == FileType::kDirectory) return Status::error(EISDIR);
    if (attr->type != FileType::kRegular) return Status::error(EEXIST);
    return attr;
  }
  return Status::error(err);
}

Result<Attr> HostDirFs::mkdir(InodeId dir, std::string_view name, uint32_t mode, const Cred& cred) {
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  auto owner = owner_in(dfd->get(), cred, mode, /*is_dir=*/true);
  if (!owner) return owner.status();
  if (mkdirat(dfd->get(), nm->c_str(), 0700) != 0) return errno_status();
  int fd = openat(dfd->get(), nm->c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_status();
  UniqueFd created(fd);
  return finish_new(dfd->get(), *nm, created.get(), cred.uid, owner->gid, owner->mode);
}

Result<Attr> HostDirFs::symlink(InodeId dir, std::string_view name, std::string_view target,
                                const Cred& cred) {
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  if (target.empty() || target.find('\0') != std::string_view::npos) {
    return Status::error(EINVAL);
  }
  if (target.size() >= PATH_MAX) return Status::error(ENAMETOOLONG);
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  auto owner = owner_in(dfd->get(), cred, 0777, /*is_dir=*/false);
  if (!owner) return owner.status();
  if (symlinkat(std::string(target).c_str(), dfd->get(), nm->c_str()) != 0) {
    return errno_status();
  }
  int fd = openat(dfd->get(), nm->c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_status();
  UniqueFd created(fd);
  return finish_new(dfd->get(), *nm, created.get(), cred.uid, owner->gid, 0777);
}

Result<Attr> HostDirFs::mknod(InodeId dir, std::string_view name, FileType type, uint32_t mode,
                              uint32_t rdev_major, uint32_t rdev_minor, const Cred& cred) {
  auto fmt = node_format(type);
  if (!fmt) return fmt.status();
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  auto owner = owner_in(dfd->get(), cred, mode, /*is_dir=*/false);
  if (!owner) return owner.status();
  const bool is_dev = type == FileType::kBlock || type == FileType::kChar;
  dev_t rdev = is_dev ? makedev(rdev_major, rdev_minor) : 0;
  if (mknodat(dfd->get(), nm->c_str(), *fmt | 0600, rdev) != 0) return errno_status();
  int fd = openat(dfd->get(), nm->c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_status();
  UniqueFd created(fd);
  return finish_new(dfd->get(), *nm, created.get(), cred.uid, owner->gid, owner->mode);
}

Result<Attr> HostDirFs::link(InodeId target, InodeId dir, std::string_view name) {
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  auto tfd = open_ino(target, O_PATH);
  if (!tfd) return tfd.status();
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd is the fallback.
  if (linkat(tfd->get(), "", dfd->get(), nm->c_str(), AT_EMPTY_PATH) != 0) {
    if (errno != EPERM && errno != ENOENT) return errno_status();
    if (linkat(AT_FDCWD, proc_fd_path(tfd->get()).c_str(), dfd->get(), nm->c_str(),
               AT_SYMLINK_FOLLOW) != 0) {
      return errno_status();
    }
  }
  return adopt(tfd->get());
}

Status HostDirFs::unlink(InodeId dir, std::string_view name) {
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  if (unlinkat(dfd->get(), nm->c_str(), 0) != 0) return errno_status();
  return Status::ok();
}

Status HostDirFs::rmdir(InodeId dir, std::string_view name) {
  auto nm = checked_name(name);
  if (!nm) return nm.status();
  auto dfd = open_ino(dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  if (unlinkat(dfd->get(), nm->c_str(), AT_REMOVEDIR) != 0) return errno_status();
  return Status::ok();
}

Status HostDirFs::rename(InodeId src_dir, std::string_view src_name, InodeId dst_dir,
                         std::string_view dst_name) {
  auto sn = checked_name(src_name);
  if (!sn) return sn.status();
  auto dn = checked_name(dst_name);
  if (!dn) return dn.status();
  auto sfd = open_ino(src_dir, O_PATH | O_DIRECTORY);
  if (!sfd) return sfd.status();
  auto dfd = open_ino(dst_dir, O_PATH | O_DIRECTORY);
  if (!dfd) return dfd.status();
  if (renameat(sfd->get(), sn->c_str(), dfd->get(), dn->c_str()) != 0) return errno_status();
  return Status::ok();
}

Result<std::string> HostDirFs::readlink(InodeId ino) {
  auto fd = open_ino(ino, O_PATH);
  if (!fd) return fd.status();
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return errno_status();
  if (!S_ISLNK(st.st_mode)) return Status::error(EINVAL);
  std::string target(PATH_MAX, '\0');
  ssize_t n = readlinkat(fd->get(), "", target.data(), target.size());
  if (n < 0) return errno_status();
  if (static_cast<size_t>(n) == target.size()) return Status::error(ENAMETOOLONG);
  target.resize(static_cast<size_t>(n));
  return target;
}

Result<ReaddirPage> HostDirFs::readdir(InodeId dir, uint64_t cookie, size_t max_entries) {
  if (cookie != 0 && cookie < kCookieBias) return Status::error(EINVAL);
  auto dfd = open_ino(dir, O_RDONLY | O_DIRECTORY);
  if (!dfd) return dfd.status();
  const int fd = dfd->get();
  if (cookie != 0 && lseek(fd, static_cast<off_t>(cookie - kCookieBias), SEEK_SET) < 0) {
    return errno_status();
  }
  auto buf = std::make_unique<uint64_t[]>(kDirentBufBytes / sizeof(uint64_t));
  auto* bytes = reinterpret_cast<char*>(buf.get());
  ReaddirPage page;
  for (;;) {
    ssize_t n = getdents64(fd, bytes, kDirentBufBytes);
    if (n < 0) return errno_status();
    if (n == 0) {
      page.eof = true;
      return page;
    }
    for (ssize_t pos = 0; pos < n;) {
      const auto* d = reinterpret_cast<const struct dirent64*>(bytes + pos);
      pos += d->d_reclen;
      std::string name(d->d_name, strnlen(d->d_name, d->d_reclen - offsetof(dirent64, d_name)));
      if (name == "." || name == "..") continue;
      // One more entry exists beyond a full page, so this is not the end.
      if (page.entries.size() >= max_entries) return page;
      const uint64_t next = static_cast<uint64_t>(d->d_off) + kCookieBias;
      if (d->d_off < 0 || next < kCookieBias) return Status::error(EOVERFLOW);
      // Entries removed since getdents, or mounts of other filesystems,
      // are not part of the listing.
      auto attr = adopt_child(fd, name);
      if (!attr) {
        if (attr.err() == ENOENT || attr.err() == EXDEV) continue;
        return attr.status();
      }
      page.entries.push_back(DirEntry{std::move(name), attr->ino, attr->type, next});
    }
  }
}

}  // namespace pnfsgw::backend::hostdir
