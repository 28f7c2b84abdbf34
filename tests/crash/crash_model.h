// What a StoreFs must hold after a crash, as a byte model per file.
//
// A block overwritten in place (a written, private block) since the file's
// last fsync() may hold, after a crash, any of the contents it had since: the
// device tears per 4 KiB block and the store flushes such writes only at
// fsync(). Every other block, the sizes and the namespace must be exactly as
// the completed operations left them. FileModel keeps the current bytes and,
// per block, the other contents a crash may leave ("alternatives").
//
// The mutators mirror what StoreFs does to a file's bytes (docs/store.md):
// which blocks a write() changes in place is told by the file's block kinds
// from list_extents() taken just before the operation.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "backend/device/device.h"

namespace pnfsgw::store::crash {

inline constexpr uint64_t kB = backend::device::kBlockSize;

enum class BlockKind : uint8_t { kHole, kPrivate, kUnwritten, kShared };
using BlockKinds = std::vector<BlockKind>;  // per logical block; missing = hole

struct FileModel {
  std::string data;  // the bytes after the last completed operation
  // Block -> other whole-block contents (zeroes past EOF) a crash may leave.
  std::map<uint64_t, std::vector<std::string>> alts;

  uint64_t size() const { return data.size(); }
  std::string block(uint64_t b) const;  // kB bytes, zero past EOF
  void add_alt(uint64_t b, std::string content);
  bool operator==(const FileModel&) const = default;
};

// The namespace: regular files and directories by path ("a", "d0/b").
struct Model {
  std::map<std::string, FileModel> files;
  std::set<std::string> dirs;
};

// write(): blocks written in place keep their old contents as alternatives;
// blocks that get new device blocks (holes, preallocated, shared) are
// flushed before the commit, so they are certain.
void model_write(FileModel& f, uint64_t off, std::string_view bytes, const BlockKinds& kinds);
// Bytes the store zeroes as part of a space operation (punch, zero range and
// truncate edges): zero in the current bytes and in every alternative.
void model_zero(FileModel& f, uint64_t off, uint64_t len);
void model_truncate(FileModel& f, uint64_t size);
void model_punch(FileModel& f, uint64_t off, uint64_t len);
void model_zero_range(FileModel& f, uint64_t off, uint64_t len);
void model_allocate(FileModel& f, uint64_t off, uint64_t len);
void model_insert(FileModel& f, uint64_t off, uint64_t len);    // aligned, off < size
void model_collapse(FileModel& f, uint64_t off, uint64_t len);  // aligned, off+len < size
// dst's blocks now map src's: its bytes and its alternatives are src's.
void model_clone(const FileModel& src, uint64_t s_off, FileModel& dst, uint64_t d_off, uint64_t len);
void model_fsync(FileModel& f);

// Widens each state so that every block written in place by the operation
// in flight (kinds: the files' blocks before it) may hold any of the contents
// it has in any of the states: the operation may have stopped anywhere.
void loosen(std::vector<Model>& states, const std::map<std::string, BlockKinds>& kinds);

// Why `got` (a file's bytes read back after a crash) cannot be what f allows;
// empty if it can.
std::string file_mismatch(const FileModel& f, const std::string& got);

}  // namespace pnfsgw::store::crash
