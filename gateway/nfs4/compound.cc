// COMPOUND dispatch (RFC 8881 16.2, 18.46; RFC 7530 15.2). The loop owns the
// rules common to all ops: op-table flags, the NFSv4.1 session rules
// (SEQUENCE first, sessionless ops alone), the reply cache, reply size
// limits; handlers only do their op.
#include <openssl/rand.h>

#include "common/log.h"
#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {
namespace {

constexpr uint32_t kMaxOpsHardLimit = 128;
constexpr size_t kMaxCachedReply = 64 * 1024;

struct OpTable {
  OpDesc ops[kMaxOp + 1];
  OpTable() {
    register_session_ops(ops);
    register_fh_ops(ops);
    register_dir_ops(ops);
    register_io_ops(ops);
    register_lock_ops(ops);
    register_space_ops(ops);
    // Ops that always change the export (the space ops flag themselves).
    // OPEN changes it only when it creates or opens for writing: that check
    // is require_access() refusing write access (helpers.cc).
    for (uint32_t op : {OP_WRITE, OP_SETATTR, OP_CREATE, OP_REMOVE, OP_RENAME, OP_LINK})
      ops[op].flags |= kModifies;
    // Known ops without a handler answer NOTSUPP (docs/conformance.md).
    static const std::pair<uint32_t, const char*> kNotSupp[] = {
        {OP_DELEGPURGE, "DELEGPURGE"},
        {OP_DELEGRETURN, "DELEGRETURN"},
        {OP_OPENATTR, "OPENATTR"},
        {OP_BACKCHANNEL_CTL, "BACKCHANNEL_CTL"},
        {OP_GET_DIR_DELEGATION, "GET_DIR_DELEGATION"},
        {OP_GETDEVICEINFO, "GETDEVICEINFO"},
        {OP_GETDEVICELIST, "GETDEVICELIST"},
        {OP_LAYOUTCOMMIT, "LAYOUTCOMMIT"},
        {OP_LAYOUTGET, "LAYOUTGET"},
        {OP_LAYOUTRETURN, "LAYOUTRETURN"},
        {OP_SET_SSV, "SET_SSV"},
        {OP_WANT_DELEGATION, "WANT_DELEGATION"},
        {OP_ALLOCATE, "ALLOCATE"},
        {OP_COPY, "COPY"},
        {OP_COPY_NOTIFY, "COPY_NOTIFY"},
        {OP_DEALLOCATE, "DEALLOCATE"},
        {OP_IO_ADVISE, "IO_ADVISE"},
        {OP_LAYOUTERROR, "LAYOUTERROR"},
        {OP_LAYOUTSTATS, "LAYOUTSTATS"},
        {OP_OFFLOAD_CANCEL, "OFFLOAD_CANCEL"},
        {OP_OFFLOAD_STATUS, "OFFLOAD_STATUS"},
        {OP_READ_PLUS, "READ_PLUS"},
        {OP_SEEK, "SEEK"},
        {OP_WRITE_SAME, "WRITE_SAME"},
        {OP_CLONE, "CLONE"},
        {OP_GETXATTR, "GETXATTR"},
        {OP_SETXATTR, "SETXATTR"},
        {OP_LISTXATTRS, "LISTXATTRS"},
        {OP_REMOVEXATTR, "REMOVEXATTR"},
    };
    for (auto [op, name] : kNotSupp) {
      if (ops[op].name) continue;
      uint32_t minor = op >= OP_ALLOCATE ? kMinor2 : op >= OP_BACKCHANNEL_CTL ? kMinor1 : 0;
      ops[op] = {name, nullptr, minor};
    }
  }
};

const OpTable& op_table() {
  static const OpTable t;
  return t;
}

bool sessionless_only_op(uint32_t op) {
  return op == OP_EXCHANGE_ID || op == OP_CREATE_SESSION || op == OP_DESTROY_SESSION ||
         op == OP_BIND_CONN_TO_SESSION || op == OP_DESTROY_CLIENTID;
}

// Decides whether an op may run at position i of a compound; NFS4_OK if so.
nfsstat4 admit(const CompoundCtx& ctx, const OpDesc& d, uint32_t op, size_t i, uint32_t nops) {
  if (ctx.minor == 0) {
    if (d.flags & (kMinor1 | kMinor2)) return NFS4ERR_OP_ILLEGAL;
  } else {
    if (d.flags & kMinor0Only) return NFS4ERR_NOTSUPP;
    if ((d.flags & kMinor2) && ctx.minor < 2) return NFS4ERR_OP_ILLEGAL;
    if (i == 0) {
      if (op != OP_SEQUENCE) {
        if (!(d.flags & kSessionless)) return NFS4ERR_OP_NOT_IN_SESSION;
        if (sessionless_only_op(op) && nops != 1) return NFS4ERR_NOT_ONLY_OP;
      }
    } else if (op == OP_SEQUENCE) {
      return NFS4ERR_SEQUENCE_POS;
    } else if (!ctx.session) {
      return NFS4ERR_OP_NOT_IN_SESSION;
    }
  }
  if ((d.flags & kNeedFh) && !ctx.cfh.valid()) return NFS4ERR_NOFILEHANDLE;
  if ((d.flags & kModifies) && ctx.core.fs->read_only()) return NFS4ERR_ROFS;
  return NFS4_OK;
}

}  // namespace

Nfs4Core::Nfs4Core(Nfs4Options o, backend::Filesystem* f, const FhCodec* h)
    : opts(std::move(o)),
      fs(f),
      fhc(h),
      clients([&] {
        ClientTable::Options co;
        co.lease = opts.lease;
        co.max_request = opts.max_write + 64 * 1024;
        co.max_response = opts.max_read + 64 * 1024;
        return co;
      }()),
      state(clients.boot_id()),
      grace(opts.state_dir, opts.grace) {
  write_verifier = opts.write_verifier;
  if (write_verifier == Verifier{}) RAND_bytes(write_verifier.data(), write_verifier.size());
}

Nfs4Server::Nfs4Server(Nfs4Options opts, backend::Filesystem* fs, const FhCodec* fh)
    : core_(std::make_unique<Nfs4Core>(std::move(opts), fs, fh)) {
  core_->root_ino = fs->root();
  FileRef root;
  if (make_fileref(*core_, core_->root_ino, &root) == NFS4_OK) core_->root_fh = root.fh;
  else PLOG_ERROR("cannot make a filehandle for the export root");
  Nfs4Core* c = core_.get();
  core_->reaper = std::thread([this, c] {
    std::unique_lock<std::mutex> lk(c->reaper_mu);
    while (!c->stopping) {
      c->reaper_cv.wait_for(lk, std::chrono::seconds(1));
      if (c->stopping) break;
      lk.unlock();
      tick();
      lk.lock();
    }
  });
}

Nfs4Server::~Nfs4Server() {
  {
    std::lock_guard<std::mutex> lk(core_->reaper_mu);
    core_->stopping = true;
  }
  core_->reaper_cv.notify_all();
  if (core_->reaper.joinable()) core_->reaper.join();
}

void Nfs4Server::tick() {
  for (auto& [clientid, owner] : core_->clients.expire_idle()) {
    PLOG_INFO("client %016llx lease expired; its state is released",
              static_cast<unsigned long long>(clientid));
    core_->state.release_client(clientid);
    core_->grace.client_gone(owner);
  }
  core_->grace.in_grace();  // ends the grace period on time
}

rpc::Disposition Nfs4Server::handle(const rpc::CallContext& call, xdr::XdrDecoder& dec,
                                    xdr::XdrEncoder& out, rpc::AcceptStat* stat) {
  if (call.hdr.proc != 1) {
    *stat = rpc::PROC_UNAVAIL;
    return rpc::Disposition::kReply;
  }
  xdr::XdrDecoder peek = dec;
  peek.string(NFS4_OPAQUE_LIMIT);
  if (peek.u32() == 0 && peek.ok()) {
    return core_->drc.serve(call, dec, out, stat,
                            [&] { return handle_compound(call, dec, out, stat); });
  }
  return handle_compound(call, dec, out, stat);
}

bool Nfs4Server::runs_inline(const rpc::CallHeader& hdr, std::span<const uint8_t> args) const {
  if (hdr.proc != 1) return true;  // answered at once with PROC_UNAVAIL
  xdr::XdrDecoder d(args);
  d.string(NFS4_OPAQUE_LIMIT);
  // NFSv4.0 goes through the duplicate request cache, which may hold a
  // retransmit back; keep it off the event loop.
  if (d.u32() == 0) return false;
  uint32_t nops = d.u32();
  if (!d.ok() || nops > kMaxOpsHardLimit) return false;
  auto skip_bitmap = [&] {
    uint32_t n = d.array_len(8);
    for (uint32_t i = 0; i < n; i++) d.u32();
  };
  int writes = 0;
  for (uint32_t i = 0; i < nops && d.ok(); i++) {
    switch (d.u32()) {
      case OP_SEQUENCE:
        d.skip(NFS4_SESSIONID_SIZE + 4 * 4);  // slot, sequence, highest slot, cachethis
        break;
      case OP_PUTFH:
        d.var_opaque(NFS4_FHSIZE);
        break;
      case OP_PUTROOTFH:
      case OP_PUTPUBFH:
      case OP_GETFH:
      case OP_SAVEFH:
      case OP_RESTOREFH:
      case OP_LOOKUPP:
      case OP_READLINK:
        break;
      case OP_GETATTR:
        skip_bitmap();
        break;
      case OP_LOOKUP:
        d.string(NFS4_OPAQUE_LIMIT);
        break;
      case OP_ACCESS:
        d.u32();
        break;
      case OP_READ:
        d.skip(16 + 8);  // stateid, offset
        if (d.u32() > rpc::kInlineReadMax) return false;
        break;
      case OP_READDIR:
        d.skip(8 + 8 + 4 + 4);  // cookie, verifier, dircount, maxcount
        skip_bitmap();
        break;
      case OP_WRITE: {
        // A small UNSTABLE WRITE, which defers to the pool when the store
        // would wait (op_write). One per COMPOUND: a deferral runs the
        // COMPOUND again from the start, and a WRITE done before it would
        // be done twice.
        if (writes++ > 0) return false;
        d.skip(16 + 8);  // stateid, offset
        if (d.u32() != UNSTABLE4) return false;
        uint32_t len = d.u32();
        if (len > rpc::kInlineWriteMax) return false;
        d.skip((len + 3) & ~3u);
        break;
      }
      default:
        return false;
    }
  }
  return d.ok();
}

rpc::Disposition Nfs4Server::handle_compound(const rpc::CallContext& call, xdr::XdrDecoder& dec,
                                             xdr::XdrEncoder& out, rpc::AcceptStat* stat) {
  CompoundCtx ctx{*core_, call};
  ctx.caller = gw::caller_of(call.hdr);
  std::string_view tag = dec.string(NFS4_OPAQUE_LIMIT);
  ctx.minor = dec.u32();
  uint32_t nops = dec.u32();
  if (!dec.ok()) {
    *stat = rpc::GARBAGE_ARGS;
    return rpc::Disposition::kReply;
  }
  ctx.reply_base = out.size();
  size_t status_off = out.reserve_u32();
  out.string(tag);
  size_t count_off = out.reserve_u32();
  uint32_t nres = 0;
  nfsstat4 status = NFS4_OK;
  if (ctx.minor > 2) {
    status = NFS4ERR_MINOR_VERS_MISMATCH;
  } else if (nops > kMaxOpsHardLimit) {
    status = ctx.minor == 0 ? NFS4ERR_RESOURCE : NFS4ERR_TOO_MANY_OPS;
  }
  const OpTable& table = op_table();
  for (uint32_t i = 0; status == NFS4_OK && i < nops; i++) {
    uint32_t op = dec.u32();
    if (!dec.ok()) {
      status = NFS4ERR_BADXDR;
      break;
    }
    const OpDesc* d = op <= kMaxOp && table.ops[op].name ? &table.ops[op] : nullptr;
    const size_t resop_off = out.size();
    out.u32(d ? op : OP_ILLEGAL);
    size_t op_status_off = out.reserve_u32();
    ctx.op_body = out.size();
    nres++;
    if (!d) {
      status = NFS4ERR_OP_ILLEGAL;
    } else if (ctx.session && i >= ctx.session->fore.maxoperations) {
      status = NFS4ERR_TOO_MANY_OPS;
    } else if ((status = admit(ctx, *d, op, i, nops)) == NFS4ERR_OP_ILLEGAL) {
      // Not an op of this minor version: its result is ILLEGAL4res, since
      // that version's nfs_resop4 has no arm for it (RFC 8881 18.54).
      out.patch_u32(resop_off, OP_ILLEGAL);
    } else if (status == NFS4_OK) {
      status = d->fn ? d->fn(ctx, dec, out) : NFS4ERR_NOTSUPP;
      if (ctx.deferred) {
        // Nothing before this op changed anything but the slot (runs_inline
        // admits read-only ops and one WRITE): put it back, and the pool
        // runs the COMPOUND from the start.
        if (ctx.session) core_->clients.abandon_slot(*ctx.session, ctx.slot);
        ctx.drop_file_parts_from(ctx.reply_base);
        out.truncate(ctx.reply_base);
        return rpc::Disposition::kDefer;
      }
      if (status == NFS4_OK && !dec.ok()) {
        ctx.drop_file_parts_from(ctx.op_body);
        out.truncate(ctx.op_body);
        status = NFS4ERR_BADXDR;
      }
    }
    // A SEQUENCE retry answers with the cached reply of the original, byte
    // for byte (RFC 8881 2.10.6.1.3); the slot is not touched.
    if (ctx.replay) {
      ctx.drop_file_parts_from(ctx.reply_base);
      out.truncate(ctx.reply_base);
      out.fixed_opaque(ctx.replay->data(), ctx.replay->size());
      return rpc::Disposition::kReply;
    }
    if (ctx.session &&
        out.size() + ctx.file_bytes() - ctx.reply_base > ctx.session->fore.maxresponsesize) {
      ctx.drop_file_parts_from(ctx.op_body);
      out.truncate(ctx.op_body);
      status = NFS4ERR_REP_TOO_BIG;
    }
    // SETATTR4res carries attrsset whatever the status (RFC 8881 18.30.2),
    // also when the loop refused the op or dropped the handler's output.
    if (op == OP_SETATTR && status != NFS4_OK && out.size() == ctx.op_body) out.u32(0);
    out.patch_u32(op_status_off, status);
    if (status != NFS4_OK) {
      PLOG_DEBUG("op %s -> %u", d ? d->name : "ILLEGAL", status);
    }
  }
  out.patch_u32(status_off, status);
  out.patch_u32(count_off, nres);
  if (ctx.session) {
    size_t len = out.size() - ctx.reply_base;
    std::vector<uint8_t> reply;
    // A reply with file parts is never cached: the encoder lacks their bytes.
    bool cache = len <= kMaxCachedReply && ctx.file_bytes() == 0;
    if (cache) reply.assign(out.data() + ctx.reply_base, out.data() + out.size());
    core_->clients.finish_slot(*ctx.session, ctx.slot, cache, reply);
  }
  return rpc::Disposition::kReply;
}

}  // namespace pnfsgw::nfs4
