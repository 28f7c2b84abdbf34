// File system information: FSSTAT, FSINFO, PATHCONF (RFC 1813 3.3.18-20).
#include <cstdint>

#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {
namespace {

constexpr uint32_t kIoMultiple = 4096;
constexpr uint32_t kDirPref = 64 * 1024;
constexpr uint32_t kLinkMax = 65000;  // ext4's; xfs allows more

// Resolves the object all three take and fetches its attributes.
nfsstat3 fs_object(Nfs3Ctx& ctx, Fh3 fh, std::optional<backend::Attr>* attr) {
  uint64_t ino = 0;
  if (nfsstat3 st = resolve(ctx, fh, &ino); st != NFS3_OK) return st;
  auto a = ctx.core.fs->getattr(ino);
  if (!a) return errno_status(a.err());
  *attr = *a;
  return NFS3_OK;
}

bool proc_fsstat(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  if (!dec.ok()) return false;
  std::optional<backend::Attr> attr;
  nfsstat3 st = fs_object(ctx, fh, &attr);
  Result<backend::FsStat> s = Status::error(EIO);
  if (st == NFS3_OK) {
    s = ctx.core.fs->statfs();
    if (!s) st = errno_status(s.err());
  }
  enc.u32(st);
  encode_post_op_attr(enc, attr, ctx.core.fsid);
  if (st != NFS3_OK) return true;
  enc.u64(s->bytes_total);
  enc.u64(s->bytes_free);
  enc.u64(s->bytes_avail);
  enc.u64(s->files_total);
  enc.u64(s->files_free);
  enc.u64(s->files_avail);
  enc.u32(0);  // invarsec: the numbers change at any time
  return true;
}

bool proc_fsinfo(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  if (!dec.ok()) return false;
  std::optional<backend::Attr> attr;
  nfsstat3 st = fs_object(ctx, fh, &attr);
  enc.u32(st);
  encode_post_op_attr(enc, attr, ctx.core.fsid);
  if (st != NFS3_OK) return true;
  const Nfs3Options& o = ctx.core.opts;
  enc.u32(o.max_read);                            // rtmax
  enc.u32(o.max_read);                            // rtpref
  enc.u32(kIoMultiple);                           // rtmult
  enc.u32(o.max_write);                           // wtmax
  enc.u32(o.max_write);                           // wtpref
  enc.u32(kIoMultiple);                           // wtmult
  enc.u32(kDirPref);                              // dtpref
  enc.u64(static_cast<uint64_t>(INT64_MAX));      // maxfilesize: file offsets are off_t
  encode_nfstime3(enc, backend::Timespec{0, 1});  // time_delta: nanoseconds
  enc.u32(FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
  return true;
}

bool proc_pathconf(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  if (!dec.ok()) return false;
  std::optional<backend::Attr> attr;
  nfsstat3 st = fs_object(ctx, fh, &attr);
  uint32_t name_max = kMaxName;
  if (st == NFS3_OK)
    if (auto s = ctx.core.fs->statfs(); s && s->name_max)
      name_max = std::min<uint32_t>(s->name_max, kMaxName);
  enc.u32(st);
  encode_post_op_attr(enc, attr, ctx.core.fsid);
  if (st != NFS3_OK) return true;
  enc.u32(kLinkMax);
  enc.u32(name_max);
  enc.boolean(true);   // no_trunc: long names are refused, not cut
  enc.boolean(true);   // chown_restricted
  enc.boolean(false);  // case_insensitive
  enc.boolean(true);   // case_preserving
  return true;
}

}  // namespace

void register_fs_procs(ProcDesc* t) {
  t[NFSPROC3_FSSTAT] = {"FSSTAT", proc_fsstat};
  t[NFSPROC3_FSINFO] = {"FSINFO", proc_fsinfo};
  t[NFSPROC3_PATHCONF] = {"PATHCONF", proc_pathconf};
}

}  // namespace pnfsgw::nfs3
