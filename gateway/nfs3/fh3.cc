#include "gateway/nfs3/fh3.h"

#include "common/log.h"
#include "gateway/nfs4/filehandle.h"

namespace pnfsgw::nfs3 {

Result<std::vector<uint8_t>> Fh3Codec::encode(uint64_t ino) const {
  uint8_t buf[nfs4::FhCodec::kMaxSize];
  auto n = encode_to(ino, {}, buf);
  if (!n) return n.status();
  return std::vector<uint8_t>(buf, buf + *n);
}

Result<size_t> Fh3Codec::encode_to(uint64_t ino, std::span<const uint8_t> layer_handle,
                                   uint8_t* out) const {
  std::string fetched;
  if (layer_handle.empty()) {
    auto layer = fs_->encode_handle(ino);
    if (!layer) return layer.status();
    fetched = std::move(*layer);
    layer_handle = {reinterpret_cast<const uint8_t*>(fetched.data()), fetched.size()};
  }
  if (layer_handle.size() > nfs4::FhCodec::kMaxLayerHandle) return Status::error(EINVAL);
  if (nfs4::FhCodec::kHeader + layer_handle.size() + nfs4::FhCodec::kMacLen > NFS3_FHSIZE) {
    if (!logged_overflow_.exchange(true))
      PLOG_ERROR("nfs3: filehandle of inode %llu is %zu bytes, more than NFSv3 allows (%u)",
                 static_cast<unsigned long long>(ino),
                 nfs4::FhCodec::kHeader + layer_handle.size() + nfs4::FhCodec::kMacLen,
                 NFS3_FHSIZE);
    return Status::error(EOVERFLOW);
  }
  return fhc_->encode_to(export_id_, ino, layer_handle, out);
}

nfsstat3 Fh3Codec::resolve(Fh3 fh, uint64_t* ino) const { return resolve_attr(fh, ino, nullptr); }

nfsstat3 Fh3Codec::resolve_attr(Fh3 fh, uint64_t* ino,
                                std::optional<Result<backend::Attr>>* attr) const {
  nfs4::FhCodec::Decoded d;
  if (!fhc_->decode(fh, &d)) return NFS3ERR_BADHANDLE;
  // A well-formed handle of another export (or an older export id) is stale.
  if (d.export_id != export_id_) return NFS3ERR_STALE;
  std::optional<Result<backend::Attr>> got;
  auto r = attr ? fs_->resolve_handle_attr(d.layer_handle, &got) : fs_->resolve_handle(d.layer_handle);
  if (!r) return r.err() == EINVAL ? NFS3ERR_BADHANDLE : NFS3ERR_STALE;
  if (*r != d.ino) return NFS3ERR_STALE;
  *ino = d.ino;
  if (attr) *attr = std::move(got);
  return NFS3_OK;
}

nfsstat3 errno_to_nfs3(int err) {
  switch (err) {
    case 0:
      return NFS3_OK;
    case EPERM:
      return NFS3ERR_PERM;
    case ENOENT:
      return NFS3ERR_NOENT;
    case EIO:
      return NFS3ERR_IO;
    case ENXIO:
      return NFS3ERR_NXIO;
    case EACCES:
      return NFS3ERR_ACCES;
    case ETXTBSY:
      return NFS3ERR_ACCES;
    case EEXIST:
      return NFS3ERR_EXIST;
    case EXDEV:
      return NFS3ERR_XDEV;
    case ENODEV:
      return NFS3ERR_NODEV;
    case ENOTDIR:
      return NFS3ERR_NOTDIR;
    case EISDIR:
      return NFS3ERR_ISDIR;
    case EINVAL:
      return NFS3ERR_INVAL;
    case ELOOP:
      return NFS3ERR_INVAL;
    case EOVERFLOW:
      return NFS3ERR_INVAL;
    case EFBIG:
      return NFS3ERR_FBIG;
    case ENOSPC:
      return NFS3ERR_NOSPC;
    case EROFS:
      return NFS3ERR_ROFS;
    case EMLINK:
      return NFS3ERR_MLINK;
    case ENAMETOOLONG:
      return NFS3ERR_NAMETOOLONG;
    case ENOTEMPTY:
      return NFS3ERR_NOTEMPTY;
    case EDQUOT:
      return NFS3ERR_DQUOT;
    case ESTALE:
      return NFS3ERR_STALE;
    case ENOTSUP:
      return NFS3ERR_NOTSUPP;
    case EAGAIN:
    case EMFILE:
    case ENFILE:
      return NFS3ERR_JUKEBOX;  // transient: the client retries later
    default:
      return NFS3ERR_SERVERFAULT;
  }
}

}  // namespace pnfsgw::nfs3
