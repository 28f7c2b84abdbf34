// The extent store's KV schema (docs/store.md "KV schema"): one LMDB named
// database per record kind, keys built from big-endian integers (so LMDB's
// byte order is numeric order), values little-endian fixed-size records.
// Plain functions, no state; the store (store_fs.h) is the only user.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "backend/fs.h"
#include "backend/store/extent_map.h"

namespace pnfsgw::store {

inline constexpr uint32_t kSchemaVersion = 1;
// Longest extent record (blocks). Bounding it lets the reverse map and the
// refcount table find every record overlapping a block by scanning back at
// most this far from it (ext4 bounds its extents the same way).
inline constexpr uint64_t kMaxExtentBlocks = 1u << 15;  // 128 MiB
inline constexpr backend::InodeId kRootIno = 1;
inline constexpr uint64_t kFirstCookie = 3;  // 0..2 are reserved (RFC 8881 18.23.4)

// db "inode": key ino -> InodeRec.
struct InodeRec {
  backend::FileType type = backend::FileType::kRegular;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // blocks this file maps (shared ones counted, as du does)
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  backend::Timespec atime, mtime, ctime;
  uint64_t change = 0;
  uint64_t parent = 0;       // directories: the containing directory
  uint64_t next_cookie = 0;  // directories: next readdir cookie to hand out
  std::string target;        // symlinks: the target
  // Not stored: change bumps of in-place overwrites folded in from memory by
  // StoreFs::get_inode(), retired once this record is committed.
  uint64_t folded_bumps = 0;
};
std::string encode_inode(const InodeRec& r);
std::optional<InodeRec> decode_inode(std::string_view v);

// db "dirent": key (dir, name) -> DirentRec. db "dircookie": key (dir, cookie)
// -> CookieRec (the same entry, in readdir order).
struct DirentRec {
  backend::InodeId child = 0;
  backend::FileType type = backend::FileType::kRegular;
  uint64_t cookie = 0;
};
std::string encode_dirent(const DirentRec& r);
std::optional<DirentRec> decode_dirent(std::string_view v);
struct CookieRec {
  backend::InodeId child = 0;
  backend::FileType type = backend::FileType::kRegular;
  std::string name;
};
std::string encode_cookie(const CookieRec& r);
std::optional<CookieRec> decode_cookie(std::string_view v);
// The same without copying the name: a view into v.
struct CookieView {
  backend::InodeId child = 0;
  backend::FileType type = backend::FileType::kRegular;
  std::string_view name;
};
std::optional<CookieView> decode_cookie_view(std::string_view v);

// db "extent": key (ino, lblk) -> {len, pblk, flags}. db "rmap": key
// (pblk, ino, lblk) -> {len, flags}: one rmap record per extent record.
std::string extent_key(uint64_t ino, uint64_t lblk);
std::string encode_extent_value(const Extent& e);
std::optional<Extent> decode_extent(std::string_view key, std::string_view value,
                                    uint64_t* ino = nullptr);
std::string rmap_key(uint64_t pblk, uint64_t ino, uint64_t lblk);
struct RmapRec {
  uint64_t pblk = 0, ino = 0, lblk = 0, len = 0;
  bool unwritten = false;
};
std::string encode_rmap_value(const Extent& e);
std::optional<RmapRec> decode_rmap(std::string_view key, std::string_view value);

// dbs "free", "quarantine", "bad": key pblk -> len. db "refcount": key pblk ->
// {len, count} (only blocks mapped two or more times have a record).
std::string block_key(uint64_t pblk);
bool decode_block_key(std::string_view key, uint64_t* pblk);
std::string encode_u64(uint64_t v);
std::optional<uint64_t> decode_u64(std::string_view v);
std::string encode_refcount(uint64_t len, uint32_t count);
bool decode_refcount(std::string_view v, uint64_t* len, uint32_t* count);

std::string ino_key(uint64_t ino);
bool decode_ino_key(std::string_view key, uint64_t* ino);

}  // namespace pnfsgw::store
