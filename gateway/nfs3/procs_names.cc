// Procedures that remove or add names of existing objects: REMOVE, RMDIR,
// RENAME, LINK (RFC 1813 3.3.12-3.3.15).
#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {
namespace {

// A directory the caller may change: resolved, a directory, writable and
// searchable. wcc->before/after are set as soon as its attributes are known.
nfsstat3 writable_dir(Nfs3Ctx& ctx, Fh3 fh, uint64_t* dino, backend::Attr* dir, Wcc* wcc) {
  if (nfsstat3 st = resolve(ctx, fh, dino); st != NFS3_OK) return st;
  nfsstat3 st = dir_attr(ctx, *dino, dir);
  if (st == NFS3_OK || st == NFS3ERR_NOTDIR) wcc->before = wcc->after = *dir;
  if (st != NFS3_OK) return st;
  return require(ctx, *dir, gw::kMayWrite | gw::kMayExec);
}

// The entry about to be removed or renamed, with the sticky-bit rule.
nfsstat3 victim_of(Nfs3Ctx& ctx, uint64_t dino, const backend::Attr& dir, std::string_view name,
                   backend::Attr* out) {
  auto v = ctx.core.fs->lookup(dino, name);
  if (!v) return errno_status(v.err());
  if (int err = gw::check_sticky(ctx.caller, dir, *v)) return errno_status(err);
  *out = *v;
  return NFS3_OK;
}

nfsstat3 do_remove(Nfs3Ctx& ctx, const DirOpArgs3& a, bool rmdir, Wcc* wcc) {
  uint64_t dino = 0;
  backend::Attr dir, victim;
  if (nfsstat3 st = writable_dir(ctx, a.dir, &dino, &dir, wcc); st != NFS3_OK) return st;
  if (rmdir && a.name == "..") return NFS3ERR_NOTEMPTY;  // as rmdir(2)
  if (nfsstat3 st = check_name(a.name); st != NFS3_OK) return st;
  if (nfsstat3 st = victim_of(ctx, dino, dir, a.name, &victim); st != NFS3_OK) return st;
  const bool is_dir = victim.type == backend::FileType::kDirectory;
  if (rmdir && !is_dir) return NFS3ERR_NOTDIR;
  if (!rmdir && is_dir) return NFS3ERR_ISDIR;
  Status s = rmdir ? ctx.core.fs->rmdir(dino, a.name) : ctx.core.fs->unlink(dino, a.name);
  wcc->after = attr_of(ctx, dino);
  return s ? NFS3_OK : errno_status(s.err());
}

bool remove_common(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc, bool rmdir) {
  DirOpArgs3 a;
  decode_diropargs3(dec, &a);
  if (!dec.ok()) return false;
  Wcc wcc;
  nfsstat3 st = do_remove(ctx, a, rmdir, &wcc);
  enc.u32(st);
  encode_wcc_data(enc, wcc, ctx.core.fsid);
  return true;
}

bool proc_remove(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  return remove_common(ctx, dec, enc, false);
}

bool proc_rmdir(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  return remove_common(ctx, dec, enc, true);
}

nfsstat3 do_rename(Nfs3Ctx& ctx, const DirOpArgs3& from, const DirOpArgs3& to, Wcc* from_wcc,
                   Wcc* to_wcc) {
  uint64_t sdino = 0, ddino = 0;
  backend::Attr sdir, ddir, victim;
  if (nfsstat3 st = writable_dir(ctx, from.dir, &sdino, &sdir, from_wcc); st != NFS3_OK) return st;
  if (nfsstat3 st = writable_dir(ctx, to.dir, &ddino, &ddir, to_wcc); st != NFS3_OK) return st;
  if (nfsstat3 st = check_name(from.name); st != NFS3_OK) return st;
  if (nfsstat3 st = check_name(to.name); st != NFS3_OK) return st;
  if (nfsstat3 st = victim_of(ctx, sdino, sdir, from.name, &victim); st != NFS3_OK) return st;
  if (auto target = ctx.core.fs->lookup(ddino, to.name))
    if (int err = gw::check_sticky(ctx.caller, ddir, *target)) return errno_status(err);
  // Moving a directory to another parent rewrites its "..": that needs
  // write permission on the directory itself, as rename(2) does.
  if (victim.type == backend::FileType::kDirectory && sdino != ddino &&
      !gw::may(ctx.caller, victim, gw::kMayWrite))
    return NFS3ERR_ACCES;
  Status s = ctx.core.fs->rename(sdino, from.name, ddino, to.name);
  from_wcc->after = attr_of(ctx, sdino);
  to_wcc->after = attr_of(ctx, ddino);
  if (s) return NFS3_OK;
  // RFC 1813 3.3.14: a directory and a non-directory are incompatible.
  if (s.err() == EISDIR || s.err() == ENOTDIR) return NFS3ERR_EXIST;
  return errno_status(s.err());
}

bool proc_rename(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  DirOpArgs3 from, to;
  decode_diropargs3(dec, &from);
  decode_diropargs3(dec, &to);
  if (!dec.ok()) return false;
  Wcc from_wcc, to_wcc;
  nfsstat3 st = do_rename(ctx, from, to, &from_wcc, &to_wcc);
  enc.u32(st);
  encode_wcc_data(enc, from_wcc, ctx.core.fsid);
  encode_wcc_data(enc, to_wcc, ctx.core.fsid);
  return true;
}

nfsstat3 do_link(Nfs3Ctx& ctx, Fh3 file, const DirOpArgs3& link,
                 std::optional<backend::Attr>* file_attr, Wcc* wcc) {
  uint64_t ino = 0, dino = 0;
  backend::Attr dir;
  if (nfsstat3 st = resolve(ctx, file, &ino); st != NFS3_OK) return st;
  *file_attr = attr_of(ctx, ino);
  if (!*file_attr) return NFS3ERR_STALE;
  if (nfsstat3 st = writable_dir(ctx, link.dir, &dino, &dir, wcc); st != NFS3_OK) return st;
  if (link.name == "." || link.name == "..") return NFS3ERR_EXIST;
  if (nfsstat3 st = check_name(link.name); st != NFS3_OK) return st;
  // link(2) refuses directories with EPERM.
  if ((*file_attr)->type == backend::FileType::kDirectory) return NFS3ERR_PERM;
  auto r = ctx.core.fs->link(ino, dino, link.name);
  wcc->after = attr_of(ctx, dino);
  if (!r) return errno_status(r.err());
  *file_attr = *r;
  return NFS3_OK;
}

bool proc_link(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Fh3 file = decode_fh3(dec);
  DirOpArgs3 link;
  decode_diropargs3(dec, &link);
  if (!dec.ok()) return false;
  std::optional<backend::Attr> file_attr;
  Wcc wcc;
  nfsstat3 st = do_link(ctx, file, link, &file_attr, &wcc);
  enc.u32(st);
  encode_post_op_attr(enc, file_attr, ctx.core.fsid);
  encode_wcc_data(enc, wcc, ctx.core.fsid);
  return true;
}

}  // namespace

void register_names_procs(ProcDesc* t) {
  t[NFSPROC3_REMOVE] = {"REMOVE", proc_remove, kCacheReply};
  t[NFSPROC3_RMDIR] = {"RMDIR", proc_rmdir, kCacheReply};
  t[NFSPROC3_RENAME] = {"RENAME", proc_rename, kCacheReply};
  t[NFSPROC3_LINK] = {"LINK", proc_link, kCacheReply};
}

}  // namespace pnfsgw::nfs3
