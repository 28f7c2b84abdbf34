// HostDirFs: Filesystem over a directory of the host (see hostdir_fs.h).
// Private to backend/hostdir; split over hostdir_fs.cc (identity, attributes,
// lookup), hostdir_namespace.cc (create/remove/rename/readdir),
// hostdir_io.cc (read/write/fsync) and hostdir_space.cc (fallocate modes,
// clone, dedupe, copy, seek, extents).
//
// Identity: InodeId is st_ino. Every inode the fs has seen (lookup, create,
// readdir, resolve_handle...) has its kernel file handle in handles_; every
// operation opens the inode with open_by_handle_at(root_fd_, ...) and works
// relative to that fd with *at() syscalls. No string path below the export
// root is ever used, and symlinks are never followed. Inodes on another
// st_dev (mounts under the export) are refused with EXDEV and never listed.
//
// handles_ grows with the number of distinct inodes seen (about 100 bytes
// each); entries of removed inodes stay and answer ESTALE.
//
// Handles carry no MAC: resolve_handle() opens whatever inode of the host
// filesystem the bytes name (after checking st_dev). Handles reaching it from
// the network must be authenticated by the caller (gateway FhCodec does).
//
// Safe from any thread; no process-wide state is touched (cwd, umask).
#pragma once
#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "backend/fs.h"
#include "backend/hostdir/host_sys.h"
#include "backend/hostdir/open_file_cache.h"

namespace pnfsgw::backend::hostdir {

class HostDirFs final : public Filesystem {
 public:
  static Result<std::unique_ptr<Filesystem>> open(const std::string& root_path);

  InodeId root() const override { return root_ino_; }
  Result<std::string> encode_handle(InodeId ino) override;
  Result<InodeId> resolve_handle(std::span<const uint8_t> bytes) override;

  Result<Attr> getattr(InodeId ino) override;
  Result<Attr> setattr(InodeId ino, const SetAttr& sa) override;
  Result<FsStat> statfs() override;

  Result<Attr> lookup(InodeId dir, std::string_view name) override;
  Result<Attr> lookup_parent(InodeId dir) override;

  Result<Attr> create(InodeId dir, std::string_view name, uint32_t mode, const Cred& cred,
                      CreateMode how, bool* created) override;
  Result<Attr> mkdir(InodeId dir, std::string_view name, uint32_t mode, const Cred& cred) override;
  Result<Attr> symlink(InodeId dir, std::string_view name, std::string_view target,
                       const Cred& cred) override;
  Result<Attr> mknod(InodeId dir, std::string_view name, FileType type, uint32_t mode,
                     uint32_t rdev_major, uint32_t rdev_minor, const Cred& cred) override;
  Result<Attr> link(InodeId target, InodeId dir, std::string_view name) override;
  Status unlink(InodeId dir, std::string_view name) override;
  Status rmdir(InodeId dir, std::string_view name) override;
  Status rename(InodeId src_dir, std::string_view src_name, InodeId dst_dir,
                std::string_view dst_name) override;
  Result<std::string> readlink(InodeId ino) override;
  Result<ReaddirPage> readdir(InodeId dir, uint64_t cookie, size_t max_entries) override;

  Result<size_t> read(InodeId ino, uint64_t offset, std::span<uint8_t> buf, bool* eof) override;
  Result<size_t> write(InodeId ino, uint64_t offset, std::span<const uint8_t> data) override;
  Status fsync(InodeId ino, bool data_only) override;

  Status allocate(InodeId ino, uint64_t offset, uint64_t length) override;
  Status punch_hole(InodeId ino, uint64_t offset, uint64_t length) override;
  Status zero_range(InodeId ino, uint64_t offset, uint64_t length) override;
  Status collapse_range(InodeId ino, uint64_t offset, uint64_t length) override;
  Status insert_range(InodeId ino, uint64_t offset, uint64_t length) override;
  Status clone_range(InodeId src, uint64_t src_off, InodeId dst, uint64_t dst_off,
                     uint64_t length) override;
  Result<uint64_t> copy_range(InodeId src, uint64_t src_off, InodeId dst, uint64_t dst_off,
                              uint64_t length) override;
  Result<uint64_t> seek(InodeId ino, uint64_t offset, SeekWhat what) override;
  Status unshare(InodeId ino, uint64_t offset, uint64_t length) override;
  Result<uint64_t> dedupe_range(InodeId src, uint64_t src_off, InodeId dst, uint64_t dst_off,
                                uint64_t length) override;
  Result<std::vector<FileExtent>> list_extents(InodeId ino, uint64_t offset,
                                               uint64_t length) override;

 private:
  static constexpr size_t kOpenFileCapacity = 256;

  HostDirFs(UniqueFd root_fd, dev_t dev, InodeId root_ino);

  // Opens ino through its kernel handle. ESTALE if unknown or gone.
  Result<UniqueFd> open_ino(InodeId ino, int flags);
  // Records ino -> h, replacing an older handle (a reused inode number).
  void remember(InodeId ino, KernelHandle h);
  // fstat(fd), refuse another st_dev (EXDEV), record the handle.
  Result<Attr> adopt(int fd);
  // Opens name in dirfd without following it (O_PATH) and adopts it.
  Result<Attr> adopt_child(int dirfd, const std::string& name);
  // Finishes the inode just made as name in dirfd (fd: any fd of it, may be
  // O_PATH): sets owner and mode (not for symlinks), records its handle. On
  // failure removes it again.
  Result<Attr> finish_new(int dirfd, const std::string& name, int fd, uint32_t uid, uint32_t gid,
                          uint32_t mode);

  // A cached fd for regular file ino, writable if for_write (EISDIR for a
  // directory, EINVAL for other types).
  Result<std::shared_ptr<const OpenFile>> open_file(InodeId ino, bool for_write);
  Status fallocate_ino(InodeId ino, int mode, uint64_t offset, uint64_t length);

  const UniqueFd root_fd_;  // O_RDONLY|O_DIRECTORY; also the mount fd for handles
  const dev_t dev_;
  const InodeId root_ino_;

  std::mutex mu_;
  std::unordered_map<InodeId, KernelHandle> handles_;  // GUARDED_BY(mu_)

  OpenFileCache files_{kOpenFileCapacity};
};

}  // namespace pnfsgw::backend::hostdir
