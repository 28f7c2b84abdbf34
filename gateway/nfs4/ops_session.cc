// Client and session ops: EXCHANGE_ID, CREATE_SESSION, SEQUENCE,
// DESTROY_SESSION, DESTROY_CLIENTID, BIND_CONN_TO_SESSION,
// RECLAIM_COMPLETE (RFC 8881 18.34-18.37, 18.46, 18.50, 18.51), and the
// NFSv4.0 SETCLIENTID, SETCLIENTID_CONFIRM, RENEW (RFC 7530 16.24, 16.33,
// 16.34).
#include <unistd.h>

#include <cstring>

#include "common/log.h"
#include "gateway/nfs4/callback.h"
#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {
namespace {

constexpr char kServerOwner[] = "pnfsgw";
constexpr char kImplDomain[] = "pnfsgw.invalid";
constexpr char kImplName[] = "pnfsgw 0.1";

uint32_t principal_uid(const CompoundCtx& ctx) {
  return ctx.call.hdr.flavor == rpc::AUTH_SYS ? ctx.call.hdr.sys.uid : 65534;
}

void skip_bitmap(xdr::XdrDecoder& dec) {
  uint32_t n = dec.array_len(8);
  for (uint32_t i = 0; i < n; i++) dec.u32();
}

void decode_channel_attrs(xdr::XdrDecoder& dec, ChannelAttrs* a) {
  a->headerpadsize = dec.u32();
  a->maxrequestsize = dec.u32();
  a->maxresponsesize = dec.u32();
  a->maxresponsesize_cached = dec.u32();
  a->maxoperations = dec.u32();
  a->maxrequests = dec.u32();
  uint32_t nird = dec.array_len(1);
  for (uint32_t i = 0; i < nird; i++) dec.u32();
}

void encode_channel_attrs(xdr::XdrEncoder& enc, const ChannelAttrs& a) {
  enc.u32(a.headerpadsize);
  enc.u32(a.maxrequestsize);
  enc.u32(a.maxresponsesize);
  enc.u32(a.maxresponsesize_cached);
  enc.u32(a.maxoperations);
  enc.u32(a.maxrequests);
  enc.u32(0);  // ca_rdma_ird<1>: none
}

nfsstat4 op_exchange_id(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Verifier verf{};
  auto v = dec.fixed_opaque(NFS4_VERIFIER_SIZE);
  if (v.size() == verf.size()) memcpy(verf.data(), v.data(), verf.size());
  std::string owner(dec.string(NFS4_OPAQUE_LIMIT));
  uint32_t flags = dec.u32();
  uint32_t how = dec.u32();
  if (how == SP4_MACH_CRED) {
    skip_bitmap(dec);  // spo_must_enforce
    skip_bitmap(dec);  // spo_must_allow
  } else if (how != SP4_NONE) {
    return dec.ok() ? NFS4ERR_ENCR_ALG_UNSUPP : NFS4ERR_BADXDR;  // SP4_SSV
  }
  uint32_t nimpl = dec.array_len(1);
  for (uint32_t i = 0; i < nimpl; i++) {
    dec.string(NFS4_OPAQUE_LIMIT);
    dec.string(NFS4_OPAQUE_LIMIT);
    dec.u64();
    dec.u32();
  }
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (owner.empty()) return NFS4ERR_INVAL;
  // RFC 8881 18.35.3: unknown flag bits are an error.
  const uint32_t known = EXCHGID4_FLAG_SUPP_MOVED_REFER | EXCHGID4_FLAG_SUPP_MOVED_MIGR |
                         EXCHGID4_FLAG_BIND_PRINC_STATEID | EXCHGID4_FLAG_MASK_PNFS |
                         EXCHGID4_FLAG_UPD_CONFIRMED_REC_A;
  if (flags & ~known) return NFS4ERR_INVAL;
  ExchangeIdResult r;
  nfsstat4 st = ctx.core.clients.exchange_id(owner, verf, flags, principal_uid(ctx), &r);
  if (st != NFS4_OK) return st;
  enc.u64(r.clientid);
  enc.u32(r.sequenceid);
  enc.u32(r.flags);
  // We enforce nothing beyond SP4_NONE; a MACH_CRED request is answered
  // with empty op sets (RFC 8881 18.35.4 allows the server to choose).
  enc.u32(how);
  if (how == SP4_MACH_CRED) {
    enc.u32(0);
    enc.u32(0);
  }
  enc.u64(0);                                  // so_minor_id
  enc.string(kServerOwner);                    // so_major_id
  enc.string(kServerOwner);                    // server scope
  enc.u32(1);                                  // server_impl_id<1>
  enc.string(kImplDomain);
  enc.string(kImplName);
  enc.u64(0);
  enc.u32(0);
  return NFS4_OK;
}

nfsstat4 op_create_session(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint64_t clientid = dec.u64();
  uint32_t sequence = dec.u32();
  uint32_t flags = dec.u32();
  ChannelAttrs fore, back;
  decode_channel_attrs(dec, &fore);
  decode_channel_attrs(dec, &back);
  uint32_t cb_program = dec.u32();
  uint32_t nsec = dec.array_len(16);
  std::optional<rpc::AuthSysParams> cb_sys;
  bool cb_none = false;
  for (uint32_t i = 0; i < nsec; i++) {
    uint32_t flavor = dec.u32();
    if (flavor == rpc::AUTH_NONE) {
      cb_none = true;
    } else if (flavor == rpc::AUTH_SYS) {
      rpc::AuthSysParams p;
      p.stamp = dec.u32();
      p.machine = std::string(dec.string(rpc::kMaxMachineName));
      p.uid = dec.u32();
      p.gid = dec.u32();
      uint32_t ng = dec.array_len(rpc::kMaxAuthSysGids);
      for (uint32_t g = 0; g < ng; g++) p.gids.push_back(dec.u32());
      if (!cb_sys) cb_sys = p;
    } else if (flavor == RPCSEC_GSS) {
      dec.u32();
      dec.var_opaque(NFS4_OPAQUE_LIMIT);
      dec.var_opaque(NFS4_OPAQUE_LIMIT);
    } else {
      return NFS4ERR_BADXDR;
    }
  }
  if (!dec.ok()) return NFS4ERR_BADXDR;
  std::shared_ptr<Session> s;
  std::vector<uint8_t> cached;
  std::vector<uint64_t> replaced;
  nfsstat4 st = ctx.core.clients.create_session(
      clientid, sequence, flags, fore, back, cb_program, cb_sys && !cb_none ? &*cb_sys : nullptr,
      ctx.call.conn, &s, &cached, &replaced);
  if (st != NFS4_OK) return st;
  if (!cached.empty()) {
    enc.fixed_opaque(cached.data(), cached.size());
    return NFS4_OK;
  }
  s->minorversion = ctx.minor;  // callbacks carry the session's minor version
  for (uint64_t old : replaced) ctx.core.state.release_client(old);
  ctx.core.grace.client_active(ctx.core.clients.owner_of(clientid));
  size_t start = enc.size();
  enc.fixed_opaque(s->id.data(), s->id.size());
  enc.u32(sequence);
  enc.u32(flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN);
  encode_channel_attrs(enc, s->fore);
  encode_channel_attrs(enc, s->back);
  ctx.core.clients.cache_create_session_reply(
      clientid, std::vector<uint8_t>(enc.data() + start, enc.data() + enc.size()));
  PLOG_INFO("client %016llx: session created (%u slots) from %s",
            static_cast<unsigned long long>(clientid), s->fore.maxrequests,
            ctx.call.conn ? ctx.call.conn->peer().c_str() : "?");
  return NFS4_OK;
}

nfsstat4 op_sequence(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  SessionId sid{};
  auto b = dec.fixed_opaque(NFS4_SESSIONID_SIZE);
  if (b.size() == sid.size()) memcpy(sid.data(), b.data(), sid.size());
  uint32_t seqid = dec.u32();
  uint32_t slot = dec.u32();
  uint32_t highest = dec.u32();
  dec.boolean();  // sa_cachethis: we cache every reply up to 64 KiB anyway
  if (!dec.ok()) return NFS4ERR_BADXDR;
  SequenceResult r = ctx.core.clients.sequence(sid, seqid, slot, highest, ctx.call.conn);
  if (r.status != NFS4_OK) return r.status;
  if (r.replay) {
    ctx.replay = std::move(r.reply);
    return NFS4_OK;
  }
  ctx.session = r.session;
  ctx.slot = slot;
  ctx.clientid = r.session->clientid;
  enc.fixed_opaque(sid.data(), sid.size());
  enc.u32(seqid);
  enc.u32(slot);
  enc.u32(r.highest_slotid);
  enc.u32(r.highest_slotid);  // target: keep all slots
  enc.u32(r.status_flags);
  maybe_probe_backchannel(ctx.core, r.session);
  return NFS4_OK;
}

nfsstat4 op_destroy_session(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  SessionId sid{};
  auto b = dec.fixed_opaque(NFS4_SESSIONID_SIZE);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  memcpy(sid.data(), b.data(), sid.size());
  // Destroying the session this compound runs in is allowed only as the
  // last op (RFC 8881 18.37.3); our reply cache entry then dies with it.
  if (ctx.session && ctx.session->id == sid) ctx.session.reset();
  return ctx.core.clients.destroy_session(sid, ctx.call.conn.get());
}

nfsstat4 op_destroy_clientid(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  uint64_t clientid = dec.u64();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  std::string owner = ctx.core.clients.owner_of(clientid);
  nfsstat4 st = ctx.core.clients.destroy_clientid(clientid);
  if (st == NFS4_OK) {
    ctx.core.state.release_client(clientid);
    ctx.core.grace.client_gone(owner);
  }
  return st;
}

nfsstat4 op_bind_conn(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  SessionId sid{};
  auto b = dec.fixed_opaque(NFS4_SESSIONID_SIZE);
  uint32_t dir = dec.u32();
  dec.boolean();  // use_conn_in_rdma_mode
  if (!dec.ok()) return NFS4ERR_BADXDR;
  memcpy(sid.data(), b.data(), sid.size());
  uint32_t out_dir = 0;
  nfsstat4 st = ctx.core.clients.bind_conn(sid, dir, ctx.call.conn, &out_dir);
  if (st != NFS4_OK) return st;
  enc.fixed_opaque(sid.data(), sid.size());
  enc.u32(out_dir);
  enc.boolean(false);
  if (out_dir & CDFS4_BACK)
    if (auto s = ctx.core.clients.find_session(sid)) maybe_probe_backchannel(ctx.core, s);
  return NFS4_OK;
}

nfsstat4 op_reclaim_complete(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  bool one_fs = dec.boolean();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  // rca_one_fs: the client finished one file system (after a migration); we
  // export one file system per server, so only the global form counts.
  if (one_fs) return NFS4_OK;
  nfsstat4 st = ctx.core.clients.reclaim_complete(ctx.clientid);
  if (st == NFS4_OK) ctx.core.grace.reclaim_complete(ctx.core.clients.owner_of(ctx.clientid));
  return st;
}

nfsstat4 op_setclientid(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Verifier verf{};
  auto v = dec.fixed_opaque(NFS4_VERIFIER_SIZE);
  if (v.size() == verf.size()) memcpy(verf.data(), v.data(), verf.size());
  std::string owner(dec.string(NFS4_OPAQUE_LIMIT));
  dec.u32();                      // cb_program
  dec.string(NFS4_OPAQUE_LIMIT);  // r_netid
  dec.string(NFS4_OPAQUE_LIMIT);  // r_addr
  dec.u32();                      // callback_ident
  if (!dec.ok()) return NFS4ERR_BADXDR;
  // NFSv4.0 callbacks need a separate connection to the client; we grant no
  // delegations, so the callback path is not used (docs/conformance.md).
  uint64_t clientid = 0;
  Verifier confirm{};
  nfsstat4 st = ctx.core.clients.setclientid(owner, verf, principal_uid(ctx), &clientid, &confirm);
  if (st == NFS4ERR_CLID_INUSE) {
    enc.string("tcp");
    enc.string("0.0.0.0.0.0");
    return st;
  }
  if (st != NFS4_OK) return st;
  enc.u64(clientid);
  enc.fixed_opaque(confirm.data(), confirm.size());
  return NFS4_OK;
}

nfsstat4 op_setclientid_confirm(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  uint64_t clientid = dec.u64();
  Verifier confirm{};
  auto v = dec.fixed_opaque(NFS4_VERIFIER_SIZE);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  memcpy(confirm.data(), v.data(), confirm.size());
  std::vector<uint64_t> replaced;
  nfsstat4 st = ctx.core.clients.setclientid_confirm(clientid, confirm, &replaced);
  if (st != NFS4_OK) return st;
  for (uint64_t old : replaced) ctx.core.state.release_client(old);
  ctx.core.grace.client_active(ctx.core.clients.owner_of(clientid));
  return NFS4_OK;
}

nfsstat4 op_renew(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  uint64_t clientid = dec.u64();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  return ctx.core.clients.renew(clientid);
}

}  // namespace

void register_session_ops(OpDesc* t) {
  t[OP_EXCHANGE_ID] = {"EXCHANGE_ID", op_exchange_id, kSessionless | kMinor1};
  t[OP_CREATE_SESSION] = {"CREATE_SESSION", op_create_session, kSessionless | kMinor1};
  t[OP_SEQUENCE] = {"SEQUENCE", op_sequence, kMinor1};
  t[OP_DESTROY_SESSION] = {"DESTROY_SESSION", op_destroy_session, kSessionless | kMinor1};
  t[OP_DESTROY_CLIENTID] = {"DESTROY_CLIENTID", op_destroy_clientid, kSessionless | kMinor1};
  t[OP_BIND_CONN_TO_SESSION] = {"BIND_CONN_TO_SESSION", op_bind_conn, kSessionless | kMinor1};
  t[OP_RECLAIM_COMPLETE] = {"RECLAIM_COMPLETE", op_reclaim_complete, kMinor1};
  t[OP_SETCLIENTID] = {"SETCLIENTID", op_setclientid, kMinor0Only};
  t[OP_SETCLIENTID_CONFIRM] = {"SETCLIENTID_CONFIRM", op_setclientid_confirm, kMinor0Only};
  t[OP_RENEW] = {"RENEW", op_renew, kMinor0Only};
}

}  // namespace pnfsgw::nfs4
