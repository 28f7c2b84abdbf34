// CompoundBuilder encoders for session, client id (4.1 and 4.0) and pNFS
// operations (RFC 8881 18.33-18.51, 18.40-18.44; RFC 7530 16). The file and
// namespace operations and the reply parser are in compound.cc.
#include <algorithm>

#include "client/compound.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
void encode_authsys(XdrEncoder& enc, const rpc::AuthSysParams& p) {
  enc.u32(p.stamp);
  enc.string(p.machine);
  enc.u32(p.uid);
  enc.u32(p.gid);
  size_t n = std::min(p.gids.size(), rpc::kMaxAuthSysGids);
  enc.u32(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; i++) enc.u32(p.gids[i]);
}
}  // namespace

void encode_sequence_op(XdrEncoder& e, const SequenceArgs& a) {
  e.u32(OP_SEQUENCE);
  e.fixed_opaque(a.sessionid.data(), a.sessionid.size());
  e.u32(a.sequenceid);
  e.u32(a.slotid);
  e.u32(a.highest_slotid);
  e.boolean(a.cachethis);
}

CompoundBuilder& CompoundBuilder::sequence(const SequenceArgs& a) {
  ops_.push_back(OP_SEQUENCE);
  encode_sequence_op(args_, a);
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

}  // namespace pnfsgw::client
