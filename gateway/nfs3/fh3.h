// NFSv3 filehandles: the very bytes gateway/nfs4's FhCodec makes, so a
// file is the same object to v3 and v4 clients, limited to NFS3_FHSIZE
// (64) bytes. Used by the NFSv3 program and by MOUNT.
// Immutable after construction; safe from any thread.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "backend/fs.h"
#include "common/result.h"
#include "gateway/nfs3/nfs3_const.h"
#include "gateway/nfs3/nfs3_xdr.h"

namespace pnfsgw::nfs4 {
class FhCodec;
}

namespace pnfsgw::nfs3 {

class Fh3Codec {
 public:
  // fs and fhc must outlive the codec.
  Fh3Codec(backend::Filesystem* fs, const nfs4::FhCodec* fhc, uint32_t export_id)
      : fs_(fs), fhc_(fhc), export_id_(export_id) {}

  // The handle of ino. EOVERFLOW (logged once) when it would not fit in
  // NFS3_FHSIZE bytes, else the Filesystem's errno.
  Result<std::vector<uint8_t>> encode(uint64_t ino) const;
  // The same into out (room for NFS3_FHSIZE bytes), given the layer's
  // handle of ino (Filesystem::encode_handle; fetched when empty); returns
  // the length. For READDIRPLUS: no allocation per entry.
  Result<size_t> encode_to(uint64_t ino, std::span<const uint8_t> layer_handle, uint8_t* out) const;
  // Handle -> inode id: NFS3ERR_BADHANDLE for a malformed or forged handle,
  // NFS3ERR_STALE for one whose file is gone or that belongs to another
  // export.
  nfsstat3 resolve(Fh3 fh, uint64_t* ino) const;
  // resolve(), and when it succeeds the file's attributes or the error
  // getattr() would give, in *attr (one inode read on the store).
  nfsstat3 resolve_attr(Fh3 fh, uint64_t* ino, std::optional<Result<backend::Attr>>* attr) const;

 private:
  backend::Filesystem* fs_;
  const nfs4::FhCodec* fhc_;
  uint32_t export_id_;
  mutable std::atomic<bool> logged_overflow_{false};
};

// errno (from the Filesystem) -> nfsstat3.
nfsstat3 errno_to_nfs3(int err);

}  // namespace pnfsgw::nfs3
