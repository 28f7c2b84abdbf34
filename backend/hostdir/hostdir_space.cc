// HostDirFs: space operations (fallocate modes, clone, dedupe, copy, seek,
// extent listing), each one system call or ioctl on the cached fd of the file.
//
// Ranges are checked here before the kernel sees them, with the rules of
// backend/fs.h: a range must end at or before INT64_MAX (the largest off_t),
// else EINVAL; length 0 follows the Linux system call each op is built on.
// The host filesystem's EOPNOTSUPP comes back as ENOTSUP (the same value on
// Linux; the mapping keeps the contract explicit).
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>

#include "backend/hostdir/hostdir_fs_impl.h"

namespace pnfsgw::backend::hostdir {

namespace {

constexpr uint64_t kMaxOffset = static_cast<uint64_t>(INT64_MAX);

// [offset, offset + length) lies within what off_t can address.
bool range_fits(uint64_t offset, uint64_t length) {
  return offset <= kMaxOffset && length <= kMaxOffset - offset;
}

int host_errno() {
  int err = errno != 0 ? errno : EIO;
  return err == EOPNOTSUPP ? ENOTSUP : err;
}

Status host_error() { return Status::error(host_errno()); }

}  // namespace

Status HostDirFs::fallocate_ino(InodeId ino, int mode, uint64_t offset, uint64_t length) {
  // fallocate(2): len <= 0 is EINVAL in every mode.
  if (length == 0 || !range_fits(offset, length)) return Status::error(EINVAL);
  auto file = open_file(ino, /*for_write=*/true);
  if (!file) return file.status();
  int rc;
  do {
    rc = ::fallocate((*file)->fd.get(), mode, static_cast<off_t>(offset),
                     static_cast<off_t>(length));
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? Status::ok() : host_error();
}

// RFC 7862 15.1.3: ALLOCATE reserves the blocks and, when the region runs
// past end of file, sets the size to offset + length: fallocate mode 0.
Status HostDirFs::allocate(InodeId ino, uint64_t offset, uint64_t length) {
  return fallocate_ino(ino, 0, offset, length);
}

Status HostDirFs::punch_hole(InodeId ino, uint64_t offset, uint64_t length) {
  return fallocate_ino(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
}

Status HostDirFs::zero_range(InodeId ino, uint64_t offset, uint64_t length) {
  return fallocate_ino(ino, FALLOC_FL_ZERO_RANGE, offset, length);
}

// The host filesystem's block-alignment rules apply (ext4, xfs: multiples of
// the block size, else EINVAL); a range reaching end of file is EINVAL.
Status HostDirFs::collapse_range(InodeId ino, uint64_t offset, uint64_t length) {
  return fallocate_ino(ino, FALLOC_FL_COLLAPSE_RANGE, offset, length);
}

Status HostDirFs::insert_range(InodeId ino, uint64_t offset, uint64_t length) {
  return fallocate_ino(ino, FALLOC_FL_INSERT_RANGE, offset, length);
}

// KEEP_SIZE: unsharing never extends the file. ext4 has no shared blocks and
// answers EOPNOTSUPP.
Status HostDirFs::unshare(InodeId ino, uint64_t offset, uint64_t length) {
  return fallocate_ino(ino, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, offset, length);
}

Status HostDirFs::clone_range(InodeId src, uint64_t src_off, InodeId dst, uint64_t dst_off,
                              uint64_t length) {
  // length 0 clones to the end of src (FICLONERANGE and RFC 7862 15.13 agree).
  if (!range_fits(src_off, length) || !range_fits(dst_off, length)) {
    return Status::error(EINVAL);
  }
  auto in = open_file(src, /*for_write=*/false);
  if (!in) return in.status();
  auto out = open_file(dst, /*for_write=*/true);
  if (!out) return out.status();
  struct file_clone_range range {};
  range.src_fd = (*in)->fd.get();
  range.src_offset = src_off;
  range.src_length = length;
  range.dest_offset = dst_off;
  if (ioctl((*out)->fd.get(), FICLONERANGE, &range) != 0) return host_error();
  return Status::ok();
}

Result<uint64_t> HostDirFs::dedupe_range(InodeId src, uint64_t src_off, InodeId dst,
                                         uint64_t dst_off, uint64_t length) {
  if (!range_fits(src_off, length) || !range_fits(dst_off, length)) {
    return Status::error(EINVAL);
  }
  auto in = open_file(src, /*for_write=*/false);
  if (!in) return in.status();
  auto out = open_file(dst, /*for_write=*/true);
  if (!out) return out.status();
  // Zero-length dedupe does nothing (FIDEDUPERANGE); checked after the
  // opens so a wrong type or a stale inode is still reported.
  if (length == 0) return uint64_t{0};

  // struct file_dedupe_range ends in a flexible array of per-destination
  // infos; one destination here. uint64_t storage keeps it aligned.
  constexpr size_t kBytes = sizeof(file_dedupe_range) + sizeof(file_dedupe_range_info);
  auto storage = std::make_unique<uint64_t[]>((kBytes + 7) / 8);
  auto* req = reinterpret_cast<file_dedupe_range*>(storage.get());
  file_dedupe_range_info& info = req->info[0];

  // The kernel may dedupe less than asked (xfs and btrfs cap one call at
  // 16 MiB): continue until done or nothing more moves.
  uint64_t done = 0;
  while (done < length) {
    std::memset(storage.get(), 0, kBytes);
    req->src_offset = src_off + done;
    req->src_length = length - done;
    req->dest_count = 1;
    info.dest_fd = (*out)->fd.get();
    info.dest_offset = dst_off + done;
    if (ioctl((*in)->fd.get(), FIDEDUPERANGE, req) != 0) return host_error();
    if (info.status == FILE_DEDUPE_RANGE_DIFFERS) return Status::error(EBADE);
    if (info.status < 0) {
      int err = -info.status;
      return Status::error(err == EOPNOTSUPP ? ENOTSUP : err);
    }
    if (info.bytes_deduped == 0) break;
    done += info.bytes_deduped;
  }
  return done;
}

Result<uint64_t> HostDirFs::copy_range(InodeId src, uint64_t src_off, InodeId dst, uint64_t dst_off,
                                       uint64_t length) {
  if (!range_fits(src_off, length) || !range_fits(dst_off, length)) {
    return Status::error(EINVAL);
  }
  auto in = open_file(src, /*for_write=*/false);
  if (!in) return in.status();
  auto out = open_file(dst, /*for_write=*/true);
  if (!out) return out.status();
  auto in_off = static_cast<off_t>(src_off);
  auto out_off = static_cast<off_t>(dst_off);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n =
        copy_file_range((*in)->fd.get(), &in_off, (*out)->fd.get(), &out_off,
                        static_cast<size_t>(std::min<uint64_t>(length - done, SSIZE_MAX)), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0) break;  // report the bytes copied; the caller retries the rest
      return host_error();
    }
    if (n == 0) break;  // end of src
    done += static_cast<uint64_t>(n);
  }
  return done;
}

Result<uint64_t> HostDirFs::seek(InodeId ino, uint64_t offset, SeekWhat what) {
  auto file = open_file(ino, /*for_write=*/false);
  if (!file) return file.status();
  // No file is that long, so there is neither data nor hole there.
  if (offset > kMaxOffset) return Status::error(ENXIO);
  // The fd's file position is shared but nothing else uses it (all I/O is
  // pread/pwrite), and lseek returns its own result atomically.
  off_t pos = lseek((*file)->fd.get(), static_cast<off_t>(offset),
                    what == SeekWhat::kData ? SEEK_DATA : SEEK_HOLE);
  if (pos < 0) return host_error();
  return static_cast<uint64_t>(pos);
}

Result<std::vector<FileExtent>> HostDirFs::list_extents(InodeId ino, uint64_t offset,
                                                        uint64_t length) {
  // FIEMAP refuses an empty range too; a range running past the largest
  // offset means "to the end" (FIEMAP_MAX_OFFSET semantics).
  if (length == 0) return Status::error(EINVAL);
  auto file = open_file(ino, /*for_write=*/false);
  if (!file) return file.status();
  std::vector<FileExtent> out;
  if (offset > kMaxOffset) return out;
  const uint64_t end = length > kMaxOffset - offset ? kMaxOffset : offset + length;

  constexpr uint32_t kBatch = 128;
  constexpr size_t kBytes = sizeof(struct fiemap) + kBatch * sizeof(struct fiemap_extent);
  auto storage = std::make_unique<uint64_t[]>((kBytes + 7) / 8);
  auto* fm = reinterpret_cast<struct fiemap*>(storage.get());
  uint64_t pos = offset;
  while (pos < end) {
    std::memset(storage.get(), 0, kBytes);
    fm->fm_start = pos;
    fm->fm_length = end - pos;
    // SYNC first writes back delayed allocations, so just-written data
    // shows its physical location instead of a DELALLOC placeholder.
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = kBatch;
    if (ioctl((*file)->fd.get(), FS_IOC_FIEMAP, fm) != 0) return host_error();
    if (fm->fm_mapped_extents == 0) break;
    bool last = false;
    uint64_t next = pos;
    for (uint32_t i = 0; i < fm->fm_mapped_extents; ++i) {
      const struct fiemap_extent& e = fm->fm_extents[i];
      FileExtent x;
      x.offset = e.fe_logical;
      x.length = e.fe_length;
      x.physical = e.fe_physical;
      x.unwritten = (e.fe_flags & FIEMAP_EXTENT_UNWRITTEN) != 0;
      x.shared = (e.fe_flags & FIEMAP_EXTENT_SHARED) != 0;
      out.push_back(x);
      last = last || (e.fe_flags & FIEMAP_EXTENT_LAST) != 0;
      next = std::max<uint64_t>(next, e.fe_logical + e.fe_length);
    }
    if (last || next <= pos) break;  // no progress: never loop forever
    pos = next;
  }
  return out;
}

}  // namespace pnfsgw::backend::hostdir
