// The admin commands as data: AdminRequest, and the parser that turns a
// command line (the words after `pnfsgw admin [--data DIR]`) into one. The
// client parses to reject a bad command before connecting; the server parses
// the same words again and trusts nothing the client did.
//
// Pure functions; safe from any thread.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backend/fs.h"

namespace pnfsgw::admin {

enum class AdminOp : uint8_t {
  // fallocate modes
  kAllocate,
  kPunchHole,
  kZeroRange,
  kCollapseRange,
  kInsertRange,
  kUnshare,
  // two-file operations
  kClone,
  kDedupe,
  kCopy,
  // queries
  kSeek,
  kExtents,
  kStat,
  kStatus,
};

struct AdminRequest {
  AdminOp op = AdminOp::kStatus;
  std::string path;  // the file (the source for clone/dedupe/copy)
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string dst_path;  // clone/dedupe/copy
  uint64_t dst_offset = 0;
  backend::SeekWhat what = backend::SeekWhat::kData;  // seek
};

// The command word and flag as typed, e.g. "fallocate --insert-range",
// "clone": for messages.
std::string op_name(AdminOp op);
// True for the operations that change a file.
bool op_modifies(AdminOp op);
// True for the operations whose PATH (and DST) must be regular files.
bool op_needs_regular_file(AdminOp op);

// A size or offset: decimal digits with an optional binary suffix K, M, G or
// T (either case; 1K = 1024). No sign, no spaces, no overflow past 2^64-1.
bool parse_size(std::string_view s, uint64_t* out);

// Parses words (e.g. {"fallocate", "--punch-hole", "/f", "4K", "8K"}). On
// failure returns false with a one-line message in *error naming the
// offending word ("unknown command 'x'", "bad OFFSET '12Q'", ...).
bool parse_request(const std::vector<std::string>& words, AdminRequest* out, std::string* error);

// Splits an export path ("/dir/file", "dir/file"; "/" is the root) into its
// components. Refuses "", empty components ("a//b", "a/"), "." and "..",
// with a message in *error.
bool split_path(std::string_view path, std::vector<std::string>* components, std::string* error);

// The command summary shown by `pnfsgw admin --help` and after usage errors.
extern const char kAdminCommandsHelp[];

}  // namespace pnfsgw::admin
