// Open state and data ops: OPEN, OPEN_CONFIRM, OPEN_DOWNGRADE, CLOSE, READ,
// WRITE, COMMIT (RFC 8881 18.2, 18.3, 18.16, 18.18, 18.22, 18.32; RFC 7530
// 16.17 for OPEN_CONFIRM).
#include <cstring>

#include "gateway/common/create_verifier.h"
#include "gateway/common/file_parts.h"
#include "gateway/nfs4/compound.h"
#include "gateway/nfs4/seqid.h"

namespace pnfsgw::nfs4 {
namespace {

struct OpenArgs {
  uint32_t seqid = 0;
  uint32_t access = 0, deny = 0;
  uint64_t clientid = 0;
  std::string owner;
  uint32_t opentype = OPEN4_NOCREATE;
  uint32_t createmode = UNCHECKED4;
  backend::SetAttr sa;
  AttrBitmap sa_mask;
  nfsstat4 sa_status = NFS4_OK;
  Verifier verf{};
  uint32_t claim = CLAIM_NULL;
  std::string name;
};

void decode_open(xdr::XdrDecoder& dec, OpenArgs* a) {
  a->seqid = dec.u32();
  a->access = dec.u32();
  a->deny = dec.u32();
  a->clientid = dec.u64();
  a->owner = std::string(dec.string(NFS4_OPAQUE_LIMIT));
  a->opentype = dec.u32();
  if (a->opentype == OPEN4_CREATE) {
    a->createmode = dec.u32();
    if (a->createmode == UNCHECKED4 || a->createmode == GUARDED4) {
      a->sa_status = decode_settable(dec, &a->sa, &a->sa_mask);
    } else if (a->createmode == EXCLUSIVE4 || a->createmode == EXCLUSIVE4_1) {
      auto v = dec.fixed_opaque(NFS4_VERIFIER_SIZE);
      if (v.size() == a->verf.size()) memcpy(a->verf.data(), v.data(), v.size());
      if (a->createmode == EXCLUSIVE4_1) a->sa_status = decode_settable(dec, &a->sa, &a->sa_mask);
    } else {
      dec.fail();
    }
  } else if (a->opentype != OPEN4_NOCREATE) {
    dec.fail();
  }
  a->claim = dec.u32();
  switch (a->claim) {
    case CLAIM_NULL:
    case CLAIM_DELEGATE_PREV: a->name = std::string(dec.string(NFS4_OPAQUE_LIMIT)); break;
    case CLAIM_PREVIOUS: dec.u32(); break;
    case CLAIM_DELEGATE_CUR: {
      Stateid4 s;
      decode_stateid(dec, &s);
      a->name = std::string(dec.string(NFS4_OPAQUE_LIMIT));
      break;
    }
    case CLAIM_DELEG_CUR_FH: {
      Stateid4 s;
      decode_stateid(dec, &s);
      break;
    }
    case CLAIM_FH:
    case CLAIM_DELEG_PREV_FH: break;
    default: dec.fail();
  }
}

nfsstat4 type_for_open(const CompoundCtx& ctx, backend::FileType t) {
  if (t == backend::FileType::kRegular) return NFS4_OK;
  if (t == backend::FileType::kDirectory) return NFS4ERR_ISDIR;
  if (t == backend::FileType::kSymlink) return NFS4ERR_SYMLINK;
  return ctx.minor == 0 ? NFS4ERR_INVAL : NFS4ERR_WRONG_TYPE;
}

// Creates or finds the file of an OPEN by name in the directory cfh.
nfsstat4 open_by_name(CompoundCtx& ctx, OpenArgs& a, backend::Attr* file, bool* created,
                      AttrBitmap* attrset, uint64_t* before, uint64_t* after) {
  auto dirattr = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!dirattr) return errno_to_nfs(dirattr.err());
  if (dirattr->type != backend::FileType::kDirectory) return NFS4ERR_NOTDIR;
  if (nfsstat4 st = check_name(a.name); st != NFS4_OK) return st;
  *before = *after = dirattr->change;
  *created = false;
  if (a.opentype == OPEN4_NOCREATE) {
    if (nfsstat4 st = require_access(ctx, *dirattr, ACCESS4_LOOKUP); st != NFS4_OK) return st;
    auto f = ctx.core.fs->lookup(ctx.cfh.ino, a.name);
    if (!f) return errno_to_nfs(f.err());
    *file = *f;
    return NFS4_OK;
  }
  if (a.sa_status != NFS4_OK) return a.sa_status;
  if (nfsstat4 st = require_access(ctx, *dirattr, ACCESS4_MODIFY | ACCESS4_LOOKUP); st != NFS4_OK) {
    // Opening an existing file needs no write access to its directory.
    auto f = ctx.core.fs->lookup(ctx.cfh.ino, a.name);
    if (!f || a.createmode == GUARDED4 || a.createmode == EXCLUSIVE4 ||
        a.createmode == EXCLUSIVE4_1)
      return st;
    *file = *f;
    return NFS4_OK;
  }
  backend::Cred cred = gw::owner_for(ctx.caller, *dirattr);
  const bool exclusive = a.createmode != UNCHECKED4;
  uint32_t mode = a.sa.mode.value_or(0644);
  auto f = ctx.core.fs->create(ctx.cfh.ino, a.name, mode, cred,
                               exclusive ? backend::CreateMode::kExclusive
                                         : backend::CreateMode::kUnchecked,
                               created);
  if (!f) {
    if (f.err() != EEXIST || a.createmode == GUARDED4) return errno_to_nfs(f.err());
    // EXCLUSIVE4(_1) retry of our own create: same verifier, same answer.
    auto existing = ctx.core.fs->lookup(ctx.cfh.ino, a.name);
    if (!existing) return errno_to_nfs(existing.err());
    if (existing->type != backend::FileType::kRegular || !gw::verifier_matches(*existing, a.verf))
      return NFS4ERR_EXIST;
    *file = *existing;
    *created = true;
    return NFS4_OK;
  }
  *file = *f;
  if (*created) {
    if (a.sa.mode) attrset->set(FATTR4_MODE);
    backend::SetAttr rest = a.sa;
    rest.mode.reset();
    if (a.createmode == EXCLUSIVE4 || a.createmode == EXCLUSIVE4_1) {
      backend::SetAttr times = gw::verifier_times(a.verf);
      rest.atime_how = times.atime_how;
      rest.mtime_how = times.mtime_how;
      rest.atime = times.atime;
      rest.mtime = times.mtime;
    }
    if (!rest.empty()) {
      auto r = ctx.core.fs->setattr(f->ino, rest);
      if (!r) return errno_to_nfs(r.err());
      *file = *r;
    }
    AttrBitmap asked = a.sa_mask;
    asked.clear(FATTR4_TIME_ACCESS_SET);
    asked.clear(FATTR4_TIME_MODIFY_SET);
    for (int i = 0; i < 3; i++) attrset->w[i] |= asked.w[i];
  } else if (a.sa.size && file->type == backend::FileType::kRegular) {
    // UNCHECKED4 on an existing file: apply the size (truncate) only.
    backend::SetAttr sz;
    sz.size = a.sa.size;
    if (nfsstat4 st = apply_setattr(ctx, f->ino, sz, file); st != NFS4_OK) return st;
    attrset->set(FATTR4_SIZE);
  }
  auto d2 = ctx.core.fs->getattr(ctx.cfh.ino);
  if (d2) *after = d2->change;
  return NFS4_OK;
}

nfsstat4 open_body(CompoundCtx& ctx, OpenArgs& a, xdr::XdrEncoder& enc) {
  uint64_t clientid = ctx.minor == 0 ? a.clientid : ctx.clientid;
  if (ctx.minor == 0)
    if (nfsstat4 st = ctx.core.clients.check_client(clientid, 0); st != NFS4_OK) return st;
  a.access &= ~OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
  if (a.access == 0 || a.access > OPEN4_SHARE_ACCESS_BOTH || a.deny > OPEN4_SHARE_DENY_BOTH)
    return NFS4ERR_INVAL;
  // Grace (RFC 8881 8.4.2): only reclaims during it, no reclaims after it.
  if (a.claim == CLAIM_PREVIOUS) {
    if (!ctx.core.grace.may_reclaim(ctx.core.clients.owner_of(clientid))) return NFS4ERR_NO_GRACE;
  } else if (ctx.core.grace.in_grace()) {
    return NFS4ERR_GRACE;
  }
  backend::Attr file;
  bool created = false;
  AttrBitmap attrset;
  uint64_t before = 0, after = 0;
  switch (a.claim) {
    case CLAIM_NULL:
      if (nfsstat4 st = open_by_name(ctx, a, &file, &created, &attrset, &before, &after);
          st != NFS4_OK)
        return st;
      break;
    case CLAIM_PREVIOUS:
    case CLAIM_FH: {
      if (a.opentype == OPEN4_CREATE) return NFS4ERR_INVAL;
      auto f = ctx.core.fs->getattr(ctx.cfh.ino);
      if (!f) return errno_to_nfs(f.err());
      file = *f;
      break;
    }
    default: return NFS4ERR_NOTSUPP;  // no delegations are ever granted
  }
  if (nfsstat4 st = type_for_open(ctx, file.type); st != NFS4_OK) return st;
  if (!created && a.claim != CLAIM_PREVIOUS) {
    uint32_t need = ((a.access & OPEN4_SHARE_ACCESS_READ) ? ACCESS4_READ : 0) |
                    ((a.access & OPEN4_SHARE_ACCESS_WRITE) ? ACCESS4_MODIFY : 0);
    if (nfsstat4 st = require_access(ctx, file, need); st != NFS4_OK) return st;
  }
  Stateid4 sid;
  if (nfsstat4 st = ctx.core.state.open(clientid, a.owner, file.ino, a.access, a.deny, &sid);
      st != NFS4_OK)
    return st;
  FileRef ref;
  if (nfsstat4 st = make_fileref(ctx.core, file.ino, &ref); st != NFS4_OK) return st;
  encode_stateid(enc, sid);
  encode_change_info(enc, before, after);
  uint32_t rflags = OPEN4_RESULT_LOCKTYPE_POSIX;
  if (ctx.minor == 0 && !ctx.core.state.open_confirmed(clientid, a.owner))
    rflags |= OPEN4_RESULT_CONFIRM;
  enc.u32(rflags);
  attrset.encode(enc);
  enc.u32(OPEN_DELEGATE_NONE);
  ctx.cfh = std::move(ref);
  ctx.cur_sid = sid;
  return NFS4_OK;
}

nfsstat4 op_open(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  OpenArgs a;
  decode_open(dec, &a);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  return with_owner_seqid(ctx, enc, a.clientid, a.owner, false, a.seqid,
                          [&] { return open_body(ctx, a, enc); });
}

// Runs an op on an open stateid under the 4.0 seqid rules of its owner.
template <typename F>
nfsstat4 with_stateid_owner(CompoundCtx& ctx, xdr::XdrEncoder& enc, const Stateid4& sid,
                            uint32_t seqid, F body) {
  uint64_t clientid = 0;
  std::string owner;
  if (ctx.minor != 0 || !ctx.core.state.owner_of(sid, &clientid, &owner)) return body();
  return with_owner_seqid(ctx, enc, clientid, owner, false, seqid, body);
}

nfsstat4 op_open_confirm(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint32_t seqid = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  return with_stateid_owner(ctx, enc, sid, seqid, [&] {
    Stateid4 out;
    nfsstat4 st = ctx.core.state.open_confirm(sid, ctx.cfh.ino, &out);
    if (st == NFS4_OK) encode_stateid(enc, out);
    return st;
  });
}

nfsstat4 op_open_downgrade(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint32_t seqid = dec.u32();
  uint32_t access = dec.u32() & ~OPEN4_SHARE_ACCESS_WANT_DELEG_MASK;
  uint32_t deny = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (nfsstat4 st = resolve_stateid(ctx, &sid); st != NFS4_OK) return st;
  return with_stateid_owner(ctx, enc, sid, seqid, [&] {
    Stateid4 out;
    nfsstat4 st = ctx.core.state.open_downgrade(sid, ctx.cfh.ino, access, deny, &out);
    if (st != NFS4_OK) return st;
    encode_stateid(enc, out);
    ctx.cur_sid = out;
    return NFS4_OK;
  });
}

nfsstat4 op_close(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint32_t seqid = dec.u32();
  Stateid4 sid;
  decode_stateid(dec, &sid);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (nfsstat4 st = resolve_stateid(ctx, &sid); st != NFS4_OK) return st;
  return with_stateid_owner(ctx, enc, sid, seqid, [&] {
    Stateid4 out;
    nfsstat4 st = ctx.core.state.close(sid, ctx.cfh.ino, &out);
    if (st != NFS4_OK) return st;
    encode_stateid(enc, out);
    ctx.cur_sid = out;
    return NFS4_OK;
  });
}

// Checks the stateid and the object for READ/WRITE.
nfsstat4 check_data_op(CompoundCtx& ctx, Stateid4* sid, bool write, backend::Attr* a) {
  if (nfsstat4 st = resolve_stateid(ctx, sid); st != NFS4_OK) return st;
  auto at = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!at) return errno_to_nfs(at.err());
  if (at->type == backend::FileType::kDirectory) return NFS4ERR_ISDIR;
  if (at->type != backend::FileType::kRegular) return NFS4ERR_INVAL;
  *a = *at;
  if (nfsstat4 st = ctx.core.state.check_io(*sid, ctx.cfh.ino, write); st != NFS4_OK) return st;
  if (ctx.minor == 0) ctx.core.clients.renew(ctx.core.state.client_of(*sid));
  // I/O without an open answers to the file's permissions.
  if (sid->is_anonymous() || sid->is_bypass())
    return errno_to_nfs(gw::check_io(ctx.caller, *a, write));
  return NFS4_OK;
}

nfsstat4 op_read(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint64_t offset = dec.u64();
  uint32_t count = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  backend::Attr a;
  if (nfsstat4 st = check_data_op(ctx, &sid, false, &a); st != NFS4_OK) return st;
  count = std::min(count, ctx.core.opts.max_read);
  if (ctx.session) {
    size_t used = enc.size() + ctx.file_bytes() - ctx.reply_base + 8;
    size_t room = ctx.session->fore.maxresponsesize > used ? ctx.session->fore.maxresponsesize - used : 0;
    count = static_cast<uint32_t>(std::min<size_t>(count, room));
  }
  size_t eof_off = enc.reserve_u32();
  size_t len_off = enc.reserve_u32();
  bool eof = false;
  // NFSv4.0 replies may go through the duplicate request cache, which
  // keeps the encoder's bytes only: they copy.
  Result<size_t> n = gw::append_read_data(ctx.call, *ctx.core.fs, ctx.cfh.ino, offset, count,
                                          ctx.minor != 0, enc, &eof);
  if (!n) {
    enc.truncate(eof_off);
    return errno_to_nfs(n.err());
  }
  enc.patch_u32(eof_off, eof ? 1 : 0);
  enc.patch_u32(len_off, static_cast<uint32_t>(*n));
  return NFS4_OK;
}

nfsstat4 op_write(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  Stateid4 sid;
  decode_stateid(dec, &sid);
  uint64_t offset = dec.u64();
  uint32_t stable = dec.u32();
  auto data = dec.var_opaque(ctx.core.opts.max_write);
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (stable > FILE_SYNC4) return NFS4ERR_INVAL;
  if (offset + data.size() < offset) return NFS4ERR_FBIG;
  backend::Attr a;
  if (nfsstat4 st = check_data_op(ctx, &sid, true, &a); st != NFS4_OK) return st;
  // On an event loop a write that would wait sends the whole COMPOUND to
  // the pool.
  auto written =
      gw::write_data(ctx.call, *ctx.core.fs, ctx.cfh.ino, offset, data, stable == UNSTABLE4);
  if (!written) {
    ctx.deferred = true;
    return NFS4_OK;
  }
  Result<size_t> n = std::move(*written);
  if (!n) return errno_to_nfs(n.err());
  uint32_t committed = UNSTABLE4;
  if (stable != UNSTABLE4) {
    Status s = ctx.core.fs->fsync(ctx.cfh.ino, stable == DATA_SYNC4);
    if (!s) return errno_to_nfs(s.err());
    committed = stable;
  }
  enc.u32(static_cast<uint32_t>(*n));
  enc.u32(committed);
  enc.fixed_opaque(ctx.core.write_verifier.data(), ctx.core.write_verifier.size());
  return NFS4_OK;
}

nfsstat4 op_commit(CompoundCtx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  uint64_t offset = dec.u64();
  uint32_t count = dec.u32();
  if (!dec.ok()) return NFS4ERR_BADXDR;
  if (count && offset + count < offset) return NFS4ERR_INVAL;
  auto a = ctx.core.fs->getattr(ctx.cfh.ino);
  if (!a) return errno_to_nfs(a.err());
  if (a->type == backend::FileType::kDirectory) return NFS4ERR_ISDIR;
  if (a->type != backend::FileType::kRegular) return NFS4ERR_INVAL;
  Status s = ctx.core.fs->fsync(ctx.cfh.ino, false);
  if (!s) return errno_to_nfs(s.err());
  enc.fixed_opaque(ctx.core.write_verifier.data(), ctx.core.write_verifier.size());
  return NFS4_OK;
}

}  // namespace

void register_io_ops(OpDesc* t) {
  t[OP_OPEN] = {"OPEN", op_open, kNeedFh};
  t[OP_OPEN_CONFIRM] = {"OPEN_CONFIRM", op_open_confirm, kNeedFh | kMinor0Only};
  t[OP_OPEN_DOWNGRADE] = {"OPEN_DOWNGRADE", op_open_downgrade, kNeedFh};
  t[OP_CLOSE] = {"CLOSE", op_close, kNeedFh};
  t[OP_READ] = {"READ", op_read, kNeedFh};
  t[OP_WRITE] = {"WRITE", op_write, kNeedFh};
  t[OP_COMMIT] = {"COMMIT", op_commit, kNeedFh};
}

}  // namespace pnfsgw::nfs4
