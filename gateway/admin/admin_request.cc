// Parsing of admin command lines (see admin_request.h).
#include "gateway/admin/admin_request.h"

#include <array>

namespace pnfsgw::admin {

namespace {

struct FallocateMode {
  const char* flag;
  AdminOp op;
};

constexpr std::array<FallocateMode, 6> kFallocateModes{{
    {"--allocate", AdminOp::kAllocate},
    {"--punch-hole", AdminOp::kPunchHole},
    {"--zero-range", AdminOp::kZeroRange},
    {"--collapse-range", AdminOp::kCollapseRange},
    {"--insert-range", AdminOp::kInsertRange},
    {"--unshare", AdminOp::kUnshare},
}};

constexpr char kSizeHint[] = "a number with an optional K, M, G or T suffix";

// Parses words[i] as a size into *out; names it `what` in the error.
bool size_word(const std::vector<std::string>& words, size_t i, const char* what, uint64_t* out,
               std::string* error) {
  if (parse_size(words[i], out)) return true;
  *error = std::string("bad ") + what + " '" + words[i] + "' (" + kSizeHint + ")";
  return false;
}

bool path_word(const std::vector<std::string>& words, size_t i, std::string* out,
               std::string* error) {
  std::vector<std::string> ignored;
  if (!split_path(words[i], &ignored, error)) return false;
  *out = words[i];
  return true;
}

bool wrong_count(const std::string& command, const char* operands, std::string* error) {
  *error = command + ": expected " + operands;
  return false;
}

}  // namespace

std::string op_name(AdminOp op) {
  for (const auto& m : kFallocateModes) {
    if (m.op == op) return std::string("fallocate ") + m.flag;
  }
  switch (op) {
    case AdminOp::kClone:
      return "clone";
    case AdminOp::kDedupe:
      return "dedupe";
    case AdminOp::kCopy:
      return "copy";
    case AdminOp::kSeek:
      return "seek";
    case AdminOp::kExtents:
      return "extents";
    case AdminOp::kStat:
      return "stat";
    case AdminOp::kStatus:
      return "status";
    default:
      return "?";
  }
}

bool op_modifies(AdminOp op) {
  switch (op) {
    case AdminOp::kSeek:
    case AdminOp::kExtents:
    case AdminOp::kStat:
    case AdminOp::kStatus:
      return false;
    default:
      return true;
  }
}

bool op_needs_regular_file(AdminOp op) { return op != AdminOp::kStat && op != AdminOp::kStatus; }

bool parse_size(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t multiplier = 1;
  switch (s.back()) {
    case 'K':
    case 'k':
      multiplier = uint64_t{1} << 10;
      break;
    case 'M':
    case 'm':
      multiplier = uint64_t{1} << 20;
      break;
    case 'G':
    case 'g':
      multiplier = uint64_t{1} << 30;
      break;
    case 'T':
    case 't':
      multiplier = uint64_t{1} << 40;
      break;
    default:
      break;
  }
  if (multiplier != 1) s.remove_suffix(1);
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (v > UINT64_MAX / multiplier) return false;
  *out = v * multiplier;
  return true;
}

bool split_path(std::string_view path, std::vector<std::string>* components, std::string* error) {
  components->clear();
  if (path.empty()) {
    *error = "empty PATH";
    return false;
  }
  std::string_view rest = path;
  if (rest.front() == '/') rest.remove_prefix(1);
  if (rest.empty()) return true;  // "/": the root
  while (true) {
    const size_t slash = rest.find('/');
    std::string_view name = rest.substr(0, slash);
    if (name.empty()) {
      *error = std::string(path) + ": empty path component";
      return false;
    }
    if (name == "." || name == "..") {
      *error = std::string(path) + ": '" + std::string(name) + "' is not allowed in a path";
      return false;
    }
    components->emplace_back(name);
    if (slash == std::string_view::npos) return true;
    rest.remove_prefix(slash + 1);
  }
}

bool parse_request(const std::vector<std::string>& words, AdminRequest* out, std::string* error) {
  *out = AdminRequest{};
  if (words.empty()) {
    *error = "no command given";
    return false;
  }
  const std::string& cmd = words[0];
  if (cmd == "fallocate") {
    if (words.size() < 2 || words[1].rfind("--", 0) != 0) {
      *error =
          "fallocate: needs a mode: --allocate, --punch-hole, --zero-range, "
          "--collapse-range, --insert-range or --unshare";
      return false;
    }
    bool known = false;
    for (const auto& m : kFallocateModes) {
      if (words[1] == m.flag) {
        out->op = m.op;
        known = true;
      }
    }
    if (!known) {
      *error = "fallocate: unknown mode '" + words[1] + "'";
      return false;
    }
    if (words.size() != 5) return wrong_count(op_name(out->op), "PATH OFFSET LENGTH", error);
    return path_word(words, 2, &out->path, error) &&
           size_word(words, 3, "OFFSET", &out->offset, error) &&
           size_word(words, 4, "LENGTH", &out->length, error);
  }
  if (cmd == "clone" || cmd == "dedupe" || cmd == "copy") {
    out->op = cmd == "clone"    ? AdminOp::kClone
              : cmd == "dedupe" ? AdminOp::kDedupe
                                : AdminOp::kCopy;
    if (words.size() != 6) return wrong_count(cmd, "SRC SRC_OFFSET DST DST_OFFSET LENGTH", error);
    return path_word(words, 1, &out->path, error) &&
           size_word(words, 2, "SRC_OFFSET", &out->offset, error) &&
           path_word(words, 3, &out->dst_path, error) &&
           size_word(words, 4, "DST_OFFSET", &out->dst_offset, error) &&
           size_word(words, 5, "LENGTH", &out->length, error);
  }
  if (cmd == "seek") {
    out->op = AdminOp::kSeek;
    if (words.size() != 4) return wrong_count(cmd, "PATH OFFSET data|hole", error);
    if (!path_word(words, 1, &out->path, error) ||
        !size_word(words, 2, "OFFSET", &out->offset, error)) {
      return false;
    }
    if (words[3] == "data") {
      out->what = backend::SeekWhat::kData;
    } else if (words[3] == "hole") {
      out->what = backend::SeekWhat::kHole;
    } else {
      *error = "seek: expected 'data' or 'hole', got '" + words[3] + "'";
      return false;
    }
    return true;
  }
  if (cmd == "extents") {
    out->op = AdminOp::kExtents;
    out->length = UINT64_MAX;  // to the end of the file
    if (words.size() != 2 && words.size() != 4) {
      return wrong_count(cmd, "PATH [OFFSET LENGTH]", error);
    }
    if (!path_word(words, 1, &out->path, error)) return false;
    return words.size() == 2 || (size_word(words, 2, "OFFSET", &out->offset, error) &&
                                 size_word(words, 3, "LENGTH", &out->length, error));
  }
  if (cmd == "stat") {
    out->op = AdminOp::kStat;
    if (words.size() != 2) return wrong_count(cmd, "PATH", error);
    return path_word(words, 1, &out->path, error);
  }
  if (cmd == "status") {
    out->op = AdminOp::kStatus;
    if (words.size() != 1) return wrong_count(cmd, "no operands", error);
    return true;
  }
  *error = "unknown command '" + cmd + "'";
  return false;
}

const char kAdminCommandsHelp[] =
    "commands (PATH is a path inside the export, e.g. /dir/file; OFFSET and LENGTH\n"
    "are bytes, with an optional K, M, G or T suffix, binary: 4K = 4096):\n"
    "  fallocate --allocate|--punch-hole|--zero-range|--collapse-range|\n"
    "            --insert-range|--unshare PATH OFFSET LENGTH\n"
    "  clone  SRC SRC_OFFSET DST DST_OFFSET LENGTH   share SRC's blocks (0 = to end)\n"
    "  dedupe SRC SRC_OFFSET DST DST_OFFSET LENGTH   share blocks if the bytes match\n"
    "  copy   SRC SRC_OFFSET DST DST_OFFSET LENGTH   copy bytes (stops at end of SRC)\n"
    "  seek PATH OFFSET data|hole                    next data or hole at/after OFFSET\n"
    "  extents PATH [OFFSET LENGTH]                  mapped extents of the file\n"
    "  stat PATH                                     attributes of PATH\n"
    "  status                                        backend state and space\n";

}  // namespace pnfsgw::admin
