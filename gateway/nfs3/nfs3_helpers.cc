// Helpers shared by the NFSv3 procedures.
#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {

nfsstat3 resolve(Nfs3Ctx& ctx, Fh3 fh, uint64_t* ino) { return ctx.core.fh.resolve(fh, ino); }

nfsstat3 make_fh(Nfs3Ctx& ctx, uint64_t ino, std::vector<uint8_t>* out) {
  auto fh = ctx.core.fh.encode(ino);
  if (!fh) return fh.err() == EOVERFLOW ? NFS3ERR_BADHANDLE : errno_to_nfs3(fh.err());
  *out = std::move(*fh);
  return NFS3_OK;
}

std::optional<backend::Attr> attr_of(Nfs3Ctx& ctx, uint64_t ino) {
  auto a = ctx.core.fs->getattr(ino);
  if (!a) return std::nullopt;
  return *a;
}

nfsstat3 dir_attr(Nfs3Ctx& ctx, uint64_t ino, backend::Attr* out) {
  auto a = ctx.core.fs->getattr(ino);
  if (!a) return errno_to_nfs3(a.err());
  *out = *a;
  return a->type == backend::FileType::kDirectory ? NFS3_OK : NFS3ERR_NOTDIR;
}

nfsstat3 check_name(std::string_view name) {
  if (name.size() > kMaxName) return NFS3ERR_NAMETOOLONG;
  if (name.empty() || name == "." || name == "..") return NFS3ERR_INVAL;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return NFS3ERR_INVAL;
  return NFS3_OK;
}

nfsstat3 require(const Nfs3Ctx& ctx, const backend::Attr& a, uint32_t want) {
  return gw::may(ctx.caller, a, want) ? NFS3_OK : NFS3ERR_ACCES;
}

}  // namespace pnfsgw::nfs3
