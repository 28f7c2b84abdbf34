// Directory ops: CREATE, REMOVE, RENAME, LINK, READDIR (RFC 8881 18.4,
// 18.9, 18.23, 18.25, 18.26).
#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {
namespace {

constexpr uint32_t kDirModify = ACCESS4_MODIFY | ACCESS4_LOOKUP;

nfsstat4 dir_attr(CompoundCtx& ctx, const FileRef& ref, backend::Attr* out) {
  auto a = ctx.core.fs->getattr(ref.ino);
  if (!a) return errno_to_nfs(a.err());
  if (a->type != backend::FileType::kDirectory) return NFS4ERR_NOTDIR;
  *out = *a;
  return NFS4_OK;
}

uint64_t change_of(CompoundCtx& ctx, uint64_t ino) {
  auto a = ctx.core.fs->getattr(ino);
  return a ? a->change : 0;
}

// Sets what createattrs asked for beyond the mode the object was made with.
nfsstat4 apply_create_attrs(CompoundCtx& ctx, uint64_t ino, backend::SetAttr sa) {
  sa.mode.reset();
  if (sa.empty()) return NFS4_OK;
  return apply_setattr(ctx, ino, sa, nullptr);
}

nfsstat4 op_create(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint32_t type = dec.u32();
  std::string linktext;
  uint32_t major = 0, minor = 0;
  if (type == NF4LNK) {
    linktext = std::string(dec.string(4096));
  } else if (type == NF4BLK || type == NF4CHR) {
    major = dec.u32();
    minor = dec.u32();
  }
  std::string name(dec.string(NFS4_OPAQUE_LIMIT));
  backend::SetAttr sa;
  AttrBitmap mask;
  nfsstat4 ast = decode_settable(dec, &sa, &mask);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (ast != NFS4_OK) return ast;
  backend::Attr dir;
  if (nfsstat4 st = dir_attr(ctx, ctx.cfh, &dir); st != NFS4_OK) return st;
  if (nfsstat4 st = check_name(name); st != NFS4_OK) return st;
  if (nfsstat4 st = require_access(ctx, dir, kDirModify); st != NFS4_OK) return st;
  backend::Cred cred = gw::owner_for(ctx.caller, dir);
  uint32_t mode = sa.mode.value_or(type == NF4DIR ? 0755 : 0644);
  if (type == NF4DIR && (dir.mode & 02000)) mode |= 02000;
  uint64_t before = dir.change;
  Result<backend::Attr> made = Status::error(EINVAL);
  switch (type) {
    case NF4DIR: made = ctx.core.fs->mkdir(ctx.cfh.ino, name, mode, cred); break;
    case NF4LNK: made = ctx.core.fs->symlink(ctx.cfh.ino, name, linktext, cred); break;
    case NF4BLK:
      made = ctx.core.fs->mknod(ctx.cfh.ino, name, backend::FileType::kBlock, mode, major, minor, cred);
      break;
    case NF4CHR:
      made = ctx.core.fs->mknod(ctx.cfh.ino, name, backend::FileType::kChar, mode, major, minor, cred);
      break;
    case NF4SOCK:
      made = ctx.core.fs->mknod(ctx.cfh.ino, name, backend::FileType::kSocket, mode, 0, 0, cred);
      break;
    case NF4FIFO:
      made = ctx.core.fs->mknod(ctx.cfh.ino, name, backend::FileType::kFifo, mode, 0, 0, cred);
      break;
    default: return NFS4ERR_BADTYPE;  // regular files are made by OPEN
  }
  if (!made) return errno_to_nfs(made.err());
  if (type != NF4LNK) {
    if (nfsstat4 st = apply_create_attrs(ctx, made->ino, sa); st != NFS4_OK) return st;
  }
  FileRef ref;
  if (nfsstat4 st = make_fileref(ctx.core, made->ino, &ref); st != NFS4_OK) return st;
  encode_change_info(enc, before, change_of(ctx, ctx.cfh.ino));
  if (type == NF4LNK) mask.clear(FATTR4_MODE);
  mask.encode(enc);
  ctx.cfh = std::move(ref);
  ctx.cur_sid.reset();
  return NFS4_OK;
}

nfsstat4 check_sticky(CompoundCtx& ctx, const backend::Attr& dir, const backend::Attr& victim) {
  return errno_to_nfs(gw::check_sticky(ctx.caller, dir, victim));
}

nfsstat4 op_remove(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  std::string name(dec.string(NFS4_OPAQUE_LIMIT));
  if (!dec.ok()) return NFS4ERR_BADXDR;
  backend::Attr dir;
  if (nfsstat4 st = dir_attr(ctx, ctx.cfh, &dir); st != NFS4_OK) return st;
  if (nfsstat4 st = check_name(name); st != NFS4_OK) return st;
  if (nfsstat4 st = require_access(ctx, dir, kDirModify); st != NFS4_OK) return st;
  auto victim = ctx.core.fs->lookup(ctx.cfh.ino, name);
  if (!victim) return errno_to_nfs(victim.err());
  if (nfsstat4 st = check_sticky(ctx, dir, *victim); st != NFS4_OK) return st;
  Status s = victim->type == backend::FileType::kDirectory ? ctx.core.fs->rmdir(ctx.cfh.ino, name)
                                                            : ctx.core.fs->unlink(ctx.cfh.ino, name);
  if (!s) return errno_to_nfs(s.err());
  encode_change_info(enc, dir.change, change_of(ctx, ctx.cfh.ino));
  return NFS4_OK;
}

nfsstat4 op_rename(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  std::string oldname(dec.string(NFS4_OPAQUE_LIMIT));
  std::string newname(dec.string(NFS4_OPAQUE_LIMIT));
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (!ctx.sfh.valid()) return NFS4ERR_NOFILEHANDLE;
  backend::Attr src, dst;
  if (nfsstat4 st = dir_attr(ctx, ctx.sfh, &src); st != NFS4_OK) return st;
  if (nfsstat4 st = dir_attr(ctx, ctx.cfh, &dst); st != NFS4_OK) return st;
  if (nfsstat4 st = check_name(oldname); st != NFS4_OK) return st;
  if (nfsstat4 st = check_name(newname); st != NFS4_OK) return st;
  if (nfsstat4 st = require_access(ctx, src, kDirModify); st != NFS4_OK) return st;
  if (nfsstat4 st = require_access(ctx, dst, kDirModify); st != NFS4_OK) return st;
  auto victim = ctx.core.fs->lookup(ctx.sfh.ino, oldname);
  if (!victim) return errno_to_nfs(victim.err());
  if (nfsstat4 st = check_sticky(ctx, src, *victim); st != NFS4_OK) return st;
  if (auto target = ctx.core.fs->lookup(ctx.cfh.ino, newname))
    if (nfsstat4 st = check_sticky(ctx, dst, *target); st != NFS4_OK) return st;
  Status s = ctx.core.fs->rename(ctx.sfh.ino, oldname, ctx.cfh.ino, newname);
  if (!s) {
    // RFC 8881 18.26.4: a type mismatch between source and target is EXIST.
    if (s.err() == EISDIR || s.err() == ENOTDIR) return NFS4ERR_EXIST;
    return errno_to_nfs(s.err());
  }
  encode_change_info(enc, src.change, change_of(ctx, ctx.sfh.ino));
  encode_change_info(enc, dst.change, change_of(ctx, ctx.cfh.ino));
  return NFS4_OK;
}

nfsstat4 op_link(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  std::string name(dec.string(NFS4_OPAQUE_LIMIT));
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (!ctx.sfh.valid()) return NFS4ERR_NOFILEHANDLE;
  backend::Attr dir;
  if (nfsstat4 st = dir_attr(ctx, ctx.cfh, &dir); st != NFS4_OK) return st;
  if (nfsstat4 st = check_name(name); st != NFS4_OK) return st;
  auto src = ctx.core.fs->getattr(ctx.sfh.ino);
  if (!src) return errno_to_nfs(src.err());
  if (src->type == backend::FileType::kDirectory) return NFS4ERR_ISDIR;
  if (nfsstat4 st = require_access(ctx, dir, kDirModify); st != NFS4_OK) return st;
  auto r = ctx.core.fs->link(ctx.sfh.ino, ctx.cfh.ino, name);
  if (!r) return errno_to_nfs(r.err());
  encode_change_info(enc, dir.change, change_of(ctx, ctx.cfh.ino));
  return NFS4_OK;
}

// An entry's filehandle into out (room for FhCodec::kMaxSize); 0 if it
// cannot be made.
size_t entry_fh(Nfs4Core& core, const backend::DirEntryPlus& e, uint8_t* out) {
  if (e.handle.empty()) return 0;
  auto n = core.fhc->encode_to(core.opts.export_id, e.ino, e.handle, out);
  return n ? *n : 0;
}

nfsstat4 op_readdir(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint64_t cookie = dec.u64();
  auto verf = dec.fixed_opaque(NFS4_VERIFIER_SIZE);
  dec.u32();  // dircount: a hint; maxcount is the limit that matters
  uint32_t maxcount = dec.u32();
  AttrBitmap req;
  req.decode(dec);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (!(req & writeonly_attrs()).empty()) return NFS4ERR_INVAL;  // RFC 8881 5.5
  backend::Attr dir;
  if (nfsstat4 st = dir_attr(ctx, ctx.cfh, &dir); st != NFS4_OK) return st;
  if (nfsstat4 st = require_access(ctx, dir, ACCESS4_READ); st != NFS4_OK) return st;
  if (cookie == 1 || cookie == 2) return NFS4ERR_BAD_COOKIE;
  // Our cookies stay valid as the directory changes, so the verifier is
  // always zero and a non-zero one was not ours (RFC 8881 18.23.3).
  bool zero_verf = true;
  for (uint8_t b : verf) zero_verf &= b == 0;
  if (cookie != 0 && !zero_verf) return NFS4ERR_NOT_SAME;

  size_t start = enc.size();
  size_t limit = maxcount;
  if (ctx.session)
    limit = std::min<size_t>(limit, ctx.session->fore.maxresponsesize - (start - ctx.reply_base) - 16);
  if (limit < 32) return NFS4ERR_TOOSMALL;
  // What every entry shares: the fs-wide attributes, statfs, the encoders.
  std::optional<backend::FsStat> fsstat;
  if (needs_fsstat(req)) {
    auto r = ctx.core.fs->statfs();
    if (!r) return errno_to_nfs(r.err());
    fsstat = *r;
  }
  AttrSource src = attr_source(ctx, dir, {}, fsstat ? &*fsstat : nullptr);
  const FattrEncoder fattr(req, ctx.minor);
  const bool want_fh = req.test(FATTR4_FILEHANDLE);
  enc.u64(0);  // cookieverf
  bool eof = false;
  size_t entries = 0;
  bool full = false;
  Status st = ctx.core.fs->readdir_plus(
      ctx.cfh.ino, cookie, true,
      [&](const backend::DirEntryPlus& e) {
        if (!e.attr) return true;  // removed since listed
        uint8_t fh[FhCodec::kMaxSize];
        size_t fh_len = 0;
        if (want_fh && (fh_len = entry_fh(ctx.core, e, fh)) == 0) return true;
        size_t mark = enc.size();
        enc.u32(1);  // value_follows
        enc.u64(e.cookie);
        enc.string(e.name);
        src.attr = e.attr;
        src.fh = {fh, fh_len};
        src.mounted_on_fileid = e.attr->ino;
        fattr.encode(src, enc);
        if (enc.size() - start + 8 > limit) {  // + list end and eof
          enc.truncate(mark);
          full = true;
          return false;
        }
        entries++;
        return true;
      },
      &eof);
  if (!st) return errno_to_nfs(st.err());
  if (entries == 0 && full) {
    enc.truncate(start);
    return NFS4ERR_TOOSMALL;
  }
  enc.u32(0);  // no more entries
  enc.boolean(eof);
  return NFS4_OK;
}

}  // namespace

void register_dir_ops(OpDesc* t) {
  t[OP_CREATE] = {"CREATE", op_create, kNeedFh};
  t[OP_REMOVE] = {"REMOVE", op_remove, kNeedFh};
  t[OP_RENAME] = {"RENAME", op_rename, kNeedFh};
  t[OP_LINK] = {"LINK", op_link, kNeedFh};
  t[OP_READDIR] = {"READDIR", op_readdir, kNeedFh};
}

}  // namespace pnfsgw::nfs4
