// Procedures that make a directory entry: CREATE, MKDIR, SYMLINK, MKNOD
// (RFC 1813 3.3.8-3.3.11). All answer with the new object's handle and
// attributes and the directory's wcc_data.
#include "gateway/common/create_verifier.h"
#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {
namespace {

// The outcome shared by the four procedures (CREATE3res and friends).
struct CreateRes {
  std::optional<backend::Attr> obj;  // the new (or, for a retry, found) object
  Wcc dir_wcc;
};

void encode_create_res(Nfs3Ctx& ctx, xdr::XdrEncoder& enc, nfsstat3 st, const CreateRes& r) {
  enc.u32(st);
  if (st == NFS3_OK) {
    std::vector<uint8_t> fh;
    // Without a handle the client LOOKUPs the name (RFC 1813 3.3.8).
    if (make_fh(ctx, r.obj->ino, &fh) != NFS3_OK) fh.clear();
    encode_post_op_fh3(enc, fh);
    encode_post_op_attr(enc, r.obj, ctx.core.fsid);
  }
  encode_wcc_data(enc, r.dir_wcc, ctx.core.fsid);
}

// Resolves and checks the directory of a new entry: it is a directory the
// caller may write and search, and the name is usable for a new entry.
nfsstat3 prepare(Nfs3Ctx& ctx, const DirOpArgs3& where, uint64_t* dino, backend::Attr* dir,
                 Wcc* wcc) {
  if (nfsstat3 st = resolve(ctx, where.dir, dino); st != NFS3_OK) return st;
  nfsstat3 st = dir_attr(ctx, *dino, dir);
  if (st == NFS3_OK || st == NFS3ERR_NOTDIR) wcc->before = wcc->after = *dir;
  if (st != NFS3_OK) return st;
  if (where.name == "." || where.name == "..") return NFS3ERR_EXIST;
  if (nfsstat3 e = check_name(where.name); e != NFS3_OK) return e;
  return require(ctx, *dir, gw::kMayWrite | gw::kMayExec);
}

// Applies the attributes of a create beyond the mode it was made with, as
// if the caller (now the owner) sent a SETATTR.
nfsstat3 apply_rest(Nfs3Ctx& ctx, backend::SetAttr sa, backend::Attr* obj) {
  sa.mode.reset();
  if (sa.empty()) return NFS3_OK;
  if (int err = gw::check_setattr(ctx.caller, *obj, &sa)) return errno_status(err);
  auto r = ctx.core.fs->setattr(obj->ino, sa);
  if (!r) return errno_status(r.err());
  *obj = *r;
  return NFS3_OK;
}

// The common end of MKDIR, SYMLINK and MKNOD: the made object with the
// rest of its attributes set (rest = nullptr: none), or the error; then
// the directory's post-op attributes.
nfsstat3 finish_made(Nfs3Ctx& ctx, const Result<backend::Attr>& made, const backend::SetAttr* rest,
                     uint64_t dino, CreateRes* r) {
  nfsstat3 st = NFS3_OK;
  if (made) {
    backend::Attr obj = *made;
    if (rest) st = apply_rest(ctx, *rest, &obj);
    r->obj = obj;
  } else {
    st = errno_status(made.err());
  }
  r->dir_wcc.after = attr_of(ctx, dino);
  return st;
}

struct CreateArgs {
  DirOpArgs3 where;
  uint32_t mode = UNCHECKED;
  backend::SetAttr sa;        // UNCHECKED, GUARDED
  gw::CreateVerifier verf{};  // EXCLUSIVE
};

nfsstat3 do_create(Nfs3Ctx& ctx, const CreateArgs& a, CreateRes* r) {
  uint64_t dino = 0;
  backend::Attr dir;
  nfsstat3 prep = prepare(ctx, a.where, &dino, &dir, &r->dir_wcc);
  const bool exclusive = a.mode != UNCHECKED;
  bool created = false;
  Result<backend::Attr> f = Status::error(EACCES);
  if (prep == NFS3ERR_ACCES && !exclusive) {
    // UNCHECKED of an existing file needs no write access to the directory.
    f = ctx.core.fs->lookup(dino, a.where.name);
    if (!f || f->type != backend::FileType::kRegular) return prep;
  } else if (prep != NFS3_OK) {
    return prep;
  } else {
    f = ctx.core.fs->create(
        dino, a.where.name, a.sa.mode.value_or(0644), gw::owner_for(ctx.caller, dir),
        exclusive ? backend::CreateMode::kExclusive : backend::CreateMode::kUnchecked, &created);
  }
  r->dir_wcc.after = attr_of(ctx, dino);
  if (!f) {
    if (f.err() != EEXIST || a.mode != EXCLUSIVE) return errno_status(f.err());
    // RFC 1813 3.3.8: a retried EXCLUSIVE create with the same verifier
    // finds its own file and succeeds.
    auto existing = ctx.core.fs->lookup(dino, a.where.name);
    if (!existing) return errno_status(existing.err());
    if (existing->type != backend::FileType::kRegular || !gw::verifier_matches(*existing, a.verf))
      return NFS3ERR_EXIST;
    r->obj = *existing;
    return NFS3_OK;
  }
  backend::Attr obj = *f;
  nfsstat3 st = NFS3_OK;
  if (a.mode == EXCLUSIVE) {
    auto t = ctx.core.fs->setattr(obj.ino, gw::verifier_times(a.verf));
    if (t)
      obj = *t;
    else
      st = errno_status(t.err());
  } else if (created) {
    st = apply_rest(ctx, a.sa, &obj);
  } else if (a.sa.size) {
    // UNCHECKED on an existing file: like open(O_TRUNC), only the size.
    backend::SetAttr sz;
    sz.size = a.sa.size;
    st = apply_rest(ctx, sz, &obj);
  }
  r->obj = obj;
  r->dir_wcc.after = attr_of(ctx, dino);
  return st;
}

bool proc_create(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  CreateArgs a;
  decode_diropargs3(dec, &a.where);
  a.mode = dec.u32();
  if (a.mode == UNCHECKED || a.mode == GUARDED) {
    decode_sattr3(dec, &a.sa);
  } else if (a.mode == EXCLUSIVE) {
    auto v = dec.fixed_opaque(NFS3_CREATEVERFSIZE);
    if (v.size() == a.verf.size()) std::copy(v.begin(), v.end(), a.verf.begin());
  } else {
    dec.fail();
  }
  if (!dec.ok()) return false;
  CreateRes r;
  encode_create_res(ctx, enc, do_create(ctx, a, &r), r);
  return true;
}

bool proc_mkdir(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  DirOpArgs3 where;
  backend::SetAttr sa;
  decode_diropargs3(dec, &where);
  decode_sattr3(dec, &sa);
  if (!dec.ok()) return false;
  CreateRes r;
  uint64_t dino = 0;
  backend::Attr dir;
  nfsstat3 st = prepare(ctx, where, &dino, &dir, &r.dir_wcc);
  if (st == NFS3_OK) {
    auto d = ctx.core.fs->mkdir(dino, where.name, sa.mode.value_or(0755),
                                gw::owner_for(ctx.caller, dir));
    st = finish_made(ctx, d, &sa, dino, &r);
  }
  encode_create_res(ctx, enc, st, r);
  return true;
}

bool proc_symlink(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  DirOpArgs3 where;
  backend::SetAttr sa;  // symlink_attributes: Linux symlinks have no mode; ignored
  decode_diropargs3(dec, &where);
  decode_sattr3(dec, &sa);
  std::string_view target = dec.string(kMaxPath);
  if (!dec.ok()) return false;
  CreateRes r;
  uint64_t dino = 0;
  backend::Attr dir;
  nfsstat3 st = prepare(ctx, where, &dino, &dir, &r.dir_wcc);
  if (st == NFS3_OK) {
    auto l = ctx.core.fs->symlink(dino, where.name, target, gw::owner_for(ctx.caller, dir));
    st = finish_made(ctx, l, nullptr, dino, &r);
  }
  encode_create_res(ctx, enc, st, r);
  return true;
}

bool proc_mknod(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  DirOpArgs3 where;
  backend::SetAttr sa;
  uint32_t major = 0, minor = 0;
  decode_diropargs3(dec, &where);
  uint32_t type = dec.u32();
  switch (type) {
    case NF3CHR:
    case NF3BLK:
      decode_sattr3(dec, &sa);
      major = dec.u32();
      minor = dec.u32();
      break;
    case NF3SOCK:
    case NF3FIFO:
      decode_sattr3(dec, &sa);
      break;
    case NF3REG:
    case NF3DIR:
    case NF3LNK:
      break;  // void arm; answered BADTYPE below
    default:
      dec.fail();
  }
  if (!dec.ok()) return false;
  CreateRes r;
  uint64_t dino = 0;
  backend::Attr dir;
  nfsstat3 st = prepare(ctx, where, &dino, &dir, &r.dir_wcc);
  backend::FileType ft = backend::FileType::kFifo;
  if (type == NF3CHR) ft = backend::FileType::kChar;
  if (type == NF3BLK) ft = backend::FileType::kBlock;
  if (type == NF3SOCK) ft = backend::FileType::kSocket;
  if (st == NFS3_OK && (type == NF3REG || type == NF3DIR || type == NF3LNK)) st = NFS3ERR_BADTYPE;
  // Device nodes need CAP_MKNOD locally; only root gets them here.
  if (st == NFS3_OK && (type == NF3CHR || type == NF3BLK) && ctx.caller.uid != 0) st = NFS3ERR_PERM;
  if (st == NFS3_OK) {
    auto n = ctx.core.fs->mknod(dino, where.name, ft, sa.mode.value_or(0644), major, minor,
                                gw::owner_for(ctx.caller, dir));
    st = finish_made(ctx, n, &sa, dino, &r);
  }
  encode_create_res(ctx, enc, st, r);
  return true;
}

}  // namespace

void register_create_procs(ProcDesc* t) {
  t[NFSPROC3_CREATE] = {"CREATE", proc_create, kCacheReply};
  t[NFSPROC3_MKDIR] = {"MKDIR", proc_mkdir, kCacheReply};
  t[NFSPROC3_SYMLINK] = {"SYMLINK", proc_symlink, kCacheReply};
  t[NFSPROC3_MKNOD] = {"MKNOD", proc_mknod, kCacheReply};
}

}  // namespace pnfsgw::nfs3
