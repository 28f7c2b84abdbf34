// Filehandle, lookup and attribute ops: PUTFH, PUTROOTFH, PUTPUBFH, GETFH,
// SAVEFH, RESTOREFH, LOOKUP, LOOKUPP, GETATTR, SETATTR, ACCESS, VERIFY,
// NVERIFY, SECINFO, SECINFO_NO_NAME, READLINK (RFC 8881 18).
#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {
namespace {

void set_cfh(CompoundCtx& ctx, FileRef ref) {
  ctx.cfh = std::move(ref);
  ctx.cur_sid.reset();
}

nfsstat4 op_putfh(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  auto fh = dec.var_opaque(NFS4_FHSIZE);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  FileRef ref;
  nfsstat4 st = resolve_fh(ctx.core, fh, &ref);
  if (st != NFS4_OK) return st;
  set_cfh(ctx, std::move(ref));
  return NFS4_OK;
}

nfsstat4 op_putrootfh(CompoundCtx& ctx, xdr::XdrDecoder&, xdr::XdrEncoder&) {
  if (ctx.core.root_fh.empty()) return NFS4ERR_SERVERFAULT;
  set_cfh(ctx, FileRef{ctx.core.root_ino, ctx.core.root_fh});
  return NFS4_OK;
}

nfsstat4 op_getfh(CompoundCtx& ctx, xdr::XdrDecoder&, xdr::XdrEncoder& enc) {
  enc.var_opaque(ctx.cfh.fh.data(), ctx.cfh.fh.size());
  return NFS4_OK;
}

nfsstat4 op_savefh(CompoundCtx& ctx, xdr::XdrDecoder&, xdr::XdrEncoder&) {
  ctx.sfh = ctx.cfh;
  ctx.saved_sid = ctx.cur_sid;
  return NFS4_OK;
}

nfsstat4 op_restorefh(CompoundCtx& ctx, xdr::XdrDecoder&, xdr::XdrEncoder&) {
  if (!ctx.sfh.valid()) return NFS4ERR_RESTOREFH;
  ctx.cfh = ctx.sfh;
  ctx.cur_sid = ctx.saved_sid;
  return NFS4_OK;
}

nfsstat4 need_dir(CompoundCtx& ctx, backend::Attr* out) {
  auto a = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  if (a->type == backend::FileType::kSymlink) return NFS4ERR_SYMLINK;
  if (a->type != backend::FileType::kDirectory) return NFS4ERR_NOTDIR;
  if (out) *out = *a;
  return NFS4_OK;
}

nfsstat4 op_lookup(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  std::string_view name = dec.string(NFS4_OPAQUE_LIMIT);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  backend::Attr dir;
  if (nfsstat4 st = need_dir(ctx, &dir); st != NFS4_OK) return st;
  if (nfsstat4 st = check_name(name); st != NFS4_OK) return st;
  if (nfsstat4 st = require_access(ctx, dir, ACCESS4_LOOKUP); st != NFS4_OK) return st;
  auto a = ctx.core.fs->lookup(ctx.cfh.ino, name);
  if (!a) return errno_to_nfs(a.err());
  FileRef ref;
  if (nfsstat4 st = make_fileref(ctx.core, a->ino, &ref); st != NFS4_OK) return st;
  set_cfh(ctx, std::move(ref));
  return NFS4_OK;
}

nfsstat4 op_lookupp(CompoundCtx& ctx, xdr::XdrDecoder&, xdr::XdrEncoder&) {
  if (nfsstat4 st = need_dir(ctx, nullptr); st != NFS4_OK) return st;
  if (ctx.cfh.ino == ctx.core.root_ino) return NFS4ERR_NOENT;  // RFC 8881 18.14.3
  auto a = ctx.core.fs->lookup_parent(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  FileRef ref;
  if (nfsstat4 st = make_fileref(ctx.core, a->ino, &ref); st != NFS4_OK) return st;
  set_cfh(ctx, std::move(ref));
  return NFS4_OK;
}

nfsstat4 op_getattr(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  AttrBitmap req;
  req.decode(dec);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  // RFC 8881 5.5: asking to read a write-only attribute is an error.
  if (!(req & writeonly_attrs()).empty()) return NFS4ERR_INVAL;
  auto a = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  return encode_attrs_of(ctx, req, *a, ctx.cfh.fh, enc);
}

nfsstat4 op_setattr(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  backend::SetAttr sa;
  AttrBitmap mask;
  nfsstat4 st = decode_settable(dec, &sa, &mask);
  // The result always carries attrsset, empty on failure (RFC 8881 18.30).
  auto fail = [&](nfsstat4 e) {
    AttrBitmap().encode(enc);
    return e;
  };
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (st != NFS4_OK) return fail(st);
  if (sa.size) {
    if (nfsstat4 e = resolve_stateid(ctx, &sid); e != NFS4_OK) return fail(e);
    if (nfsstat4 e = ctx.core.state.check_io(sid, ctx.cfh.ino, true); e != NFS4_OK) return fail(e);
  }
  if ((st = apply_setattr(ctx, ctx.cfh.ino, sa, nullptr)) != NFS4_OK) return fail(st);
  mask.encode(enc);
  return NFS4_OK;
}

nfsstat4 op_access(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint32_t mask = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  auto a = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  constexpr uint32_t kAll = ACCESS4_READ | ACCESS4_LOOKUP | ACCESS4_MODIFY | ACCESS4_EXTEND |
                            ACCESS4_DELETE | ACCESS4_EXECUTE;
  // RFC 8881 18.1.3: report as supported only the bits that apply.
  uint32_t supported = mask & kAll;
  if (a->type == backend::FileType::kDirectory) supported &= ~ACCESS4_EXECUTE;
  else supported &= ~(ACCESS4_LOOKUP | ACCESS4_DELETE);
  enc.u32(supported);
  enc.u32(allowed_access(ctx, *a, supported));
  return NFS4_OK;
}

nfsstat4 verify_common(CompoundCtx& ctx, xdr::XdrDecoder& dec, bool want_same) {
  auto a = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  auto st = ctx.core.fs->statfs();
  if (!st) return errno_to_nfs(st.err());
  nfsstat4 r = compare_fattr(dec, attr_source(ctx, *a, ctx.cfh.fh, &*st));
  if (r == NFS4ERR_SAME) return want_same ? NFS4_OK : NFS4ERR_SAME;
  if (r == NFS4ERR_NOT_SAME) return want_same ? NFS4ERR_NOT_SAME : NFS4_OK;
  return r;
}

nfsstat4 op_verify(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  return verify_common(ctx, dec, true);
}
nfsstat4 op_nverify(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  return verify_common(ctx, dec, false);
}

void encode_secinfo(xdr::XdrEncoder& enc) {
  enc.u32(2);
  enc.u32(rpc::AUTH_SYS);
  enc.u32(rpc::AUTH_NONE);
}

nfsstat4 op_secinfo(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  std::string_view name = dec.string(NFS4_OPAQUE_LIMIT);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (nfsstat4 st = need_dir(ctx, nullptr); st != NFS4_OK) return st;
  if (nfsstat4 st = check_name(name); st != NFS4_OK) return st;
  auto a = ctx.core.fs->lookup(ctx.cfh.ino, name);
  if (!a) return errno_to_nfs(a.err());
  encode_secinfo(enc);
  if (ctx.minor > 0) ctx.cfh = FileRef{};  // RFC 8881 2.6.3.1.1.8: consumes the fh
  return NFS4_OK;
}

nfsstat4 op_secinfo_no_name(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint32_t style = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (style != SECINFO_STYLE4_CURRENT_FH && style != SECINFO_STYLE4_PARENT) return NFS4ERR_INVAL;
  if (style == SECINFO_STYLE4_PARENT) {
    if (nfsstat4 st = need_dir(ctx, nullptr); st != NFS4_OK) return st;
    if (ctx.cfh.ino == ctx.core.root_ino) return NFS4ERR_NOENT;
  }
  encode_secinfo(enc);
  ctx.cfh = FileRef{};
  return NFS4_OK;
}

nfsstat4 op_readlink(CompoundCtx& ctx, xdr::XdrDecoder&, xdr::XdrEncoder& enc) {
  auto a = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  if (a->type != backend::FileType::kSymlink) return NFS4ERR_INVAL;
  auto t = ctx.core.fs->readlink(ctx.cfh.ino);
  if (!t) return errno_to_nfs(t.err());
  enc.string(*t);
  return NFS4_OK;
}

}  // namespace

void register_fh_ops(OpDesc* t) {
  t[OP_PUTFH] = {"PUTFH", op_putfh, 0};
  t[OP_PUTROOTFH] = {"PUTROOTFH", op_putrootfh, 0};
  t[OP_PUTPUBFH] = {"PUTPUBFH", op_putrootfh, 0};
  t[OP_GETFH] = {"GETFH", op_getfh, kNeedFh};
  t[OP_SAVEFH] = {"SAVEFH", op_savefh, kNeedFh};
  t[OP_RESTOREFH] = {"RESTOREFH", op_restorefh, 0};
  t[OP_LOOKUP] = {"LOOKUP", op_lookup, kNeedFh};
  t[OP_LOOKUPP] = {"LOOKUPP", op_lookupp, kNeedFh};
  t[OP_GETATTR] = {"GETATTR", op_getattr, kNeedFh};
  t[OP_SETATTR] = {"SETATTR", op_setattr, kNeedFh};
  t[OP_ACCESS] = {"ACCESS", op_access, kNeedFh};
  t[OP_VERIFY] = {"VERIFY", op_verify, kNeedFh};
  t[OP_NVERIFY] = {"NVERIFY", op_nverify, kNeedFh};
  t[OP_SECINFO] = {"SECINFO", op_secinfo, kNeedFh};
  t[OP_SECINFO_NO_NAME] = {"SECINFO_NO_NAME", op_secinfo_no_name, kNeedFh | kMinor1};
  t[OP_READLINK] = {"READLINK", op_readlink, kNeedFh};
}

}  // namespace pnfsgw::nfs4
