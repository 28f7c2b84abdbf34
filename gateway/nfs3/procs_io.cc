// Data procedures: READ, WRITE, COMMIT (RFC 1813 3.3.6, 3.3.7, 3.3.21).
// They go through the same Filesystem calls as NFSv4 READ/WRITE/COMMIT,
// and WRITE/COMMIT return the write verifier NFSv4 returns.
#include "gateway/common/file_parts.h"
#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {
namespace {

// The file of a data procedure: a regular file (ISDIR / INVAL otherwise).
nfsstat3 data_file(Nfs3Ctx& ctx, Fh3 fh, uint64_t* ino, std::optional<backend::Attr>* attr) {
  std::optional<Result<backend::Attr>> got;
  if (nfsstat3 st = ctx.core.fh.resolve_attr(fh, ino, &got); st != NFS3_OK) return st;
  if (!got) return NFS3ERR_SERVERFAULT;  // a layer that broke resolve_handle_attr()'s contract
  const Result<backend::Attr>& a = *got;
  if (!a) return errno_status(a.err());
  *attr = *a;
  if (a->type == backend::FileType::kDirectory) return NFS3ERR_ISDIR;
  if (a->type != backend::FileType::kRegular) return NFS3ERR_INVAL;
  return NFS3_OK;
}

bool proc_read(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  uint64_t offset = dec.u64();
  uint32_t count = dec.u32();
  if (!dec.ok()) return false;
  uint64_t ino = 0;
  std::optional<backend::Attr> attr;
  nfsstat3 st = data_file(ctx, fh, &ino, &attr);
  if (st == NFS3_OK)
    if (int err = gw::check_io(ctx.caller, *attr, false)) st = errno_status(err);
  if (st != NFS3_OK) {
    enc.u32(st);
    encode_post_op_attr(enc, attr, ctx.core.fsid);
    return true;
  }
  // READ3resok's attributes are the ones taken before the read. A client
  // caches the data under them: attributes from before a WRITE that races
  // the read only make it fetch the data again, while attributes from after
  // it would label the old data as current (the read takes no lock). A READ
  // changes no attribute (no atime), so they are also the ones after it.
  // The data goes straight into the reply buffer, or stays in the file and
  // goes out as the reply's file parts (gw::append_read_data).
  count = std::min(count, ctx.core.opts.max_read);
  const size_t st_off = enc.reserve_u32();
  encode_post_op_attr(enc, attr, ctx.core.fsid);
  const size_t count_off = enc.reserve_u32();
  const size_t eof_off = enc.reserve_u32();
  const size_t len_off = enc.reserve_u32();
  bool eof = false;
  Result<size_t> n =
      gw::append_read_data(ctx.call, *ctx.core.fs, ino, offset, count, true, enc, &eof);
  if (!n) {
    enc.truncate(count_off);
    enc.patch_u32(st_off, errno_status(n.err()));
    return true;
  }
  enc.patch_u32(st_off, NFS3_OK);
  enc.patch_u32(count_off, static_cast<uint32_t>(*n));
  enc.patch_u32(eof_off, eof ? 1 : 0);
  enc.patch_u32(len_off, static_cast<uint32_t>(*n));
  return true;
}

struct WriteArgs {
  Fh3 file;
  uint64_t offset = 0;
  uint32_t stable = UNSTABLE;
  std::span<const uint8_t> data;
};

struct WriteRes {
  Wcc wcc;
  uint32_t count = 0;
  uint32_t committed = UNSTABLE;
};

nfsstat3 do_write(Nfs3Ctx& ctx, const WriteArgs& a, WriteRes* r) {
  uint64_t ino = 0;
  if (nfsstat3 st = data_file(ctx, a.file, &ino, &r->wcc.before); st != NFS3_OK) return st;
  r->wcc.after = r->wcc.before;
  if (int err = gw::check_io(ctx.caller, *r->wcc.before, true)) return errno_status(err);
  if (a.offset + a.data.size() < a.offset) return NFS3ERR_FBIG;
  auto written = gw::write_data(ctx.call, *ctx.core.fs, ino, a.offset, a.data, a.stable == UNSTABLE);
  if (!written) {  // on the event loop, and it would wait
    ctx.deferred = true;
    return NFS3_OK;  // nothing encoded: the pool runs the call again
  }
  Result<size_t> n = std::move(*written);
  if (!n) {
    r->wcc.after = attr_of(ctx, ino);
    return errno_status(n.err());
  }
  r->count = static_cast<uint32_t>(*n);
  // RFC 1813 3.3.7: committed says how stable the data really is.
  if (a.stable != UNSTABLE) {
    Status s = ctx.core.fs->fsync(ino, a.stable == DATA_SYNC);
    if (!s) {
      r->wcc.after = attr_of(ctx, ino);
      return errno_status(s.err());
    }
    r->committed = a.stable;
  }
  r->wcc.after = attr_of(ctx, ino);
  return NFS3_OK;
}

bool proc_write(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  WriteArgs a;
  a.file = decode_fh3(dec);
  a.offset = dec.u64();
  uint32_t count = dec.u32();
  a.stable = dec.u32();
  a.data = dec.var_opaque(ctx.core.opts.max_write);
  if (!dec.ok() || a.stable > FILE_SYNC || count > a.data.size()) return false;
  a.data = a.data.first(count);
  WriteRes r;
  nfsstat3 st = do_write(ctx, a, &r);
  if (ctx.deferred) return true;
  enc.u32(st);
  encode_wcc_data(enc, r.wcc, ctx.core.fsid);
  if (st == NFS3_OK) {
    enc.u32(r.count);
    enc.u32(r.committed);
    enc.fixed_opaque(ctx.core.opts.write_verifier.data(), NFS3_WRITEVERFSIZE);
  }
  return true;
}

bool proc_commit(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  uint64_t offset = dec.u64();
  uint32_t count = dec.u32();
  if (!dec.ok()) return false;
  uint64_t ino = 0;
  Wcc wcc;
  nfsstat3 st = data_file(ctx, fh, &ino, &wcc.before);
  wcc.after = wcc.before;
  if (st == NFS3_OK && count != 0 && offset + count < offset) st = NFS3ERR_INVAL;
  if (st == NFS3_OK) {
    // The whole file is flushed whatever the range: fsync has no range
    // variant that also covers metadata.
    Status s = ctx.core.fs->fsync(ino, false);
    if (!s) st = errno_status(s.err());
    wcc.after = attr_of(ctx, ino);
  }
  enc.u32(st);
  encode_wcc_data(enc, wcc, ctx.core.fsid);
  if (st == NFS3_OK) enc.fixed_opaque(ctx.core.opts.write_verifier.data(), NFS3_WRITEVERFSIZE);
  return true;
}

}  // namespace

void register_io_procs(ProcDesc* t) {
  t[NFSPROC3_READ] = {"READ", proc_read};
  // WRITE run twice writes the same bytes, but cached its retransmit is
  // dropped while the original runs instead of doubling a 1 MiB write, and
  // a late one cannot put old data over another client's newer write. The
  // reply is ~140 bytes. COMMIT run twice is only another fsync.
  t[NFSPROC3_WRITE] = {"WRITE", proc_write, kCacheReply};
  t[NFSPROC3_COMMIT] = {"COMMIT", proc_commit};
}

}  // namespace pnfsgw::nfs3
