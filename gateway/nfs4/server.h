// The NFSv4 program (100003 v4, minor versions 0, 1 and 2): COMPOUND
// dispatch over one export. Owns the client/session table, open/lock state
// and the lease reaper thread. handle() is safe from any thread.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/fs.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::nfs4 {

class FhCodec;
struct Nfs4Core;

struct Nfs4Options {
  uint32_t export_id = 1;
  std::chrono::seconds lease{90};
  // Grace period after a restart in which clients reclaim their state
  // (RFC 8881 8.4.2). Skipped when no client held state before the restart.
  std::chrono::seconds grace{90};
  // Where client records are kept so a restarted server knows who may
  // reclaim ("" = keep nothing; no grace period then).
  std::string state_dir;
  uint32_t max_read = 1u << 20;
  uint32_t max_write = 1u << 20;
  // WRITE/COMMIT verifier, shared with the other NFS versions serving the
  // same export so UNSTABLE writes and COMMIT agree across them; it must
  // change at every start (RFC 8881 18.32.3, RFC 1813 3.3.7). All zero:
  // the server picks a random one.
  std::array<uint8_t, 8> write_verifier{};
};

class Nfs4Server : public rpc::RpcProgram {
 public:
  // fs and fh must outlive the server.
  Nfs4Server(Nfs4Options opts, backend::Filesystem* fs, const FhCodec* fh);
  ~Nfs4Server() override;

  uint32_t program() const override { return 100003; }
  uint32_t min_version() const override { return 4; }
  uint32_t max_version() const override { return 4; }
  rpc::Disposition handle(const rpc::CallContext& ctx, xdr::XdrDecoder& args,
                          xdr::XdrEncoder& out, rpc::AcceptStat* stat) override;
  // An NFSv4.1+ COMPOUND of only SEQUENCE, filehandle, GETATTR, LOOKUP(P),
  // ACCESS, READ of up to 64 KiB, READDIR and READLINK ops.
  bool runs_inline(const rpc::CallHeader& hdr, std::span<const uint8_t> args) const override;

  // Runs lease expiry once (the reaper thread calls it every second).
  void tick();

 private:
  rpc::Disposition handle_compound(const rpc::CallContext& ctx, xdr::XdrDecoder& args,
                                   xdr::XdrEncoder& out, rpc::AcceptStat* stat);
  std::unique_ptr<Nfs4Core> core_;
};

}  // namespace pnfsgw::nfs4
