// Helpers shared by the op handlers: errno mapping, filehandles, names,
// permissions, stateids, attributes.
#include <algorithm>
#include <cstring>

#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {

nfsstat4 errno_to_nfs(int err) {
  switch (err) {
    case 0: return NFS4_OK;
    case EPERM: return NFS4ERR_PERM;
    case ENOENT: return NFS4ERR_NOENT;
    case EIO: return NFS4ERR_IO;
    case ENXIO: return NFS4ERR_NXIO;
    case EACCES: return NFS4ERR_ACCESS;
    case EEXIST: return NFS4ERR_EXIST;
    case EXDEV: return NFS4ERR_XDEV;
    case ENOTDIR: return NFS4ERR_NOTDIR;
    case EISDIR: return NFS4ERR_ISDIR;
    case EINVAL: return NFS4ERR_INVAL;
    case EFBIG: return NFS4ERR_FBIG;
    case ENOSPC: return NFS4ERR_NOSPC;
    case EROFS: return NFS4ERR_ROFS;
    case EMLINK: return NFS4ERR_MLINK;
    case ENAMETOOLONG: return NFS4ERR_NAMETOOLONG;
    case ENOTEMPTY: return NFS4ERR_NOTEMPTY;
    case EDQUOT: return NFS4ERR_DQUOT;
    case ESTALE: return NFS4ERR_STALE;
    case ELOOP: return NFS4ERR_SYMLINK;
    case ENOTSUP: return NFS4ERR_NOTSUPP;
    case EAGAIN: return NFS4ERR_DELAY;
    case ETXTBSY: return NFS4ERR_FILE_OPEN;
    case EBADF: return NFS4ERR_OPENMODE;
    case EOVERFLOW: return NFS4ERR_INVAL;
    default: return NFS4ERR_SERVERFAULT;
  }
}

nfsstat4 make_fileref(Nfs4Core& core, uint64_t ino, FileRef* out) {
  auto layer = core.fs->encode_handle(ino);
  if (!layer) return errno_to_nfs(layer.err());
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(layer->data()),
                                        layer->size());
  auto fh = core.fhc->encode(core.opts.export_id, ino, bytes);
  if (!fh) return NFS4ERR_SERVERFAULT;
  out->ino = ino;
  out->fh = std::move(*fh);
  return NFS4_OK;
}

nfsstat4 resolve_fh(Nfs4Core& core, std::span<const uint8_t> fh, FileRef* out) {
  FhCodec::Decoded d;
  if (!core.fhc->decode(fh, &d)) return NFS4ERR_BADHANDLE;
  // A well-formed handle of another export (or an older export id) is stale.
  if (d.export_id != core.opts.export_id) return NFS4ERR_STALE;
  auto ino = core.fs->resolve_handle(d.layer_handle);
  if (!ino) return ino.err() == EINVAL ? NFS4ERR_BADHANDLE : NFS4ERR_STALE;
  if (*ino != d.ino) return NFS4ERR_STALE;
  out->ino = d.ino;
  out->fh.assign(fh.begin(), fh.end());
  return NFS4_OK;
}

nfsstat4 check_name(std::string_view name) {
  if (name.empty()) return NFS4ERR_INVAL;
  if (name.size() > 255) return NFS4ERR_NAMETOOLONG;
  if (name == "." || name == "..") return NFS4ERR_BADNAME;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return NFS4ERR_BADCHAR;
  return NFS4_OK;
}

namespace {
constexpr uint32_t kWriteAccess = ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_DELETE | ACCESS4_XAWRITE;
}  // namespace

uint32_t allowed_access(const CompoundCtx& ctx, const backend::Attr& a, uint32_t mask) {
  const bool dir = a.type == backend::FileType::kDirectory;
  const uint32_t bits = gw::allowed_bits(ctx.caller, a);
  uint32_t ok = 0;
  if (bits & gw::kMayRead) ok |= ACCESS4_READ | ACCESS4_XAREAD | ACCESS4_XALIST;
  if (bits & gw::kMayWrite)
    ok |= ACCESS4_MODIFY | ACCESS4_EXTEND | ACCESS4_XAWRITE | (dir ? ACCESS4_DELETE : 0);
  if (bits & gw::kMayExec) ok |= dir ? ACCESS4_LOOKUP : ACCESS4_EXECUTE;
  // Nothing is writable on a read-only store, whatever the mode bits say.
  if (ctx.core.fs->read_only()) ok &= ~kWriteAccess;
  return ok & mask;
}

nfsstat4 require_access(const CompoundCtx& ctx, const backend::Attr& a, uint32_t mask) {
  // OPEN with create or for writing lands here (the COMPOUND loop turns
  // away the ops that always modify): NFS4ERR_ROFS, not ACCESS.
  if ((mask & kWriteAccess) && ctx.core.fs->read_only()) return NFS4ERR_ROFS;
  return allowed_access(ctx, a, mask) == mask ? NFS4_OK : NFS4ERR_ACCESS;
}

void decode_stateid(xdr::XdrDecoder& dec, Stateid4* sid) {
  sid->seqid = dec.u32();
  auto o = dec.fixed_opaque(NFS4_OTHER_SIZE);
  if (o.size() == NFS4_OTHER_SIZE) memcpy(sid->other.data(), o.data(), NFS4_OTHER_SIZE);
}

void encode_stateid(xdr::XdrEncoder& enc, const Stateid4& sid) {
  enc.u32(sid.seqid);
  enc.fixed_opaque(sid.other.data(), sid.other.size());
}

nfsstat4 resolve_stateid(CompoundCtx& ctx, Stateid4* sid) {
  if (ctx.minor == 0 || !sid->is_current()) return NFS4_OK;
  if (!ctx.cur_sid) return NFS4ERR_BAD_STATEID;
  *sid = *ctx.cur_sid;
  return NFS4_OK;
}

void encode_change_info(xdr::XdrEncoder& enc, uint64_t before, uint64_t after) {
  enc.boolean(true);  // atomic: taken around a single backend call
  enc.u64(before);
  enc.u64(after);
}

AttrSource attr_source(CompoundCtx& ctx, const backend::Attr& a, std::span<const uint8_t> fh,
                       const backend::FsStat* st) {
  AttrSource s;
  s.attr = &a;
  s.fsstat = st;
  s.fh = fh;
  s.fsid_major = ctx.core.opts.export_id;
  s.fsid_minor = 0;
  s.lease_time = ctx.core.clients.lease_seconds();
  s.minor_version = ctx.minor;
  s.mounted_on_fileid = a.ino;
  s.max_read = ctx.core.opts.max_read;
  s.max_write = ctx.core.opts.max_write;
  return s;
}

nfsstat4 encode_attrs_of(CompoundCtx& ctx, const AttrBitmap& req, const backend::Attr& a,
                         std::span<const uint8_t> fh, xdr::XdrEncoder& enc) {
  std::optional<backend::FsStat> st;
  if (needs_fsstat(req)) {
    auto r = ctx.core.fs->statfs();
    if (!r) return errno_to_nfs(r.err());
    st = *r;
  }
  encode_fattr(req, attr_source(ctx, a, fh, st ? &*st : nullptr), enc);
  return NFS4_OK;
}

nfsstat4 apply_setattr(CompoundCtx& ctx, uint64_t ino, const backend::SetAttr& sa,
                       backend::Attr* after) {
  auto cur = ctx.core.fs->getattr(ino);
  if (!cur) return errno_to_nfs(cur.err());
  backend::SetAttr eff = sa;
  if (int err = gw::check_setattr(ctx.caller, *cur, &eff)) return errno_to_nfs(err);
  auto r = ctx.core.fs->setattr(ino, eff);
  if (!r) return errno_to_nfs(r.err());
  if (after) *after = *r;
  return NFS4_OK;
}

}  // namespace pnfsgw::nfs4
