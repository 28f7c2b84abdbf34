#include "client/compound.h"

#include <algorithm>
#include <cstring>

#include "common/log.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
constexpr size_t kMaxTag = NFS4_OPAQUE_LIMIT;
constexpr size_t kMaxResults = 4096;

void encode_authsys(XdrEncoder& enc, const rpc::AuthSysParams& p) {
  enc.u32(p.stamp);
  enc.string(p.machine);
  enc.u32(p.uid);
  enc.u32(p.gid);
  size_t n = std::min(p.gids.size(), rpc::kMaxAuthSysGids);
  enc.u32(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; i++) enc.u32(p.gids[i]);
}

void encode_lock_owner(XdrEncoder& enc, uint64_t clientid, std::string_view owner) {
  enc.u64(clientid);
  enc.string(owner);
}
}  // namespace

XdrEncoder& CompoundBuilder::op(uint32_t opnum) {
  ops_.push_back(opnum);
  args_.u32(opnum);
  return args_;
}

CompoundBuilder& CompoundBuilder::sequence(const SequenceArgs& a) {
  XdrEncoder& e = op(OP_SEQUENCE);
  e.fixed_opaque(a.sessionid.data(), a.sessionid.size());
  e.u32(a.sequenceid);
  e.u32(a.slotid);
  e.u32(a.highest_slotid);
  e.boolean(a.cachethis);
  return *this;
}

CompoundBuilder& CompoundBuilder::exchange_id(const ExchangeIdArgs& a) {
  XdrEncoder& e = op(OP_EXCHANGE_ID);
  e.fixed_opaque(a.verifier.data(), a.verifier.size());
  e.string(a.owner);
  e.u32(a.flags);
  e.u32(SP4_NONE);
  e.u32(1);  // eia_client_impl_id<1>
  e.string(a.impl_domain);
  e.string(a.impl_name);
  e.i64(0);  // nii_date
  e.u32(0);
  return *this;
}

CompoundBuilder& CompoundBuilder::create_session(const CreateSessionArgs& a) {
  XdrEncoder& e = op(OP_CREATE_SESSION);
  e.u64(a.clientid);
  e.u32(a.sequenceid);
  e.u32(a.flags);
  a.fore.encode(e);
  a.back.encode(e);
  e.u32(a.cb_program);
  e.u32(1);  // csa_sec_parms<>: one entry
  if (a.cb_sys) {
    e.u32(rpc::AUTH_SYS);
    encode_authsys(e, *a.cb_sys);
  } else {
    e.u32(rpc::AUTH_NONE);
  }
  return *this;
}

CompoundBuilder& CompoundBuilder::destroy_session(const SessionId& sid) {
  op(OP_DESTROY_SESSION).fixed_opaque(sid.data(), sid.size());
  return *this;
}

CompoundBuilder& CompoundBuilder::destroy_clientid(uint64_t clientid) {
  op(OP_DESTROY_CLIENTID).u64(clientid);
  return *this;
}

CompoundBuilder& CompoundBuilder::bind_conn_to_session(const SessionId& sid, uint32_t dir,
                                                       bool rdma) {
  XdrEncoder& e = op(OP_BIND_CONN_TO_SESSION);
  e.fixed_opaque(sid.data(), sid.size());
  e.u32(dir);
  e.boolean(rdma);
  return *this;
}

CompoundBuilder& CompoundBuilder::reclaim_complete(bool one_fs) {
  op(OP_RECLAIM_COMPLETE).boolean(one_fs);
  return *this;
}

CompoundBuilder& CompoundBuilder::test_stateid(std::span<const Stateid> stateids) {
  XdrEncoder& e = op(OP_TEST_STATEID);
  e.u32(static_cast<uint32_t>(stateids.size()));
  for (const Stateid& s : stateids) s.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::free_stateid(const Stateid& s) {
  s.encode(op(OP_FREE_STATEID));
  return *this;
}

CompoundBuilder& CompoundBuilder::secinfo_no_name(uint32_t style) {
  op(OP_SECINFO_NO_NAME).u32(style);
  return *this;
}

CompoundBuilder& CompoundBuilder::setclientid(const Verifier& verf, std::string_view id,
                                              uint32_t cb_program, std::string_view netid,
                                              std::string_view addr, uint32_t callback_ident) {
  XdrEncoder& e = op(OP_SETCLIENTID);
  e.fixed_opaque(verf.data(), verf.size());
  e.string(id);
  e.u32(cb_program);
  e.string(netid);
  e.string(addr);
  e.u32(callback_ident);
  return *this;
}

CompoundBuilder& CompoundBuilder::setclientid_confirm(uint64_t clientid, const Verifier& confirm) {
  XdrEncoder& e = op(OP_SETCLIENTID_CONFIRM);
  e.u64(clientid);
  e.fixed_opaque(confirm.data(), confirm.size());
  return *this;
}

CompoundBuilder& CompoundBuilder::open_confirm(const Stateid& s, uint32_t seqid) {
  XdrEncoder& e = op(OP_OPEN_CONFIRM);
  s.encode(e);
  e.u32(seqid);
  return *this;
}

CompoundBuilder& CompoundBuilder::renew(uint64_t clientid) {
  op(OP_RENEW).u64(clientid);
  return *this;
}

CompoundBuilder& CompoundBuilder::putfh(const Fh& fh) {
  fh.encode(op(OP_PUTFH));
  return *this;
}

CompoundBuilder& CompoundBuilder::putrootfh() {
  op(OP_PUTROOTFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::getfh() {
  op(OP_GETFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::savefh() {
  op(OP_SAVEFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::restorefh() {
  op(OP_RESTOREFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::lookup(std::string_view name) {
  op(OP_LOOKUP).string(name);
  return *this;
}

CompoundBuilder& CompoundBuilder::lookupp() {
  op(OP_LOOKUPP);
  return *this;
}

CompoundBuilder& CompoundBuilder::getattr(const Bitmap4& mask) {
  mask.encode(op(OP_GETATTR));
  return *this;
}

CompoundBuilder& CompoundBuilder::setattr(const Stateid& s, const SetAttrs& attrs) {
  XdrEncoder& e = op(OP_SETATTR);
  s.encode(e);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::access(uint32_t mask) {
  op(OP_ACCESS).u32(mask);
  return *this;
}

CompoundBuilder& CompoundBuilder::verify(const SetAttrs& attrs) {
  attrs.encode(op(OP_VERIFY));
  return *this;
}

CompoundBuilder& CompoundBuilder::create_dir(std::string_view name, const SetAttrs& attrs) {
  return create_special(NF4DIR, name, attrs);
}

CompoundBuilder& CompoundBuilder::create_symlink(std::string_view name, std::string_view target,
                                                 const SetAttrs& attrs) {
  XdrEncoder& e = op(OP_CREATE);
  e.u32(NF4LNK);
  e.string(target);
  e.string(name);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::create_special(uint32_t type, std::string_view name,
                                                 const SetAttrs& attrs, uint32_t major,
                                                 uint32_t minor) {
  XdrEncoder& e = op(OP_CREATE);
  e.u32(type);
  if (type == NF4BLK || type == NF4CHR) {
    e.u32(major);
    e.u32(minor);
  }
  e.string(name);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::remove(std::string_view name) {
  op(OP_REMOVE).string(name);
  return *this;
}

CompoundBuilder& CompoundBuilder::rename(std::string_view oldname, std::string_view newname) {
  XdrEncoder& e = op(OP_RENAME);
  e.string(oldname);
  e.string(newname);
  return *this;
}

CompoundBuilder& CompoundBuilder::link(std::string_view newname) {
  op(OP_LINK).string(newname);
  return *this;
}

CompoundBuilder& CompoundBuilder::readlink() {
  op(OP_READLINK);
  return *this;
}

CompoundBuilder& CompoundBuilder::readdir(uint64_t cookie, const Verifier& cookieverf,
                                          uint32_t dircount, uint32_t maxcount,
                                          const Bitmap4& attrs) {
  XdrEncoder& e = op(OP_READDIR);
  e.u64(cookie);
  e.fixed_opaque(cookieverf.data(), cookieverf.size());
  e.u32(dircount);
  e.u32(maxcount);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::open(const OpenArgs& a) {
  XdrEncoder& e = op(OP_OPEN);
  e.u32(a.seqid);
  e.u32(a.share_access);
  e.u32(a.share_deny);
  encode_lock_owner(e, a.clientid, a.owner);  // open_owner4 has the same shape
  e.u32(a.create ? OPEN4_CREATE : OPEN4_NOCREATE);
  if (a.create) {
    e.u32(a.createmode);
    switch (a.createmode) {
      case UNCHECKED4:
      case GUARDED4: a.attrs.encode(e); break;
      case EXCLUSIVE4: e.fixed_opaque(a.verf.data(), a.verf.size()); break;
      case EXCLUSIVE4_1:
        e.fixed_opaque(a.verf.data(), a.verf.size());
        a.attrs.encode(e);
        break;
    }
  }
  e.u32(a.claim);
  if (a.claim == CLAIM_NULL) e.string(a.name);
  return *this;
}

CompoundBuilder& CompoundBuilder::close(uint32_t seqid, const Stateid& s) {
  XdrEncoder& e = op(OP_CLOSE);
  e.u32(seqid);
  s.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::open_downgrade(const Stateid& s, uint32_t seqid,
                                                 uint32_t access, uint32_t deny) {
  XdrEncoder& e = op(OP_OPEN_DOWNGRADE);
  s.encode(e);
  e.u32(seqid);
  e.u32(access);
  e.u32(deny);
  return *this;
}

CompoundBuilder& CompoundBuilder::read(const Stateid& s, uint64_t offset, uint32_t count) {
  XdrEncoder& e = op(OP_READ);
  s.encode(e);
  e.u64(offset);
  e.u32(count);
  return *this;
}

CompoundBuilder& CompoundBuilder::write(const Stateid& s, uint64_t offset, uint32_t stable,
                                        std::span<const uint8_t> data) {
  XdrEncoder& e = op(OP_WRITE);
  s.encode(e);
  e.u64(offset);
  e.u32(stable);
  e.var_opaque(data);
  return *this;
}

CompoundBuilder& CompoundBuilder::commit(uint64_t offset, uint32_t count) {
  XdrEncoder& e = op(OP_COMMIT);
  e.u64(offset);
  e.u32(count);
  return *this;
}

CompoundBuilder& CompoundBuilder::lock(uint32_t locktype, bool reclaim, uint64_t offset,
                                       uint64_t length, const LockerArgs& l) {
  XdrEncoder& e = op(OP_LOCK);
  e.u32(locktype);
  e.boolean(reclaim);
  e.u64(offset);
  e.u64(length);
  e.boolean(l.new_lock_owner);
  if (l.new_lock_owner) {
    e.u32(l.open_seqid);
    l.open_stateid.encode(e);
    e.u32(l.lock_seqid);
    encode_lock_owner(e, l.clientid, l.owner);
  } else {
    l.lock_stateid.encode(e);
    e.u32(l.lock_seqid);
  }
  return *this;
}

CompoundBuilder& CompoundBuilder::lockt(uint32_t locktype, uint64_t offset, uint64_t length,
                                        uint64_t clientid, std::string_view owner) {
  XdrEncoder& e = op(OP_LOCKT);
  e.u32(locktype);
  e.u64(offset);
  e.u64(length);
  encode_lock_owner(e, clientid, owner);
  return *this;
}

CompoundBuilder& CompoundBuilder::locku(uint32_t locktype, uint32_t seqid, const Stateid& s,
                                        uint64_t offset, uint64_t length) {
  XdrEncoder& e = op(OP_LOCKU);
  e.u32(locktype);
  e.u32(seqid);
  s.encode(e);
  e.u64(offset);
  e.u64(length);
  return *this;
}

CompoundBuilder& CompoundBuilder::layoutget(const LayoutgetArgs& a) {
  XdrEncoder& e = op(OP_LAYOUTGET);
  e.boolean(a.signal_layout_avail);
  e.u32(a.layout_type);
  e.u32(a.iomode);
  e.u64(a.offset);
  e.u64(a.length);
  e.u64(a.minlength);
  a.stateid.encode(e);
  e.u32(a.maxcount);
  return *this;
}

CompoundBuilder& CompoundBuilder::layoutreturn_file(bool reclaim, uint32_t layout_type,
                                                    uint32_t iomode, uint64_t offset,
                                                    uint64_t length, const Stateid& s,
                                                    std::span<const uint8_t> body) {
  XdrEncoder& e = op(OP_LAYOUTRETURN);
  e.boolean(reclaim);
  e.u32(layout_type);
  e.u32(iomode);
  e.u32(1);  // LAYOUTRETURN4_FILE
  e.u64(offset);
  e.u64(length);
  s.encode(e);
  e.var_opaque(body);
  return *this;
}

CompoundBuilder& CompoundBuilder::layoutreturn_bulk(uint32_t returntype, uint32_t layout_type,
                                                    uint32_t iomode) {
  XdrEncoder& e = op(OP_LAYOUTRETURN);
  e.boolean(false);
  e.u32(layout_type);
  e.u32(iomode);
  e.u32(returntype);
  return *this;
}

CompoundBuilder& CompoundBuilder::layoutcommit(uint64_t offset, uint64_t length, bool reclaim,
                                               const Stateid& s,
                                               std::optional<uint64_t> last_write_offset,
                                               uint32_t layout_type,
                                               std::span<const uint8_t> update_body) {
  XdrEncoder& e = op(OP_LAYOUTCOMMIT);
  e.u64(offset);
  e.u64(length);
  e.boolean(reclaim);
  s.encode(e);
  e.boolean(last_write_offset.has_value());
  if (last_write_offset) e.u64(*last_write_offset);
  e.boolean(false);  // loca_time_modify: let the server pick
  e.u32(layout_type);
  e.var_opaque(update_body);
  return *this;
}

CompoundBuilder& CompoundBuilder::getdeviceinfo(std::span<const uint8_t, 16> deviceid,
                                                uint32_t layout_type, uint32_t maxcount,
                                                const Bitmap4& notify) {
  XdrEncoder& e = op(OP_GETDEVICEINFO);
  e.fixed_opaque(deviceid.data(), deviceid.size());
  e.u32(layout_type);
  e.u32(maxcount);
  notify.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::raw_op(uint32_t opnum, std::span<const uint8_t> args) {
  XdrEncoder& e = op(opnum);
  if (!args.empty()) {
    size_t at = e.append_space(args.size());
    std::memcpy(e.data() + at, args.data(), args.size());
  }
  return *this;
}

std::vector<uint8_t> CompoundBuilder::encode_prefixed(const std::vector<uint8_t>* prefix,
                                                      size_t nprefix) const {
  XdrEncoder e;
  e.string(tag_);
  e.u32(minorversion_);
  e.u32(static_cast<uint32_t>(ops_.size() + nprefix));
  std::vector<uint8_t> out = e.take();
  out.reserve(out.size() + (prefix ? prefix->size() : 0) + args_.size());
  if (prefix) out.insert(out.end(), prefix->begin(), prefix->end());
  out.insert(out.end(), args_.buffer().begin(), args_.buffer().end());
  return out;
}

std::vector<uint8_t> CompoundBuilder::encode() const { return encode_prefixed(nullptr, 0); }

std::vector<uint8_t> CompoundBuilder::encode_with_sequence(const SequenceArgs& seq) const {
  CompoundBuilder prefix;
  prefix.sequence(seq);
  return encode_prefixed(&prefix.args_.buffer(), 1);
}

Result<CompoundReply> CompoundReply::parse(std::vector<uint8_t> raw, size_t offset,
                                           std::span<const uint32_t> sent_ops) {
  if (offset > raw.size()) return Result<CompoundReply>::error(EBADMSG);
  CompoundReply r;
  r.offset_ = offset;
  XdrDecoder dec(raw.data() + offset, raw.size() - offset);
  r.status_ = dec.u32();
  r.tag_ = std::string(dec.string(kMaxTag));
  uint32_t n = dec.array_len(kMaxResults, 8);
  for (uint32_t i = 0; i < n && dec.ok(); i++) {
    OpResult res;
    res.op = dec.u32();
    res.status = dec.u32();
    res.body_offset = static_cast<size_t>(dec.position() - raw.data());
    const OpInfo* info = find_op(res.op);
    if (info) {
      info->skip(dec, res.status);
    } else if (i + 1 == n) {
      dec.skip(dec.remaining());  // unknown last op: its body is the rest
    } else {
      PLOG_WARN("client: reply has result for unknown op %u before the last result", res.op);
      dec.fail();
    }
    res.body_size = static_cast<size_t>(dec.position() - raw.data()) - res.body_offset;
    r.results_.push_back(res);
  }
  if (!dec.ok()) return Result<CompoundReply>::error(EBADMSG);

  if (!sent_ops.empty()) {
    if (r.results_.size() > sent_ops.size()) return Result<CompoundReply>::error(EBADMSG);
    for (size_t i = 0; i < r.results_.size(); i++) {
      const OpResult& res = r.results_[i];
      if (res.op != sent_ops[i] && res.op != OP_ILLEGAL) {
        PLOG_WARN("client: result %zu answers op %u, sent %u", i, res.op, sent_ops[i]);
        return Result<CompoundReply>::error(EBADMSG);
      }
      bool last = i + 1 == r.results_.size();
      if (!last && res.status != NFS4_OK) {
        PLOG_WARN("client: op %zu (%s) failed with %u but results go on", i,
                  op_name(res.op).c_str(), res.status);
        return Result<CompoundReply>::error(EBADMSG);
      }
    }
    if (!r.results_.empty() && r.results_.back().status != r.status_) {
      PLOG_WARN("client: compound status %u differs from last op status %u", r.status_,
                r.results_.back().status);
      return Result<CompoundReply>::error(EBADMSG);
    }
    if (r.results_.size() < sent_ops.size() && r.status_ == NFS4_OK) {
      PLOG_WARN("client: compound OK but only %zu of %zu results", r.results_.size(),
                sent_ops.size());
      return Result<CompoundReply>::error(EBADMSG);
    }
  }
  r.raw_ = std::move(raw);
  return r;
}

}  // namespace pnfsgw::client
