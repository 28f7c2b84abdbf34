// The NFSv3 dispatcher: one table row per procedure (RFC 1813 3.3).
#include <random>

#include "common/log.h"
#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {
namespace {

bool proc_null(Nfs3Ctx&, xdr::XdrDecoder&, xdr::XdrEncoder&) { return true; }

struct ProcTable {
  ProcDesc procs[kNumProcs];
  ProcTable() {
    procs[NFSPROC3_NULL] = {"NULL", proc_null};
    register_attr_procs(procs);
    register_io_procs(procs);
    register_create_procs(procs);
    register_names_procs(procs);
    register_readdir_procs(procs);
    register_fs_procs(procs);
    // The procedures that change the export, with the size of their failure
    // body in (absent-attribute) words, RFC 1813 3.3: wcc_data is two
    // booleans; RENAME has two of them; LINK a post_op_attr and a wcc_data.
    static const std::pair<uint32_t, uint8_t> kModifying[] = {
        {NFSPROC3_SETATTR, 2}, {NFSPROC3_WRITE, 2},  {NFSPROC3_CREATE, 2},
        {NFSPROC3_MKDIR, 2},   {NFSPROC3_SYMLINK, 2}, {NFSPROC3_MKNOD, 2},
        {NFSPROC3_REMOVE, 2},  {NFSPROC3_RMDIR, 2},  {NFSPROC3_RENAME, 4},
        {NFSPROC3_LINK, 3},
    };
    for (auto [proc, words] : kModifying) procs[proc].rofs_fail_words = words;
  }
};

const ProcTable& table() {
  static const ProcTable t;
  return t;
}

std::array<uint8_t, 8> random_verifier() {
  std::random_device rd;
  std::array<uint8_t, 8> v{};
  for (auto& b : v) b = static_cast<uint8_t>(rd());
  return v;
}

}  // namespace

Nfs3Server::Nfs3Server(Nfs3Options opts, backend::Filesystem* fs, const nfs4::FhCodec* fhc) {
  if (opts.write_verifier == std::array<uint8_t, 8>{}) opts.write_verifier = random_verifier();
  drc_ = std::make_unique<rpc::DuplicateRequestCache>(opts.drc);
  core_ = std::make_unique<Nfs3Core>(opts, fs, fhc);
}

Nfs3Server::~Nfs3Server() = default;

rpc::Disposition Nfs3Server::handle(const rpc::CallContext& call, xdr::XdrDecoder& args,
                                    xdr::XdrEncoder& out, rpc::AcceptStat* stat) {
  const uint32_t proc = call.hdr.proc;
  if (proc >= kNumProcs || !table().procs[proc].fn) {
    *stat = rpc::PROC_UNAVAIL;
    return rpc::Disposition::kReply;
  }
  const ProcDesc& d = table().procs[proc];
  Nfs3Ctx ctx{*core_, call, gw::caller_of(call.hdr)};
  PLOG_DEBUG("nfs3: xid %08x %s uid %u", call.hdr.xid, d.name, ctx.caller.uid);
  auto run = [&] {
    if (d.rofs_fail_words && core_->fs->read_only()) {
      out.u32(NFS3ERR_ROFS);
      for (uint8_t i = 0; i < d.rofs_fail_words; i++) out.boolean(false);
      *stat = rpc::SUCCESS;
      return rpc::Disposition::kReply;
    }
    *stat = d.fn(ctx, args, out) ? rpc::SUCCESS : rpc::GARBAGE_ARGS;
    return ctx.deferred ? rpc::Disposition::kDefer : rpc::Disposition::kReply;
  };
  return d.cache_reply ? drc_->serve(call, args, out, stat, run) : run();
}

bool Nfs3Server::runs_inline(const rpc::CallHeader& hdr, std::span<const uint8_t> args) const {
  switch (hdr.proc) {
    case NFSPROC3_GETATTR:
    case NFSPROC3_LOOKUP:
    case NFSPROC3_ACCESS:
    case NFSPROC3_READLINK:
    case NFSPROC3_READDIR:
    case NFSPROC3_READDIRPLUS:
    case NFSPROC3_FSSTAT:
    case NFSPROC3_FSINFO:
    case NFSPROC3_PATHCONF:
      return true;
    case NFSPROC3_READ: {
      // A large READ takes long (rpc::kInlineReadMax): it goes to the pool
      // so that it does not hold up the other connections of its event loop.
      xdr::XdrDecoder d(args);
      d.var_opaque(NFS3_FHSIZE);
      d.u64();
      return d.u32() <= rpc::kInlineReadMax && d.ok();
    }
    case NFSPROC3_WRITE: {
      // A small UNSTABLE WRITE over blocks the file has is a copy into the
      // page cache; the procedure defers to the pool when it would be more
      // (procs_io.cc). DATA_SYNC and FILE_SYNC always wait for the device.
      xdr::XdrDecoder d(args);
      d.var_opaque(NFS3_FHSIZE);
      d.u64();
      const uint32_t count = d.u32();
      const uint32_t stable = d.u32();
      return d.ok() && stable == UNSTABLE && count <= rpc::kInlineWriteMax;
    }
    default:
      return false;
  }
}

}  // namespace pnfsgw::nfs3
