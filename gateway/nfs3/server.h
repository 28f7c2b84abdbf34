// The NFSv3 program (100003 v3, RFC 1813): all 22 procedures over one
// export, on the same Filesystem and with the same filehandles as the
// NFSv4 program, so v3 and v4 clients see the same files. Stateless apart
// from the write verifier and the duplicate request cache; handle() is safe
// from any thread.
#pragma once
#include <array>
#include <cstdint>
#include <memory>

#include "backend/fs.h"
#include "gateway/rpc/drc.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::nfs4 {
class FhCodec;
}

namespace pnfsgw::nfs3 {

struct Nfs3Core;

struct Nfs3Options {
  uint32_t export_id = 1;  // the fsid, and part of every handle: same as NFSv4's
  uint32_t max_read = 1u << 20;
  uint32_t max_write = 1u << 20;
  // WRITE/COMMIT verifier, shared with NFSv4 on the same export; it must
  // change at every start (RFC 1813 3.3.7). All zero: a random one.
  std::array<uint8_t, 8> write_verifier{};
  // Replies of the non-idempotent procedures, replayed to retransmits.
  rpc::DuplicateRequestCache::Options drc;
};

class Nfs3Server : public rpc::RpcProgram {
 public:
  // fs and fhc must outlive the server.
  Nfs3Server(Nfs3Options opts, backend::Filesystem* fs, const nfs4::FhCodec* fhc);
  ~Nfs3Server() override;

  uint32_t program() const override { return 100003; }
  uint32_t min_version() const override { return 3; }
  uint32_t max_version() const override { return 3; }
  rpc::Disposition handle(const rpc::CallContext& ctx, xdr::XdrDecoder& args, xdr::XdrEncoder& out,
                          rpc::AcceptStat* stat) override;
  // The procedures that only read (GETATTR, LOOKUP, ACCESS, READLINK, READ
  // of up to 64 KiB, READDIR, READDIRPLUS, FSSTAT, FSINFO, PATHCONF).
  bool runs_inline(const rpc::CallHeader& hdr, std::span<const uint8_t> args) const override;

 private:
  std::unique_ptr<Nfs3Core> core_;
  std::unique_ptr<rpc::DuplicateRequestCache> drc_;
};

}  // namespace pnfsgw::nfs3
