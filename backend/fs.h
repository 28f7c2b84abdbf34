// The storage interface that every layer source implements (HostDirFs now,
// StoreFs and NfsRemoteFs later) and that the overlay calls. It knows nothing
// of NFS: errors are POSIX errno values, identities are inode numbers.
//
// Contract for implementations:
//  - Every method is safe to call from any thread concurrently.
//  - InodeId is unique within one Filesystem and stable for the life of the
//    inode; encode_handle()/resolve_handle() turn it into bytes that stay
//    valid across a server restart (and fail with ESTALE once the inode is
//    gone or its number reused).
//  - Methods return ESTALE for an InodeId the filesystem does not (or no
//    longer) knows, ENOTSUP for an operation the layer cannot do.
//  - The caller (overlay/gateway) does permission checks; the filesystem
//    applies the Cred only to set ownership of what it creates.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace pnfsgw::backend {

using InodeId = uint64_t;

enum class FileType : uint8_t {
  kRegular = 1,
  kDirectory = 2,
  kBlock = 3,
  kChar = 4,
  kSymlink = 5,
  kSocket = 6,
  kFifo = 7,
};

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  bool operator==(const Timespec&) const = default;
};

struct Attr {
  InodeId ino = 0;
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t space_used = 0;  // bytes allocated
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  Timespec atime, mtime, ctime;
  // Changes whenever data or metadata changes (NFSv4 change attribute).
  uint64_t change = 0;
};

struct SetAttr {
  enum class TimeHow : uint8_t { kKeep, kServerNow, kGiven };
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;
  TimeHow atime_how = TimeHow::kKeep;
  TimeHow mtime_how = TimeHow::kKeep;
  Timespec atime, mtime;
  bool empty() const {
    return !mode && !uid && !gid && !size && atime_how == TimeHow::kKeep &&
           mtime_how == TimeHow::kKeep;
  }
};

// One piece of a read_segments() answer, in file order.
struct ReadSegment {
  int fd = -1;          // -1: `length` zero bytes (a hole, unwritten blocks)
  uint64_t offset = 0;  // in fd
  uint64_t length = 0;
};

// Keeps the segments of a read_segments() answer valid until destroyed: the
// blocks they point at are not freed and reused (another file's bytes must
// never go out in their place), the fds stay open. Destroy from any thread,
// before the Filesystem.
class ReadLease {
 public:
  virtual ~ReadLease() = default;
};

struct SegmentedRead {
  std::vector<ReadSegment> segments;  // cover exactly `count` bytes
  size_t count = 0;                   // what read() would have returned
  bool eof = false;                   // as read()'s *eof
  std::unique_ptr<ReadLease> lease;
};

struct FsStat {
  uint64_t bytes_total = 0, bytes_free = 0, bytes_avail = 0;
  uint64_t files_total = 0, files_free = 0, files_avail = 0;
  uint32_t name_max = 255;
};

// Identity a new inode is created with.
struct Cred {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct DirEntry {
  std::string name;
  InodeId ino = 0;
  FileType type = FileType::kRegular;
  // Pass back to readdir() to continue after this entry. Stable across
  // directory changes (entries added or removed elsewhere in the directory
  // do not move it); never 0, 1 or 2 (reserved by NFSv4, RFC 8881 18.23.4).
  uint64_t cookie = 0;
};

struct ReaddirPage {
  std::vector<DirEntry> entries;  // never "." or ".."
  bool eof = false;
};

// One entry as readdir_plus() hands it to its callback. The views are valid
// only during the call.
struct DirEntryPlus {
  std::string_view name;
  InodeId ino = 0;
  FileType type = FileType::kRegular;
  uint64_t cookie = 0;  // as DirEntry::cookie
  // With want_attrs: the entry's attributes, or null if the layer could not
  // read them (the entry vanished between listing and reading, a damaged
  // record). Always null without want_attrs.
  const Attr* attr = nullptr;
  // With want_attrs: encode_handle(ino)'s bytes (empty if the layer could
  // not make them). Always empty without want_attrs.
  std::span<const uint8_t> handle;
};
// Return false to stop the listing.
using ReaddirPlusFn = std::function<bool(const DirEntryPlus&)>;

enum class CreateMode : uint8_t {
  kUnchecked,  // open existing or create
  kExclusive,  // fail with EEXIST if it exists
};

enum class SeekWhat : uint8_t { kData, kHole };

// One mapped range of a file, for extent listing (FIEMAP-like).
struct FileExtent {
  uint64_t offset = 0;    // bytes into the file
  uint64_t length = 0;    // bytes
  uint64_t physical = 0;  // byte offset on the device
  bool unwritten = false;  // allocated, reads as zeroes
  bool shared = false;     // some block is also mapped elsewhere (reflink)
};

class Filesystem {
 public:
  virtual ~Filesystem() = default;

  virtual InodeId root() const = 0;
  virtual Result<std::string> encode_handle(InodeId ino) = 0;
  virtual Result<InodeId> resolve_handle(std::span<const uint8_t> bytes) = 0;
  // resolve_handle(), then, when it succeeds, getattr() of that inode into
  // *attr (its own error there). A layer may do both with one read of the
  // inode: the data procedures of NFSv3 do this on every call.
  virtual Result<InodeId> resolve_handle_attr(std::span<const uint8_t> bytes,
                                              std::optional<Result<Attr>>* attr) {
    Result<InodeId> ino = resolve_handle(bytes);
    if (ino) *attr = getattr(*ino);
    return ino;
  }

  virtual Result<Attr> getattr(InodeId ino) = 0;
  virtual Result<Attr> setattr(InodeId ino, const SetAttr& sa) = 0;
  virtual Result<FsStat> statfs() = 0;

  // name is one component: never empty, ".", ".." or containing '/'.
  virtual Result<Attr> lookup(InodeId dir, std::string_view name) = 0;
  // The directory containing dir (the root's parent is the root).
  virtual Result<Attr> lookup_parent(InodeId dir) = 0;

  // Regular file. With kUnchecked an existing regular file is returned as is
  // (*created = false).
  virtual Result<Attr> create(InodeId dir, std::string_view name, uint32_t mode, const Cred& cred,
                              CreateMode how, bool* created) = 0;
  virtual Result<Attr> mkdir(InodeId dir, std::string_view name, uint32_t mode,
                             const Cred& cred) = 0;
  virtual Result<Attr> symlink(InodeId dir, std::string_view name, std::string_view target,
                               const Cred& cred) = 0;
  // Block/char devices, sockets and fifos.
  virtual Result<Attr> mknod(InodeId dir, std::string_view name, FileType type, uint32_t mode,
                             uint32_t rdev_major, uint32_t rdev_minor, const Cred& cred) = 0;
  virtual Result<Attr> link(InodeId target, InodeId dir, std::string_view name) = 0;
  // Removes a non-directory.
  virtual Status unlink(InodeId dir, std::string_view name) = 0;
  // Removes an empty directory.
  virtual Status rmdir(InodeId dir, std::string_view name) = 0;
  // POSIX rename(2) semantics, including replacing an existing target.
  virtual Status rename(InodeId src_dir, std::string_view src_name, InodeId dst_dir,
                        std::string_view dst_name) = 0;
  virtual Result<std::string> readlink(InodeId ino) = 0;
  // Up to max_entries entries after cookie (0 = from the start).
  virtual Result<ReaddirPage> readdir(InodeId dir, uint64_t cookie, size_t max_entries) = 0;
  // Streams the entries after cookie, in readdir() order, to fn until fn
  // returns false or the directory ends (then *eof). For READDIRPLUS and
  // NFSv4 READDIR, which want attributes per entry: a layer that can read
  // them along with the listing (one snapshot, no per-entry lookups)
  // overrides this; the default pages through readdir() and calls getattr()
  // per entry. Errors as readdir()'s; fn may already have seen entries.
  virtual Status readdir_plus(InodeId dir, uint64_t cookie, bool want_attrs,
                              const ReaddirPlusFn& fn, bool* eof) {
    *eof = false;
    for (;;) {
      auto page = readdir(dir, cookie, 256);
      if (!page) return page.status();
      for (const DirEntry& e : page->entries) {
        Result<Attr> a = want_attrs ? getattr(e.ino) : Result<Attr>::error(ENODATA);
        Result<std::string> h = want_attrs ? encode_handle(e.ino) : std::string();
        std::span<const uint8_t> handle;
        if (h) handle = {reinterpret_cast<const uint8_t*>(h->data()), h->size()};
        if (!fn({e.name, e.ino, e.type, e.cookie, a ? &a.value() : nullptr, handle}))
          return Status::ok();
        cookie = e.cookie;
      }
      if (page->eof) return *eof = true, Status::ok();
      if (page->entries.empty()) return Status::error(EIO);  // no progress: never loop
    }
  }

  // Reads into buf; returns bytes read; *eof when the read reached end of file.
  virtual Result<size_t> read(InodeId ino, uint64_t offset, std::span<uint8_t> buf, bool* eof) = 0;
  // read() without the copy, for sending with sendfile(2): where the bytes
  // of [offset, offset + count) are, as segments, with the same errors
  // (EIO for a known bad block) and the same count and eof. ENOTSUP when
  // the layer has no descriptor to hand out (the default): use read().
  virtual Result<SegmentedRead> read_segments(InodeId /*ino*/, uint64_t /*offset*/,
                                              size_t /*count*/) {
    return Result<SegmentedRead>::error(ENOTSUP);
  }
  virtual Result<size_t> write(InodeId ino, uint64_t offset, std::span<const uint8_t> data) = 0;
  // write() when it can be done without waiting (no lock held for long, no
  // commit, no recall, no write-back): for a caller on an event loop.
  // nullopt when it cannot, and then nothing was done: call write(), on a
  // thread that may wait. The default never can.
  virtual std::optional<Result<size_t>> write_quick(InodeId /*ino*/, uint64_t /*offset*/,
                                                    std::span<const uint8_t> /*data*/) {
    return std::nullopt;
  }
  // Makes data (and metadata unless data_only) durable.
  virtual Status fsync(InodeId ino, bool data_only) = 0;

  // Space operations (NFSv4.2, fallocate modes). Layers that cannot do them
  // keep these defaults. Rules for all of them:
  //  - Regular files only: EISDIR for a directory, EINVAL for other types.
  //  - A range [offset, offset + length) must end at or before INT64_MAX
  //    (the largest off_t), else EINVAL (this includes u64 wrap-around).
  //  - length 0 is EINVAL for the fallocate modes (allocate ... unshare),
  //    as fallocate(2) says; the others say what 0 means below.
  //  - ENOTSUP when the layer (or the host filesystem under it) cannot.
  //
  // Reserves blocks for the range; if it runs past end of file the size
  // becomes offset + length (RFC 7862 15.1.3; fallocate mode 0).
  virtual Status allocate(InodeId, uint64_t /*offset*/, uint64_t /*length*/) {
    return Status::error(ENOTSUP);
  }
  // Frees the range's blocks; it reads as zeroes; the size never changes
  // (RFC 7862 15.4 DEALLOCATE; PUNCH_HOLE|KEEP_SIZE).
  virtual Status punch_hole(InodeId, uint64_t /*offset*/, uint64_t /*length*/) {
    return Status::error(ENOTSUP);
  }
  // The range reads as zeroes, blocks stay allocated; extends the size like
  // allocate (FALLOC_FL_ZERO_RANGE without KEEP_SIZE).
  virtual Status zero_range(InodeId, uint64_t /*offset*/, uint64_t /*length*/) {
    return Status::error(ENOTSUP);
  }
  // Removes the range and shifts the rest of the file down; the size
  // shrinks by length. EINVAL if the range reaches end of file or breaks the
  // layer's alignment (a block multiple on ext4/xfs).
  virtual Status collapse_range(InodeId, uint64_t /*offset*/, uint64_t /*length*/) {
    return Status::error(ENOTSUP);
  }
  // Inserts a hole of length bytes at offset, shifting the rest up; the size
  // grows by length. EINVAL if offset >= size or on misalignment; EFBIG if
  // the file would grow past the layer's maximum.
  virtual Status insert_range(InodeId, uint64_t /*offset*/, uint64_t /*length*/) {
    return Status::error(ENOTSUP);
  }
  // dst's range shares src's blocks (FICLONERANGE, RFC 7862 15.13 CLONE).
  // length 0 clones from src_off to the end of src.
  virtual Status clone_range(InodeId /*src*/, uint64_t /*src_off*/, InodeId /*dst*/,
                             uint64_t /*dst_off*/, uint64_t /*length*/) {
    return Status::error(ENOTSUP);
  }
  // Copies bytes (copy_file_range(2)); stops at end of src; returns the
  // bytes copied, 0 for length 0 or src_off at/after end of src.
  virtual Result<uint64_t> copy_range(InodeId /*src*/, uint64_t /*src_off*/, InodeId /*dst*/,
                                      uint64_t /*dst_off*/, uint64_t /*length*/) {
    return Result<uint64_t>::error(ENOTSUP);
  }
  // Offset of the next data/hole at or after offset; ENXIO at or past EOF
  // (lseek SEEK_DATA/SEEK_HOLE; end of file counts as a hole).
  virtual Result<uint64_t> seek(InodeId, uint64_t /*offset*/, SeekWhat) {
    return Result<uint64_t>::error(ENOTSUP);
  }
  // Gives [offset, offset+length) private blocks; the size never changes
  // (FALLOC_FL_UNSHARE_RANGE|KEEP_SIZE).
  virtual Status unshare(InodeId, uint64_t /*offset*/, uint64_t /*length*/) {
    return Status::error(ENOTSUP);
  }
  // Shares src's blocks into dst if both ranges hold the same bytes
  // (FIDEDUPERANGE); EBADE, with nothing changed, if they differ. Returns the
  // bytes deduplicated; length 0 does nothing and returns 0.
  virtual Result<uint64_t> dedupe_range(InodeId /*src*/, uint64_t /*src_off*/, InodeId /*dst*/,
                                        uint64_t /*dst_off*/, uint64_t /*length*/) {
    return Result<uint64_t>::error(ENOTSUP);
  }
  // Mapped ranges overlapping [offset, offset+length), in file order, whole
  // (not cut to the range). Holes are absent. length 0 is EINVAL; a range
  // running past INT64_MAX means "to the end" (FIEMAP).
  virtual Result<std::vector<FileExtent>> list_extents(InodeId, uint64_t /*offset*/,
                                                       uint64_t /*length*/) {
    return Result<std::vector<FileExtent>>::error(ENOTSUP);
  }
  // True once the store has turned read-only (metadata media error); the
  // gateway then answers NFS4ERR_ROFS / NFS3ERR_ROFS to changes.
  virtual bool read_only() const { return false; }
  // Running totals a backend keeps about itself, as (name, value) pairs for
  // `pnfsgw admin status`; names are lower_snake_case.
  virtual std::vector<std::pair<std::string, uint64_t>> counters() const { return {}; }
};

}  // namespace pnfsgw::backend
