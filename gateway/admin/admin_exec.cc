// Admin commands against the Filesystem (see admin_exec.h).
#include "gateway/admin/admin_exec.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace pnfsgw::admin {

namespace {

using backend::Attr;
using backend::Filesystem;
using backend::FileType;

constexpr uint64_t kMaxOffset = static_cast<uint64_t>(INT64_MAX);

AdminReply ok(std::string text = {}) { return AdminReply{0, std::move(text)}; }
AdminReply fail(int err, std::string message) { return AdminReply{err, std::move(message)}; }

std::string num(uint64_t v) { return std::to_string(v); }

const char* type_name(FileType t) {
  switch (t) {
    case FileType::kRegular:
      return "regular file";
    case FileType::kDirectory:
      return "directory";
    case FileType::kBlock:
      return "block device";
    case FileType::kChar:
      return "character device";
    case FileType::kSymlink:
      return "symbolic link";
    case FileType::kSocket:
      return "socket";
    case FileType::kFifo:
      return "fifo";
  }
  return "unknown";
}

std::string time_str(const backend::Timespec& t) {
  char buf[48];
  snprintf(buf, sizeof(buf), "%" PRId64 ".%09" PRIu32, t.sec, t.nsec);
  return buf;
}

// "<command> PATH: <reason>" for a failed Filesystem call.
AdminReply op_failed(const AdminRequest& req, int err) {
  std::string msg = op_name(req.op) + " " + req.path;
  if (err == ENOTSUP || err == EOPNOTSUPP)
    return fail(err, msg + ": operation not supported by the backend");
  msg += std::string(": ") + strerror(err);
  if (err == EINVAL && (req.op == AdminOp::kInsertRange || req.op == AdminOp::kCollapseRange)) {
    msg +=
        " (OFFSET and LENGTH must be multiples of the backend's block size, and the range "
        "must start inside the file; a collapsed range must end before end of file)";
  } else if (err == EBADE && req.op == AdminOp::kDedupe) {
    msg = op_name(req.op) + ": the ranges of " + req.path + " and " + req.dst_path +
          " differ; nothing was shared";
  } else if (err == ENXIO && req.op == AdminOp::kSeek) {
    msg = "seek " + req.path + ": OFFSET " + num(req.offset) + " is at or past end of file";
  }
  return fail(err, msg);
}

// Resolves a path that must name a regular file.
Result<Attr> regular_file(Filesystem& fs, const std::string& path, std::string* error) {
  auto a = resolve_path(fs, path, error);
  if (!a) return a;
  if (a->type == FileType::kRegular) return a;
  const int err = a->type == FileType::kDirectory ? EISDIR : EINVAL;
  *error = path + ": is a " + type_name(a->type) + ", not a regular file";
  return Result<Attr>::error(err);
}

AdminReply run_stat(Filesystem& fs, const AdminRequest& req) {
  std::string error;
  auto a = resolve_path(fs, req.path, &error);
  if (!a) return fail(a.err(), error);
  char mode[16];
  snprintf(mode, sizeof(mode), "%04o", a->mode);
  std::string out;
  out += "path: " + req.path + "\n";
  out += "inode: " + num(a->ino) + "\n";
  out += std::string("type: ") + type_name(a->type) + "\n";
  out += std::string("mode: ") + mode + "\n";
  out += "nlink: " + num(a->nlink) + "\n";
  out += "uid: " + num(a->uid) + "\n";
  out += "gid: " + num(a->gid) + "\n";
  out += "size: " + num(a->size) + "\n";
  out += "space_used: " + num(a->space_used) + "\n";
  if (a->type == FileType::kBlock || a->type == FileType::kChar) {
    out += "rdev: " + num(a->rdev_major) + "," + num(a->rdev_minor) + "\n";
  }
  out += "atime: " + time_str(a->atime) + "\n";
  out += "mtime: " + time_str(a->mtime) + "\n";
  out += "ctime: " + time_str(a->ctime) + "\n";
  out += "change: " + num(a->change) + "\n";
  return ok(std::move(out));
}

AdminReply run_status(Filesystem& fs) {
  std::string out;
  out += std::string("read_only: ") + (fs.read_only() ? "yes" : "no") + "\n";
  auto st = fs.statfs();
  if (!st) return fail(st.err(), std::string("statfs: ") + strerror(st.err()));
  out += "bytes_total: " + num(st->bytes_total) + "\n";
  out += "bytes_free: " + num(st->bytes_free) + "\n";
  out += "bytes_avail: " + num(st->bytes_avail) + "\n";
  out += "files_total: " + num(st->files_total) + "\n";
  out += "files_free: " + num(st->files_free) + "\n";
  out += "files_avail: " + num(st->files_avail) + "\n";
  out += "name_max: " + num(st->name_max) + "\n";
  for (const auto& [name, value] : fs.counters()) out += name + ": " + num(value) + "\n";
  return ok(std::move(out));
}

AdminReply run_extents(Filesystem& fs, const AdminRequest& req, backend::InodeId ino) {
  // A range past the largest offset means "to the end" (backend/fs.h); cut
  // it here too so every backend sees a range that fits.
  uint64_t length = req.length;
  if (req.offset <= kMaxOffset && length > kMaxOffset - req.offset) {
    length = kMaxOffset - req.offset;
  }
  auto ext = fs.list_extents(ino, req.offset, length);
  if (!ext) return op_failed(req, ext.err());
  std::string out;
  char line[128];
  snprintf(line, sizeof(line), "%-20s %-20s %-20s %s\n", "OFFSET", "LENGTH", "PHYSICAL", "FLAGS");
  out += line;
  size_t rows = 0;
  for (const backend::FileExtent& e : *ext) {
    if (rows++ == kMaxExtentRows) break;
    std::string flags = e.unwritten && e.shared ? "unwritten,shared"
                        : e.unwritten           ? "unwritten"
                        : e.shared              ? "shared"
                                                : "-";
    snprintf(line, sizeof(line), "%-20" PRIu64 " %-20" PRIu64 " %-20" PRIu64 " %s\n", e.offset,
             e.length, e.physical, flags.c_str());
    out += line;
  }
  if (ext->size() > kMaxExtentRows) {
    out += "... " + num(ext->size() - kMaxExtentRows) +
           " more extents not shown; narrow the range with OFFSET LENGTH\n";
  }
  return ok(std::move(out));
}

}  // namespace

Result<Attr> resolve_path(Filesystem& fs, std::string_view path, std::string* error) {
  std::vector<std::string> names;
  if (!split_path(path, &names, error)) return Result<Attr>::error(EINVAL);
  auto cur = fs.getattr(fs.root());
  if (!cur) {
    *error = std::string(path) + ": export root: " + strerror(cur.err());
    return cur;
  }
  std::string walked;  // the components resolved so far, for messages
  for (const std::string& name : names) {
    if (cur->type != FileType::kDirectory) {
      *error = std::string(path) + ": '" + walked + "' is not a directory";
      return Result<Attr>::error(ENOTDIR);
    }
    auto next = fs.lookup(cur->ino, name);
    if (!next) {
      *error = std::string(path) + ": " + strerror(next.err());
      return next;
    }
    cur = std::move(next);
    walked += walked.empty() ? name : "/" + name;
  }
  return cur;
}

AdminReply execute(Filesystem& fs, const AdminRequest& req) {
  if (req.op == AdminOp::kStatus) return run_status(fs);
  if (req.op == AdminOp::kStat) return run_stat(fs, req);
  if (op_modifies(req.op) && fs.read_only()) {
    return fail(EROFS, op_name(req.op) + ": the backend is read-only; changes are refused");
  }
  std::string error;
  auto file = regular_file(fs, req.path, &error);
  if (!file) return fail(file.err(), error);
  const backend::InodeId ino = file->ino;
  backend::InodeId dst = 0;
  if (req.op == AdminOp::kClone || req.op == AdminOp::kDedupe || req.op == AdminOp::kCopy) {
    auto d = regular_file(fs, req.dst_path, &error);
    if (!d) return fail(d.err(), error);
    dst = d->ino;
  }

  Status st;
  switch (req.op) {
    case AdminOp::kAllocate:
      st = fs.allocate(ino, req.offset, req.length);
      break;
    case AdminOp::kPunchHole:
      st = fs.punch_hole(ino, req.offset, req.length);
      break;
    case AdminOp::kZeroRange:
      st = fs.zero_range(ino, req.offset, req.length);
      break;
    case AdminOp::kCollapseRange:
      st = fs.collapse_range(ino, req.offset, req.length);
      break;
    case AdminOp::kInsertRange:
      st = fs.insert_range(ino, req.offset, req.length);
      break;
    case AdminOp::kUnshare:
      st = fs.unshare(ino, req.offset, req.length);
      break;
    case AdminOp::kClone:
      st = fs.clone_range(ino, req.offset, dst, req.dst_offset, req.length);
      break;
    case AdminOp::kDedupe: {
      auto n = fs.dedupe_range(ino, req.offset, dst, req.dst_offset, req.length);
      if (!n) return op_failed(req, n.err());
      return ok(num(*n) + " bytes deduplicated\n");
    }
    case AdminOp::kCopy: {
      auto n = fs.copy_range(ino, req.offset, dst, req.dst_offset, req.length);
      if (!n) return op_failed(req, n.err());
      return ok(num(*n) + " bytes copied\n");
    }
    case AdminOp::kSeek: {
      auto pos = fs.seek(ino, req.offset, req.what);
      if (!pos) return op_failed(req, pos.err());
      return ok(num(*pos) + "\n");
    }
    case AdminOp::kExtents:
      return run_extents(fs, req, ino);
    case AdminOp::kStat:
    case AdminOp::kStatus:
      break;  // handled above
  }
  if (!st) return op_failed(req, st.err());
  return ok();
}

AdminReply run_command(Filesystem& fs, const std::vector<std::string>& words) {
  AdminRequest req;
  std::string error;
  if (!parse_request(words, &req, &error)) return fail(EINVAL, error);
  return execute(fs, req);
}

}  // namespace pnfsgw::admin
