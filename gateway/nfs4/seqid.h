// NFSv4.0 owner sequencing (RFC 7530 9.1.7): ops that carry an open- or
// lock-owner seqid run through with_owner_seqid(), which answers a retry
// with the cached result of the original and records new results.
#pragma once
#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {

template <typename F>
nfsstat4 with_owner_seqid(CompoundCtx& ctx, xdr::XdrEncoder& enc, uint64_t clientid,
                          const std::string& owner, bool lock_owner, uint32_t seqid, F body) {
  if (ctx.minor != 0) return body();
  std::vector<uint8_t> cached;
  switch (ctx.core.state.check_seqid(clientid, owner, lock_owner, seqid, &cached)) {
    case OpenState::SeqCheck::kBad: return NFS4ERR_BAD_SEQID;
    case OpenState::SeqCheck::kReplay: {
      if (cached.size() < 4) return NFS4ERR_BAD_SEQID;
      xdr::XdrDecoder d(cached.data(), 4);
      nfsstat4 st = static_cast<nfsstat4>(d.u32());
      enc.fixed_opaque(cached.data() + 4, cached.size() - 4);
      return st;
    }
    case OpenState::SeqCheck::kNew: break;
  }
  nfsstat4 st = body();
  if (seqid_advances(st)) {
    xdr::XdrEncoder rec;
    rec.u32(st);
    rec.fixed_opaque(enc.data() + ctx.op_body, enc.size() - ctx.op_body);
    ctx.core.state.record_seqid(clientid, owner, lock_owner, seqid, rec.take());
  }
  return st;
}

}  // namespace pnfsgw::nfs4
