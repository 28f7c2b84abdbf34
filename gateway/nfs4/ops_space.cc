// NFSv4.2 space operations (RFC 7862 15): ALLOCATE, COPY, DEALLOCATE,
// READ_PLUS, SEEK, CLONE, and OFFLOAD_CANCEL / OFFLOAD_STATUS, which only
// have to know that no copy here is ever asynchronous.
//
// The two-file ops (COPY, CLONE) take the source from SAVED_FH and the
// destination from CURRENT_FH (RFC 7862 15.2.1, 15.13.1). The op table marks
// the ops that change the file kModifies, so a read-only store answers
// NFS4ERR_ROFS before a handler runs; these ops exist in minor version 2 only
// (kMinor2; the COMPOUND loop answers NFS4ERR_OP_ILLEGAL below it).
#include <algorithm>
#include <limits>
#include <vector>

#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {
namespace {

// The largest offset a byte range may end at (off_t, as fallocate(2) and
// the Filesystem contract in backend/fs.h have it).
constexpr uint64_t kMaxEnd = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// A synchronous COPY copies at most this much and reports a short copy; the
// client sends another COPY for the rest (RFC 7862 15.2.3 wr_count). Bounds
// how long one COPY holds a worker thread.
constexpr uint64_t kMaxCopyPerOp = 64ull << 20;
// Buffer for COPY on a layer without copy_range.
constexpr size_t kCopyBuffer = 1u << 20;
// XDR bytes of a READ_PLUS segment without its data: content + offset +
// length (hole) or content + offset + opaque length (data).
constexpr size_t kHoleSegment = 4 + 8 + 8;
constexpr size_t kDataSegmentHeader = 4 + 8 + 4;

enum class Access { kRead, kWrite };

// For the ops on one file (RFC 8881 18.22.3, 18.32.3 as READ/WRITE do it):
// directory NFS4ERR_ISDIR, symlink NFS4ERR_SYMLINK, others
// NFS4ERR_WRONG_TYPE. COPY and CLONE say only "regular files", so anything
// else is NFS4ERR_WRONG_TYPE there (RFC 7862 15.2.3, 15.13.3).
nfsstat4 type_status(backend::FileType t, bool two_file_op) {
  if (t == backend::FileType::kRegular) return NFS4_OK;
  if (two_file_op) return NFS4ERR_WRONG_TYPE;
  if (t == backend::FileType::kDirectory) return NFS4ERR_ISDIR;
  if (t == backend::FileType::kSymlink) return NFS4ERR_SYMLINK;
  return NFS4ERR_WRONG_TYPE;
}

// The checks READ (kRead) or WRITE (kWrite) makes, for file f: the stateid
// is valid for f and its open allows the access (NFS4ERR_OPENMODE if not);
// I/O under a special stateid answers to the file's mode bits. Fills *a.
nfsstat4 check_file(CompoundCtx& ctx, const FileRef& f, Stateid4* sid, Access access,
                    bool two_file_op, backend::Attr* a) {
  if (nfsstat4 st = resolve_stateid(ctx, sid); st != NFS4_OK) return st;
  auto at = ctx.core.fs->getattr(f.ino);
  if (!at) return errno_to_nfs(at.err());
  if (nfsstat4 st = type_status(at->type, two_file_op); st != NFS4_OK) return st;
  const bool write = access == Access::kWrite;
  if (nfsstat4 st = ctx.core.state.check_io(*sid, f.ino, write); st != NFS4_OK) return st;
  if (sid->is_anonymous() || sid->is_bypass())
    if (int err = gw::check_io(ctx.caller, *at, write)) return errno_to_nfs(err);
  *a = *at;
  return NFS4_OK;
}

// [offset, offset + length) must be non-empty and end at or before kMaxEnd;
// a u64 wrap-around is NFS4ERR_INVAL too.
bool range_ok(uint64_t offset, uint64_t length) {
  return length != 0 && offset <= kMaxEnd && length <= kMaxEnd - offset;
}

bool ranges_overlap(uint64_t a, uint64_t b, uint64_t len) { return a < b + len && b < a + len; }

// ---- ALLOCATE (RFC 7862 15.1) and DEALLOCATE (15.4) ----

template <bool kAllocate>
nfsstat4 op_space_change(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint64_t offset = dec.u64();
  uint64_t length = dec.u64();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  backend::Attr a;
  if (nfsstat4 st = check_file(ctx, ctx.cfh, &sid, Access::kWrite, false, &a); st != NFS4_OK)
    return st;
  if (!range_ok(offset, length)) return NFS4ERR_INVAL;
  // ALLOCATE extends the file when the range runs past its end; DEALLOCATE
  // never changes the size (backend/fs.h).
  Status s = kAllocate ? ctx.core.fs->allocate(ctx.cfh.ino, offset, length)
                       : ctx.core.fs->punch_hole(ctx.cfh.ino, offset, length);
  return s ? NFS4_OK : errno_to_nfs(s.err());
}

// ---- SEEK (RFC 7862 15.11) ----

nfsstat4 op_seek(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint64_t offset = dec.u64();
  uint32_t what = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (what != NFS4_CONTENT_DATA && what != NFS4_CONTENT_HOLE) return NFS4ERR_BADXDR;
  // RFC 7862 15.11.3: SEEK follows READ_PLUS's (that is READ's) stateid rules.
  backend::Attr a;
  if (nfsstat4 st = check_file(ctx, ctx.cfh, &sid, Access::kRead, false, &a); st != NFS4_OK)
    return st;
  // "If the sa_offset is beyond the end of the file, then SEEK MUST return
  // NFS4ERR_NXIO." As lseek(2) (and knfsd), an offset at the end is beyond.
  if (offset >= a.size) return NFS4ERR_NXIO;
  const backend::SeekWhat w =
      what == NFS4_CONTENT_DATA ? backend::SeekWhat::kData : backend::SeekWhat::kHole;
  auto r = ctx.core.fs->seek(ctx.cfh.ino, offset, w);
  bool eof = false;
  uint64_t found = 0;
  if (r) {
    found = *r;
    // Reaching the virtual hole at end of file (every file has one).
    eof = found >= a.size;
  } else if (r.err() == ENXIO) {
    // No data after offset (or the file shrank under us): NFS4_OK with
    // sr_eof TRUE, "the server cannot find a corresponding sa_what".
    eof = true;
    found = std::max(offset, a.size);
  } else {
    return errno_to_nfs(r.err());
  }
  enc.boolean(eof);
  enc.u64(found);
  return NFS4_OK;
}

// ---- READ_PLUS (RFC 7862 15.10) ----

// Builds read_plus_res4 at the end of enc: data and hole segments covering
// [offset, end), at most room bytes of XDR. Returns the offset reached.
class ReadPlusEncoder {
 public:
  ReadPlusEncoder(CompoundCtx& ctx, xdr::XdrEncoder& enc, size_t room)
      : ctx_(ctx), enc_(enc), room_(room) {}

  // Appends one hole segment [offset, offset + length); false if no room.
  bool hole(uint64_t offset, uint64_t length) {
    if (room_ < kHoleSegment) return false;
    enc_.u32(NFS4_CONTENT_HOLE);
    enc_.u64(offset);
    enc_.u64(length);
    room_ -= kHoleSegment;
    segments_++;
    return true;
  }

  // Appends a data segment read from the file, as much of [offset, offset +
  // length) as fits. Returns the bytes read (0 when none fit or at EOF).
  Result<uint64_t> data(uint64_t offset, uint64_t length, bool* eof) {
    if (room_ <= kDataSegmentHeader) return uint64_t{0};
    size_t n =
        static_cast<size_t>(std::min<uint64_t>(length, (room_ - kDataSegmentHeader) & ~3ull));
    if (n == 0) return uint64_t{0};
    const size_t start = enc_.size();
    enc_.u32(NFS4_CONTENT_DATA);
    enc_.u64(offset);
    size_t len_off = enc_.reserve_u32();
    size_t data_off = enc_.append_space(n);
    auto got = ctx_.core.fs->read(ctx_.cfh.ino, offset,
                                  std::span<uint8_t>(enc_.data() + data_off, n), eof);
    if (!got || *got == 0) {
      enc_.truncate(start);
      if (!got) return Result<uint64_t>::error(got.err());
      return uint64_t{0};
    }
    enc_.truncate(data_off + xdr::pad4(*got));
    enc_.patch_u32(len_off, static_cast<uint32_t>(*got));
    room_ -= kDataSegmentHeader + xdr::pad4(*got);
    segments_++;
    return static_cast<uint64_t>(*got);
  }

  uint32_t segments() const { return segments_; }

 private:
  CompoundCtx& ctx_;
  xdr::XdrEncoder& enc_;
  size_t room_;
  uint32_t segments_ = 0;
};

nfsstat4 op_read_plus(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint64_t offset = dec.u64();
  uint32_t count = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  backend::Attr a;
  if (nfsstat4 st = check_file(ctx, ctx.cfh, &sid, Access::kRead, false, &a); st != NFS4_OK)
    return st;
  count = std::min(count, ctx.core.opts.max_read);
  // Room for the segments after rpr_eof and the array length.
  size_t room = count + 64 * 1024;
  if (ctx.session) {
    size_t used = enc.size() - ctx.reply_base + 8;
    size_t max = ctx.session->fore.maxresponsesize;
    room = std::min(room, max > used ? max - used : 0);
  }
  const size_t eof_off = enc.reserve_u32();
  const size_t nseg_off = enc.reserve_u32();
  // RFC 7862 15.10.3: at or past end of file, NFS4_OK, no contents, eof.
  const uint64_t end = offset >= a.size ? offset : std::min<uint64_t>(a.size, offset + count);
  ReadPlusEncoder out(ctx, enc, room);
  uint64_t pos = offset;
  bool read_eof = false;
  bool seek_works = true;
  while (pos < end && !read_eof) {
    // Where does the next data start? Without SEEK support it is all data.
    uint64_t data_at = pos;
    if (seek_works) {
      auto d = ctx.core.fs->seek(ctx.cfh.ino, pos, backend::SeekWhat::kData);
      if (d) {
        data_at = *d;
      } else if (d.err() == ENXIO) {
        data_at = end;  // a hole to the end of the file
      } else if (d.err() == ENOTSUP) {
        seek_works = false;
      } else {
        enc.truncate(eof_off);
        return errno_to_nfs(d.err());
      }
    }
    if (data_at > pos) {
      uint64_t hole_end = std::min(data_at, end);
      if (!out.hole(pos, hole_end - pos)) break;
      pos = hole_end;
      continue;
    }
    uint64_t data_end = end;
    if (seek_works) {
      auto h = ctx.core.fs->seek(ctx.cfh.ino, pos, backend::SeekWhat::kHole);
      if (h && *h > pos) data_end = std::min(*h, end);
    }
    auto n = out.data(pos, data_end - pos, &read_eof);
    if (!n) {
      // Nothing sent yet: the error is the answer; otherwise a short read.
      if (out.segments() == 0) {
        enc.truncate(eof_off);
        return errno_to_nfs(n.err());
      }
      break;
    }
    if (*n == 0) break;
    pos += *n;
  }
  // eof: the reply reaches end of file (RFC 7862 15.10.3 rpr_eof).
  const bool eof = pos >= a.size || read_eof;
  enc.patch_u32(eof_off, eof ? 1 : 0);
  enc.patch_u32(nseg_off, out.segments());
  return NFS4_OK;
}

// ---- COPY (RFC 7862 15.2) and CLONE (15.13) ----

// netloc4 (RFC 7862 4.1.1); only its presence matters here.
void skip_netloc(xdr::XdrDecoder& dec) {
  constexpr uint32_t NL4_NAME = 1, NL4_URL = 2, NL4_NETADDR = 3;
  switch (dec.u32()) {
    case NL4_NAME:
    case NL4_URL:
      dec.string(NFS4_OPAQUE_LIMIT);
      break;
    case NL4_NETADDR:
      dec.string(NFS4_OPAQUE_LIMIT);  // na_r_netid
      dec.string(NFS4_OPAQUE_LIMIT);  // na_r_addr
      break;
    default:
      dec.fail();
  }
}

struct TwoFileArgs {
  Stateid4 src_sid, dst_sid;
  uint64_t src_off = 0, dst_off = 0, count = 0;
};

// The checks COPY and CLONE share: SAVED_FH is a regular file readable
// under src_sid, CURRENT_FH one writable under dst_sid; the source range
// lies inside the source file (count 0: to its end, resolved into a->count);
// the destination range ends at or before kMaxEnd; within one file the
// ranges do not overlap. RFC 7862 15.2.3 and 15.13.3 give the same rules.
nfsstat4 check_two_files(CompoundCtx& ctx, TwoFileArgs* a) {
  if (!ctx.sfh.valid()) return NFS4ERR_NOFILEHANDLE;
  backend::Attr src, dst;
  if (nfsstat4 st = check_file(ctx, ctx.sfh, &a->src_sid, Access::kRead, true, &src); st != NFS4_OK)
    return st;
  if (nfsstat4 st = check_file(ctx, ctx.cfh, &a->dst_sid, Access::kWrite, true, &dst);
      st != NFS4_OK)
    return st;
  if (a->src_off > src.size) return NFS4ERR_INVAL;
  if (a->count == 0) {
    a->count = src.size - a->src_off;
  } else if (a->count > src.size - a->src_off) {
    return NFS4ERR_INVAL;
  }
  if (a->dst_off > kMaxEnd || a->count > kMaxEnd - a->dst_off) return NFS4ERR_INVAL;
  if (ctx.sfh.ino == ctx.cfh.ino && a->count != 0 &&
      ranges_overlap(a->src_off, a->dst_off, a->count))
    return NFS4ERR_INVAL;
  return NFS4_OK;
}

// Copies through a buffer, for layers without copy_range.
Result<uint64_t> copy_by_reading(backend::Filesystem* fs, uint64_t src, uint64_t src_off,
                                 uint64_t dst, uint64_t dst_off, uint64_t count) {
  std::vector<uint8_t> buf(static_cast<size_t>(std::min<uint64_t>(count, kCopyBuffer)));
  uint64_t done = 0;
  while (done < count) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(count - done, buf.size()));
    bool eof = false;
    auto n = fs->read(src, src_off + done, std::span<uint8_t>(buf.data(), want), &eof);
    if (!n) return done ? Result<uint64_t>(done) : Result<uint64_t>::error(n.err());
    if (*n == 0) break;
    auto w = fs->write(dst, dst_off + done, std::span<const uint8_t>(buf.data(), *n));
    if (!w) return done ? Result<uint64_t>(done) : Result<uint64_t>::error(w.err());
    done += *w;
    if (*w < *n) break;
  }
  return done;
}

nfsstat4 op_copy(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  TwoFileArgs a;
  decode_stateid(dec, &a.src_sid);
  decode_stateid(dec, &a.dst_sid);
  a.src_off = dec.u64();
  a.dst_off = dec.u64();
  a.count = dec.u64();
  dec.boolean();  // ca_consecutive: a synchronous copy always is
  dec.boolean();  // ca_synchronous: this server always is (cr_synchronous)
  uint32_t nservers = dec.array_len(64, 8);
  for (uint32_t i = 0; i < nservers && dec.ok(); i++) skip_netloc(dec);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  // A source server list makes it an inter-server copy (RFC 7862 15.2.3,
  // 4.9), which this server does not offer (nor COPY_NOTIFY for it).
  if (nservers != 0) return NFS4ERR_NOTSUPP;
  if (nfsstat4 st = check_two_files(ctx, &a); st != NFS4_OK) return st;
  const uint64_t want = std::min(a.count, kMaxCopyPerOp);
  uint64_t copied = 0;
  while (copied < want) {
    auto n = ctx.core.fs->copy_range(ctx.sfh.ino, a.src_off + copied, ctx.cfh.ino,
                                     a.dst_off + copied, want - copied);
    if (!n && n.err() == ENOTSUP) {
      n = copy_by_reading(ctx.core.fs, ctx.sfh.ino, a.src_off + copied, ctx.cfh.ino,
                          a.dst_off + copied, want - copied);
    }
    if (!n) {
      if (copied == 0) return errno_to_nfs(n.err());
      break;  // a short copy; wr_count says how far it got
    }
    if (*n == 0) break;
    copied += *n;
  }
  // COPY4resok: write_response4 then copy_requirements4. Synchronous: no
  // callback id, and the data is as durable as an UNSTABLE4 WRITE's.
  enc.u32(0);  // wr_callback_id<1>: empty
  enc.u64(copied);
  enc.u32(UNSTABLE4);
  enc.fixed_opaque(ctx.core.write_verifier.data(), ctx.core.write_verifier.size());
  enc.boolean(true);  // cr_consecutive
  enc.boolean(true);  // cr_synchronous
  return NFS4_OK;
}

nfsstat4 op_clone(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  TwoFileArgs a;
  decode_stateid(dec, &a.src_sid);
  decode_stateid(dec, &a.dst_sid);
  a.src_off = dec.u64();
  a.dst_off = dec.u64();
  a.count = dec.u64();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  const bool to_eof = a.count == 0;
  if (nfsstat4 st = check_two_files(ctx, &a); st != NFS4_OK) return st;
  if (a.count == 0) return NFS4_OK;  // nothing past src_off
  // cl_count 0 means "to the end of the source" (RFC 7862 15.13.3); the
  // layer takes 0 the same way, which keeps an unaligned end at EOF legal.
  Status s = ctx.core.fs->clone_range(ctx.sfh.ino, a.src_off, ctx.cfh.ino, a.dst_off,
                                      to_eof ? 0 : a.count);
  return s ? NFS4_OK : errno_to_nfs(s.err());
}

// ---- OFFLOAD_CANCEL (RFC 7862 15.8) and OFFLOAD_STATUS (15.9) ----

// COPY never answers with a callback id (every copy is synchronous), so no
// stateid names an offloaded copy.
nfsstat4 op_offload(CompoundCtx&, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  return NFS4ERR_BAD_STATEID;
}

}  // namespace

void register_space_ops(OpDesc* t) {
  t[OP_ALLOCATE] = {"ALLOCATE", op_space_change<true>, kNeedFh | kMinor2 | kModifies};
  t[OP_COPY] = {"COPY", op_copy, kNeedFh | kMinor2 | kModifies};
  t[OP_DEALLOCATE] = {"DEALLOCATE", op_space_change<false>, kNeedFh | kMinor2 | kModifies};
  t[OP_OFFLOAD_CANCEL] = {"OFFLOAD_CANCEL", op_offload, kNeedFh | kMinor2};
  t[OP_OFFLOAD_STATUS] = {"OFFLOAD_STATUS", op_offload, kNeedFh | kMinor2};
  t[OP_READ_PLUS] = {"READ_PLUS", op_read_plus, kNeedFh | kMinor2};
  t[OP_SEEK] = {"SEEK", op_seek, kNeedFh | kMinor2};
  t[OP_CLONE] = {"CLONE", op_clone, kNeedFh | kMinor2 | kModifies};
}

}  // namespace pnfsgw::nfs4
