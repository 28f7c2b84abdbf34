// Byte-range locks and stateid management: LOCK, LOCKT, LOCKU,
// RELEASE_LOCKOWNER, TEST_STATEID, FREE_STATEID (RFC 8881 18.10-18.12,
// 18.38, 18.48; RFC 7530 16.37). Locks are advisory (POSIX); conflicting
// requests answer NFS4ERR_DENIED and blocking requests are retried by the
// client.
#include "gateway/nfs4/compound.h"
#include "gateway/nfs4/seqid.h"

namespace pnfsgw::nfs4 {
namespace {

void encode_denied(xdr::XdrEncoder& enc, const LockDenied& d) {
  enc.u64(d.offset);
  enc.u64(d.length);
  enc.u32(d.type);
  enc.u64(d.clientid);
  enc.string(d.owner);
}

nfsstat4 check_lock_target(CompoundCtx& ctx) {
  auto a = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  if (a->type == backend::FileType::kDirectory) return NFS4ERR_ISDIR;
  if (a->type != backend::FileType::kRegular) return NFS4ERR_INVAL;
  return NFS4_OK;
}

// Grace (RFC 8881 8.4.2): reclaims only during it, new locks only after it.
nfsstat4 check_lock_grace(CompoundCtx& ctx, bool reclaim, uint64_t clientid) {
  if (reclaim)
    return ctx.core.grace.may_reclaim(ctx.core.clients.owner_of(clientid)) ? NFS4_OK
                                                                            : NFS4ERR_NO_GRACE;
  return ctx.core.grace.in_grace() ? NFS4ERR_GRACE : NFS4_OK;
}

nfsstat4 op_lock(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint32_t type = dec.u32();
  bool reclaim = dec.boolean();
  uint64_t offset = dec.u64();
  uint64_t length = dec.u64();
  bool new_owner = dec.boolean();
  Stateid4 sid;
  uint32_t open_seqid = 0, lock_seqid = 0;
  uint64_t owner_clientid = 0;
  std::string lock_owner;
  if (new_owner) {
    open_seqid = dec.u32();
    decode_stateid(dec, &sid);
    lock_seqid = dec.u32();
    owner_clientid = dec.u64();
    lock_owner = std::string(dec.string(NFS4_OPAQUE_LIMIT));
  } else {
    decode_stateid(dec, &sid);
    lock_seqid = dec.u32();
  }
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (nfsstat4 st = resolve_stateid(ctx, &sid); st != NFS4_OK) return st;
  if (nfsstat4 st = check_lock_target(ctx); st != NFS4_OK) return st;
  auto body = [&]() -> nfsstat4 {
    uint64_t clientid = ctx.minor == 0 ? ctx.core.state.client_of(sid) : ctx.clientid;
    if (nfsstat4 st = check_lock_grace(ctx, reclaim, clientid); st != NFS4_OK) return st;
    Stateid4 out;
    LockDenied denied;
    nfsstat4 st = new_owner ? ctx.core.state.lock_new_owner(sid, ctx.cfh.ino, lock_owner, type,
                                                            offset, length, &out, &denied)
                            : ctx.core.state.lock_existing(sid, ctx.cfh.ino, type, offset, length,
                                                           &out, &denied);
    if (st == NFS4ERR_DENIED) {
      encode_denied(enc, denied);
      return st;
    }
    if (st != NFS4_OK) return st;
    encode_stateid(enc, out);
    ctx.cur_sid = out;
    return NFS4_OK;
  };
  if (ctx.minor != 0) return body();
  // NFSv4.0: the open owner's seqid sequences a new lock owner's first
  // lock; the lock owner's seqid every later one.
  uint64_t clientid = 0;
  std::string owner;
  if (!ctx.core.state.owner_of(sid, &clientid, &owner)) return NFS4ERR_BAD_STATEID;
  if (new_owner) {
    if (owner_clientid != clientid) return NFS4ERR_BAD_STATEID;
    return with_owner_seqid(ctx, enc, clientid, owner, false, open_seqid, body);
  }
  return with_owner_seqid(ctx, enc, clientid, owner, true, lock_seqid, body);
}

nfsstat4 op_lockt(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint32_t type = dec.u32();
  uint64_t offset = dec.u64();
  uint64_t length = dec.u64();
  uint64_t clientid = dec.u64();
  std::string owner(dec.string(NFS4_OPAQUE_LIMIT));
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (ctx.minor == 0) {
    if (nfsstat4 st = ctx.core.clients.check_client(clientid, 0); st != NFS4_OK) return st;
  } else {
    clientid = ctx.clientid;  // RFC 8881 18.11.3: the session's client
  }
  if (nfsstat4 st = check_lock_target(ctx); st != NFS4_OK) return st;
  if (ctx.core.grace.in_grace()) return NFS4ERR_GRACE;
  LockDenied denied;
  nfsstat4 st = ctx.core.state.lockt(ctx.cfh.ino, clientid, owner, type, offset, length, &denied);
  if (st == NFS4ERR_DENIED) encode_denied(enc, denied);
  return st;
}

nfsstat4 op_locku(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  dec.u32();  // locktype: irrelevant for unlocking
  uint32_t seqid = dec.u32();
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint64_t offset = dec.u64();
  uint64_t length = dec.u64();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (nfsstat4 st = resolve_stateid(ctx, &sid); st != NFS4_OK) return st;
  auto body = [&]() -> nfsstat4 {
    Stateid4 out;
    nfsstat4 st = ctx.core.state.locku(sid, ctx.cfh.ino, offset, length, &out);
    if (st != NFS4_OK) return st;
    encode_stateid(enc, out);
    ctx.cur_sid = out;
    return NFS4_OK;
  };
  uint64_t clientid = 0;
  std::string owner;
  if (ctx.minor != 0 || !ctx.core.state.owner_of(sid, &clientid, &owner)) return body();
  return with_owner_seqid(ctx, enc, clientid, owner, true, seqid, body);
}

nfsstat4 op_release_lockowner(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  uint64_t clientid = dec.u64();
  std::string owner(dec.string(NFS4_OPAQUE_LIMIT));
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (nfsstat4 st = ctx.core.clients.check_client(clientid, 0); st != NFS4_OK) return st;
  return ctx.core.state.release_lockowner(clientid, owner);
}

nfsstat4 op_test_stateid(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint32_t n = dec.array_len(1024, 16);
  std::vector<Stateid4> sids(n);
  for (auto& s : sids) decode_stateid(dec, &s);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  enc.u32(n);
  for (const auto& s : sids) enc.u32(ctx.core.state.test_stateid(ctx.clientid, s));
  return NFS4_OK;
}

nfsstat4 op_free_stateid(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder&) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (nfsstat4 st = resolve_stateid(ctx, &sid); st != NFS4_OK) return st;
  if (ctx.core.state.client_of(sid) != ctx.clientid &&
      ctx.core.state.client_of(sid) != 0)
    return NFS4ERR_BAD_STATEID;
  return ctx.core.state.free_stateid(sid);
}

}  // namespace

void register_lock_ops(OpDesc* t) {
  t[OP_LOCK] = {"LOCK", op_lock, kNeedFh};
  t[OP_LOCKT] = {"LOCKT", op_lockt, kNeedFh};
  t[OP_LOCKU] = {"LOCKU", op_locku, kNeedFh};
  t[OP_RELEASE_LOCKOWNER] = {"RELEASE_LOCKOWNER", op_release_lockowner, kMinor0Only};
  t[OP_TEST_STATEID] = {"TEST_STATEID", op_test_stateid, kMinor1};
  t[OP_FREE_STATEID] = {"FREE_STATEID", op_free_stateid, kMinor1};
}

}  // namespace pnfsgw::nfs4
