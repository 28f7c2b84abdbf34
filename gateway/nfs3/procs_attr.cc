// Attribute and name procedures: GETATTR, SETATTR, LOOKUP, ACCESS,
// READLINK (RFC 1813 3.3.1-3.3.5).
#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {
namespace {

bool proc_getattr(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  if (!dec.ok()) return false;
  uint64_t ino = 0;
  nfsstat3 st = resolve(ctx, fh, &ino);
  Result<backend::Attr> a = Status::error(EIO);
  if (st == NFS3_OK) {
    a = ctx.core.fs->getattr(ino);
    if (!a) st = errno_status(a.err());
  }
  enc.u32(st);
  if (st == NFS3_OK) encode_fattr3(enc, *a, ctx.core.fsid);
  return true;
}

struct SetattrArgs {
  Fh3 object;
  backend::SetAttr sa;
  bool check = false;  // sattrguard3
  backend::Timespec guard_ctime;
};

nfsstat3 do_setattr(Nfs3Ctx& ctx, SetattrArgs& a, Wcc* wcc) {
  uint64_t ino = 0;
  if (nfsstat3 st = resolve(ctx, a.object, &ino); st != NFS3_OK) return st;
  auto before = ctx.core.fs->getattr(ino);
  if (!before) return errno_status(before.err());
  wcc->before = wcc->after = *before;
  // RFC 1813 3.3.2: the guard compares the object's ctime as the client
  // saw it (nfstime3, so seconds modulo 2^32).
  if (a.check && (static_cast<uint32_t>(before->ctime.sec) != a.guard_ctime.sec ||
                  before->ctime.nsec != a.guard_ctime.nsec))
    return NFS3ERR_NOT_SYNC;
  if (int err = gw::check_setattr(ctx.caller, *before, &a.sa)) return errno_status(err);
  if (a.sa.empty()) return NFS3_OK;
  // Future break hook: a size change must recall layouts/caches of ino here.
  auto after = ctx.core.fs->setattr(ino, a.sa);
  wcc->after = attr_of(ctx, ino);
  if (!after) return errno_status(after.err());
  wcc->after = *after;
  return NFS3_OK;
}

bool proc_setattr(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  SetattrArgs a;
  a.object = decode_fh3(dec);
  decode_sattr3(dec, &a.sa);
  a.check = dec.boolean();
  if (a.check) decode_nfstime3(dec, &a.guard_ctime);
  if (!dec.ok()) return false;
  Wcc wcc;
  nfsstat3 st = do_setattr(ctx, a, &wcc);
  enc.u32(st);
  encode_wcc_data(enc, wcc, ctx.core.fsid);
  return true;
}

struct LookupRes {
  std::vector<uint8_t> fh;
  std::optional<backend::Attr> obj, dir;
};

nfsstat3 do_lookup(Nfs3Ctx& ctx, const DirOpArgs3& a, LookupRes* r) {
  uint64_t dino = 0;
  if (nfsstat3 st = resolve(ctx, a.dir, &dino); st != NFS3_OK) return st;
  backend::Attr dir;
  nfsstat3 st = dir_attr(ctx, dino, &dir);
  if (st == NFS3_OK || st == NFS3ERR_NOTDIR) r->dir = dir;
  if (st != NFS3_OK) return st;
  if (a.name.size() > kMaxName) return NFS3ERR_NAMETOOLONG;
  if (nfsstat3 e = require(ctx, dir, gw::kMayExec); e != NFS3_OK) return e;
  Result<backend::Attr> obj = Status::error(ENOENT);
  if (a.name == ".") {
    obj = dir;
  } else if (a.name == "..") {
    obj = ctx.core.fs->lookup_parent(dino);  // the export root is its own parent
  } else {
    if (nfsstat3 e = check_name(a.name); e != NFS3_OK) return e;
    obj = ctx.core.fs->lookup(dino, a.name);
  }
  if (!obj) return errno_status(obj.err());
  if (nfsstat3 e = make_fh(ctx, obj->ino, &r->fh); e != NFS3_OK) return e;
  r->obj = *obj;
  return NFS3_OK;
}

bool proc_lookup(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  DirOpArgs3 a;
  decode_diropargs3(dec, &a);
  if (!dec.ok()) return false;
  LookupRes r;
  nfsstat3 st = do_lookup(ctx, a, &r);
  enc.u32(st);
  if (st == NFS3_OK) {
    enc.var_opaque(r.fh.data(), r.fh.size());
    encode_post_op_attr(enc, r.obj, ctx.core.fsid);
  }
  encode_post_op_attr(enc, r.dir, ctx.core.fsid);
  return true;
}

// ACCESS3 bits the caller holds on a (RFC 1813 3.3.4), from the mode bits.
// Bits that do not apply to the object's type are never granted.
uint32_t access_bits(const Nfs3Ctx& ctx, const backend::Attr& a) {
  const uint32_t rwx = gw::allowed_bits(ctx.caller, a);
  const bool dir = a.type == backend::FileType::kDirectory;
  uint32_t ok = 0;
  if (rwx & gw::kMayRead) ok |= ACCESS3_READ;
  if (rwx & gw::kMayWrite) ok |= ACCESS3_MODIFY | ACCESS3_EXTEND | (dir ? ACCESS3_DELETE : 0);
  if (rwx & gw::kMayExec) ok |= dir ? ACCESS3_LOOKUP : ACCESS3_EXECUTE;
  return ok;
}

bool proc_access(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  uint32_t want = dec.u32();
  if (!dec.ok()) return false;
  uint64_t ino = 0;
  nfsstat3 st = resolve(ctx, fh, &ino);
  std::optional<backend::Attr> a;
  if (st == NFS3_OK) {
    auto r = ctx.core.fs->getattr(ino);
    if (r)
      a = *r;
    else
      st = errno_status(r.err());
  }
  enc.u32(st);
  encode_post_op_attr(enc, a, ctx.core.fsid);
  if (st == NFS3_OK) enc.u32(want & access_bits(ctx, *a));
  return true;
}

bool proc_readlink(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 fh = decode_fh3(dec);
  if (!dec.ok()) return false;
  uint64_t ino = 0;
  nfsstat3 st = resolve(ctx, fh, &ino);
  std::optional<backend::Attr> a;
  std::string target;
  if (st == NFS3_OK) a = attr_of(ctx, ino);
  if (st == NFS3_OK && !a) st = NFS3ERR_STALE;
  if (st == NFS3_OK && a->type != backend::FileType::kSymlink) st = NFS3ERR_INVAL;
  if (st == NFS3_OK) {
    auto t = ctx.core.fs->readlink(ino);
    if (t)
      target = std::move(*t);
    else
      st = errno_status(t.err());
  }
  enc.u32(st);
  encode_post_op_attr(enc, a, ctx.core.fsid);
  if (st == NFS3_OK) enc.string(target);
  return true;
}

}  // namespace

void register_attr_procs(ProcDesc* t) {
  t[NFSPROC3_GETATTR] = {"GETATTR", proc_getattr};
  t[NFSPROC3_SETATTR] = {"SETATTR", proc_setattr, kCacheReply};
  t[NFSPROC3_LOOKUP] = {"LOOKUP", proc_lookup};
  t[NFSPROC3_ACCESS] = {"ACCESS", proc_access};
  t[NFSPROC3_READLINK] = {"READLINK", proc_readlink};
}

}  // namespace pnfsgw::nfs3
