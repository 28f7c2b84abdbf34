// Nfs4Client: connections, client id and session (RFC 8881 18.33-18.37,
// 18.46, 18.50-18.51). File operations are in nfs4_fileops.cc.
#include "client/nfs4_client.h"

#include <algorithm>
#include <array>
#include <random>

#include "client/ops_reply.h"
#include "common/log.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
constexpr uint32_t kBackChannelMaxMsg = 16 * 1024;
constexpr uint32_t kBackChannelMaxOps = 8;

bool outcome_unknown(int err) { return err == ETIMEDOUT || err == ECONNRESET || err == EBADMSG; }

// SEQUENCE and then a builder's ops: what a session compound sends, for
// checking its reply. Short compounds (every file op) need no allocation.
class SentOps {
 public:
  explicit SentOps(std::span<const uint32_t> ops) : count_(ops.size() + 1) {
    uint32_t* p = inline_.data();
    if (count_ > inline_.size()) {
      many_.resize(count_);
      p = many_.data();
    }
    p[0] = OP_SEQUENCE;
    std::copy(ops.begin(), ops.end(), p + 1);
  }
  std::span<const uint32_t> ops() const {
    return {many_.empty() ? inline_.data() : many_.data(), count_};
  }

 private:
  std::array<uint32_t, 8> inline_{};
  std::vector<uint32_t> many_;
  size_t count_;
};
}  // namespace

Nfs4Client::Nfs4Client(Nfs4ClientOptions opts) : opts_(std::move(opts)), cb_(opts_.cb_program) {
  cred_.stamp = static_cast<uint32_t>(time(nullptr));
  cred_.machine = opts_.machine;
  cred_.uid = opts_.uid;
  cred_.gid = opts_.gid;
  cred_.gids = opts_.gids;
  std::random_device rd;
  for (auto& b : boot_verf_) b = static_cast<uint8_t>(rd());
}

Nfs4Client::~Nfs4Client() {
  // No protocol traffic here: the server may be gone. shutdown() is the
  // polite way out.
  for (auto& c : conns_) c->close();
}

RpcClientConnection* Nfs4Client::conn(size_t i) {
  return i < conns_.size() ? conns_[i].get() : nullptr;
}

Status Nfs4Client::connect(const std::string& host, uint16_t port) {
  RpcClientOptions ropts;
  ropts.max_record = std::max<size_t>(opts_.max_response * 2ull, 1u << 20);
  auto c = RpcClientConnection::connect(host, port, ropts);
  if (!c) return c.status();
  (*c)->set_call_handler([this](const rpc::CallHeader& h, xdr::XdrDecoder& a, xdr::XdrEncoder& r) {
    return cb_.handle_call(h, a, r);
  });
  conns_.push_back(std::move(c).value());
  return Status::ok();
}

Status Nfs4Client::mount(const std::string& host, uint16_t port) {
  if (Status st = connect(host, port); !st) return st;
  if (v40()) return setclientid();
  if (Status st = exchange_id(); !st) return st;
  if (Status st = create_session(); !st) return st;
  return reclaim_complete();
}

Result<CompoundReply> Nfs4Client::call_compound(RpcClientConnection* cn, const CompoundParts& args,
                                                std::span<const uint32_t> sent_ops) {
  auto reply =
      cn->call_gather(kNfsProgram, kNfsVersion, kProcCompound, cred(), args.spans(), opts_.timeout);
  if (!reply) return reply.status();
  size_t off = reply->results_offset;
  return CompoundReply::parse(std::move(reply->record), off, sent_ops);
}

Result<CompoundReply> Nfs4Client::send_compound(const CompoundBuilder& c, size_t conn_index) {
  RpcClientConnection* cn = conn(conn_index);
  if (!cn) return Status::error(ENOTCONN);
  CompoundParts args;
  c.encode_parts(c.minorversion(), nullptr, &args);
  return call_compound(cn, args, c.ops());
}

OpsReply Nfs4Client::run(const CompoundBuilder& ops) {
  return OpsReply(compound(ops), v40() ? 0 : 1);
}

void Nfs4Client::recycle(OpsReply& r) {
  if (RpcClientConnection* cn = conn(0)) cn->recycle(r.release_buffer());
}

Result<RpcReply> Nfs4Client::send_raw(std::span<const uint8_t> compound_args, size_t conn_index) {
  RpcClientConnection* cn = conn(conn_index);
  if (!cn) return Status::error(ENOTCONN);
  return cn->call(kNfsProgram, kNfsVersion, kProcCompound, cred(), compound_args, opts_.timeout);
}

Status Nfs4Client::null_call(size_t conn_index) {
  RpcClientConnection* cn = conn(conn_index);
  if (!cn) return Status::error(ENOTCONN);
  auto reply = cn->call(kNfsProgram, kNfsVersion, kProcNull, cred(), {}, opts_.timeout);
  return reply ? Status::ok() : reply.status();
}

Status Nfs4Client::exchange_id() {
  ExchangeIdArgs a;
  a.verifier = boot_verf_;
  a.owner = opts_.owner;
  CompoundBuilder b("exchange_id", opts_.minorversion);
  b.exchange_id(a);
  auto r = send_compound(b);
  if (!r) return r.status();
  auto res = r->get<ExchangeIdRes>(0);
  if (!res) return res.status();
  clientid_ = res->clientid;
  eid_sequenceid_ = res->sequenceid;
  return Status::ok();
}

Status Nfs4Client::create_session() {
  CreateSessionArgs a;
  a.clientid = clientid_;
  a.sequenceid = eid_sequenceid_;
  a.flags = opts_.back_channel ? CREATE_SESSION4_FLAG_CONN_BACK_CHAN : 0;
  a.fore = ChannelAttrs{0,
                        opts_.max_request,
                        opts_.max_response,
                        opts_.max_response_cached,
                        opts_.max_ops,
                        opts_.fore_slots};
  a.back = ChannelAttrs{0,
                        kBackChannelMaxMsg,
                        kBackChannelMaxMsg,
                        kBackChannelMaxMsg,
                        kBackChannelMaxOps,
                        opts_.back_slots};
  a.cb_program = opts_.cb_program;
  a.cb_sys = cred();
  CompoundBuilder b("create_session", opts_.minorversion);
  b.create_session(a);

  cb_.expect_session();
  auto r = send_compound(b);
  Result<CreateSessionRes> res =
      r ? r->get<CreateSessionRes>(0) : Result<CreateSessionRes>(r.status());
  if (!res) {
    cb_.clear_session();
    return res.status();
  }
  sessionid_ = res->sessionid;
  fore_attrs_ = res->fore;
  back_attrs_ = res->back;
  uint32_t nslots = std::min(opts_.fore_slots, std::max<uint32_t>(res->fore.maxrequests, 1));
  slots_ = std::make_unique<SlotTable>(nslots);
  cb_.set_session(sessionid_, std::max<uint32_t>(res->back.maxrequests, 1), opts_.minorversion);
  has_session_ = true;
  PLOG_DEBUG("client: session established, %u fore slots, %u back slots", nslots,
             res->back.maxrequests);
  return Status::ok();
}

Status Nfs4Client::reclaim_complete() {
  if (v40()) return Status::ok();  // RFC 7530 has no RECLAIM_COMPLETE
  CompoundBuilder b("reclaim_complete");
  b.reclaim_complete(false);
  auto r = compound(b);
  if (!r) return r.status();
  // A second RECLAIM_COMPLETE is harmless for our purposes.
  if (r->status() == NFS4ERR_COMPLETE_ALREADY) return Status::ok();
  return r->ok_status();
}

Result<size_t> Nfs4Client::add_connection(const std::string& host, uint16_t port, uint32_t dir) {
  if (!has_session_) return Status::error(ENOTCONN);
  if (Status st = connect(host, port); !st) return st;
  size_t index = conns_.size() - 1;
  CompoundBuilder b("bind_conn");
  b.bind_conn_to_session(sessionid_, dir);
  auto r = send_compound(b, index);
  Result<BindConnToSessionRes> res =
      r ? r->get<BindConnToSessionRes>(0) : Result<BindConnToSessionRes>(r.status());
  if (!res) {
    conns_.back()->close();
    conns_.pop_back();
    return res.status();
  }
  if (res->sessionid != sessionid_) return Status::error(EBADMSG);
  return index;
}

Status Nfs4Client::destroy_session() {
  if (!has_session_) return Status::ok();
  // RFC 8881 18.37.3: DESTROY_SESSION may be the only op, without SEQUENCE.
  CompoundBuilder b("destroy_session", opts_.minorversion);
  b.destroy_session(sessionid_);
  auto r = send_compound(b);
  if (!r) return r.status();
  if (Status st = r->ok_status(); !st) return st;
  has_session_ = false;
  cb_.clear_session();
  return Status::ok();
}

Status Nfs4Client::destroy_clientid() {
  CompoundBuilder b("destroy_clientid", opts_.minorversion);
  b.destroy_clientid(clientid_);
  auto r = send_compound(b);
  if (!r) return r.status();
  return r->ok_status();
}

void Nfs4Client::shutdown() {
  if (!v40() && !conns_.empty() && conns_[0]->is_open()) {
    if (has_session_ && !destroy_session()) PLOG_DEBUG("client: DESTROY_SESSION failed");
    if (clientid_ && !destroy_clientid()) PLOG_DEBUG("client: DESTROY_CLIENTID failed");
  }
  for (auto& c : conns_) c->close();
}

Result<CompoundReply> Nfs4Client::compound(const CompoundBuilder& ops) {
  return send_with_slot(0, ops);
}

Result<CompoundReply> Nfs4Client::compound_on(size_t conn_index, const CompoundBuilder& ops) {
  return send_with_slot(conn_index, ops);
}

Result<CompoundReply> Nfs4Client::send_with_slot(size_t conn_index, const CompoundBuilder& ops) {
  RpcClientConnection* cn = conn(conn_index);
  if (!cn) return Status::error(ENOTCONN);
  CompoundParts args;
  if (v40()) {
    ops.encode_parts(0, nullptr, &args);
    return call_compound(cn, args, ops.ops());
  }
  if (!has_session_ || !slots_) return Status::error(ENOTCONN);
  auto slot = slots_->acquire(opts_.timeout);
  if (!slot) return slot.status();

  SequenceArgs seq{sessionid_, slot->sequenceid, slot->slotid, slot->highest_slotid, false};
  ops.encode_parts(opts_.minorversion, &seq, &args);
  SentOps sent(ops.ops());
  Result<CompoundReply> r = call_compound(cn, args, sent.ops());
  if (!r) {
    // Did the server run it? Unknown: leave the slot alone from now on.
    if (outcome_unknown(r.err())) {
      PLOG_WARN("client: slot %u retired after %s", slot->slotid, status_name(r.err()));
      slots_->retire(slot->slotid);
    } else {
      slots_->release(slot->slotid, false);
    }
    return r;
  }
  auto seq_res = r->get<SequenceRes>(0);
  if (!seq_res) {
    slots_->release(slot->slotid, false);  // SEQUENCE failed: seqid not consumed
    return r;
  }
  if (seq_res->sessionid != sessionid_ || seq_res->slotid != slot->slotid ||
      seq_res->sequenceid != slot->sequenceid) {
    PLOG_WARN("client: SEQUENCE reply names another session/slot/seqid");
    slots_->retire(slot->slotid);
    return Status::error(EBADMSG);
  }
  slots_->release(slot->slotid, true);
  slots_->set_server_highest(seq_res->highest_slotid);
  last_seq_flags_ = seq_res->status_flags;
  return r;
}

}  // namespace pnfsgw::client
