#include "gateway/nfs4/clients.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

namespace pnfsgw::nfs4 {

std::shared_ptr<rpc::RpcConnection> Session::backchannel() {
  std::lock_guard<std::mutex> lk(mu);
  auto c = back_conn.lock();
  return c && c->is_open() ? c : nullptr;
}

ClientTable::ClientTable(Options opts) : opts_(std::move(opts)) {
  uint32_t r = 0;
  RAND_bytes(reinterpret_cast<uint8_t*>(&r), sizeof r);
  // Never 0: a zero boot id would make clientid 0 / special stateids valid.
  boot_id_ = r ? r : 1;
}

ClientTable::Client* ClientTable::find_locked(uint64_t clientid) {
  auto it = clients_.find(clientid);
  return it == clients_.end() ? nullptr : &it->second;
}

uint64_t ClientTable::new_clientid_locked() {
  return (uint64_t{boot_id_} << 32) | next_client_++;
}

void ClientTable::remove_client_locked(uint64_t clientid) {
  auto it = clients_.find(clientid);
  if (it == clients_.end()) return;
  for (const SessionId& sid : it->second.sessions) {
    auto s = sessions_.find(sid);
    if (s == sessions_.end()) continue;
    std::lock_guard<std::mutex> lk(s->second->mu);
    s->second->destroyed = true;
    sessions_.erase(s);
  }
  clients_.erase(it);
}

// RFC 8881 18.35.5: the cases of EXCHANGE_ID, simplified to what matters
// with AUTH_SYS principals.
nfsstat4 ClientTable::exchange_id(const std::string& owner, const Verifier& verifier,
                                  uint32_t flags, uint32_t principal_uid, ExchangeIdResult* out) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* confirmed = nullptr;
  Client* unconfirmed = nullptr;
  for (auto& [id, c] : clients_) {
    if (c.owner != owner || c.minor_version == 0) continue;
    (c.confirmed ? confirmed : unconfirmed) = &c;
  }
  const uint32_t server_flags = EXCHGID4_FLAG_USE_NON_PNFS;
  if (flags & EXCHGID4_FLAG_UPD_CONFIRMED_REC_A) {
    if (!confirmed) return NFS4ERR_NOENT;
    if (confirmed->principal_uid != principal_uid) return NFS4ERR_PERM;
    if (confirmed->verifier != verifier) return NFS4ERR_NOT_SAME;
    renew_locked(*confirmed);
    *out = {confirmed->clientid, confirmed->cs_sequence, server_flags | EXCHGID4_FLAG_CONFIRMED_R};
    return NFS4_OK;
  }
  if (confirmed && confirmed->verifier == verifier) {
    if (confirmed->principal_uid != principal_uid) return NFS4ERR_CLID_INUSE;
    renew_locked(*confirmed);
    *out = {confirmed->clientid, confirmed->cs_sequence, server_flags | EXCHGID4_FLAG_CONFIRMED_R};
    return NFS4_OK;
  }
  if (clients_.size() >= opts_.max_clients && !unconfirmed) return NFS4ERR_RESOURCE;
  // New client, or a client that rebooted (new verifier): a fresh
  // unconfirmed record. A confirmed record from before the reboot goes when
  // this one is confirmed by CREATE_SESSION.
  if (unconfirmed) remove_client_locked(unconfirmed->clientid);
  Client c;
  c.clientid = new_clientid_locked();
  c.owner = owner;
  c.verifier = verifier;
  c.principal_uid = principal_uid;
  c.minor_version = 1;
  c.cs_sequence = 1;
  renew_locked(c);
  *out = {c.clientid, c.cs_sequence, server_flags};
  clients_.emplace(c.clientid, std::move(c));
  return NFS4_OK;
}

static ChannelAttrs negotiate(const ChannelAttrs& req, uint32_t max_req, uint32_t max_resp,
                              uint32_t max_cached, uint32_t max_ops, uint32_t max_slots) {
  ChannelAttrs a;
  a.headerpadsize = 0;
  a.maxrequestsize = std::min(req.maxrequestsize, max_req);
  a.maxresponsesize = std::min(req.maxresponsesize, max_resp);
  a.maxresponsesize_cached = std::min(req.maxresponsesize_cached, max_cached);
  a.maxoperations = std::min(req.maxoperations, max_ops);
  a.maxrequests = std::clamp<uint32_t>(req.maxrequests, 1, max_slots);
  return a;
}

nfsstat4 ClientTable::create_session(uint64_t clientid, uint32_t sequence, uint32_t flags,
                                     const ChannelAttrs& fore_req, const ChannelAttrs& back_req,
                                     uint32_t cb_program, const rpc::AuthSysParams* cb_cred,
                                     const std::shared_ptr<rpc::RpcConnection>& conn,
                                     std::shared_ptr<Session>* out,
                                     std::vector<uint8_t>* cached_reply,
                                     std::vector<uint64_t>* replaced_clients) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* c = find_locked(clientid);
  if (!c || c->minor_version == 0) return NFS4ERR_STALE_CLIENTID;
  // RFC 8881 18.36.4: csa_sequence is checked against the client record's
  // own replay slot.
  if (sequence + 1 == c->cs_sequence && !c->cs_reply.empty()) {
    *cached_reply = c->cs_reply;
    return NFS4_OK;
  }
  if (sequence != c->cs_sequence) return NFS4ERR_SEQ_MISORDERED;
  // Sizes too small to carry a SEQUENCE + one op cannot work.
  if (fore_req.maxrequestsize < 256 || fore_req.maxresponsesize < 256 || fore_req.maxoperations < 2)
    return NFS4ERR_TOOSMALL;
  if (c->sessions.size() >= opts_.max_sessions_per_client) return NFS4ERR_RESOURCE;

  auto s = std::make_shared<Session>();
  uint64_t n = next_session_++;
  memcpy(&s->id[0], &boot_id_, 4);
  memcpy(&s->id[4], &clientid, 8);
  memcpy(&s->id[12], &n, 4);
  s->clientid = clientid;
  s->fore = negotiate(fore_req, opts_.max_request, opts_.max_response, opts_.max_response_cached,
                      opts_.max_ops, opts_.max_slots);
  // Our callbacks are small; one backchannel slot is all we use.
  s->back = negotiate(back_req, back_req.maxrequestsize, back_req.maxresponsesize,
                      back_req.maxresponsesize_cached, back_req.maxoperations, 1);
  s->cb_program = cb_program;
  if (cb_cred) {
    s->cb_auth_sys = true;
    s->cb_cred = *cb_cred;
  }
  s->slots.resize(s->fore.maxrequests);
  s->conns.push_back(conn);
  if (flags & CREATE_SESSION4_FLAG_CONN_BACK_CHAN) s->back_conn = conn;

  if (!c->confirmed) {
    c->confirmed = true;
    std::vector<uint64_t> old;
    for (auto& [id, other] : clients_)
      if (id != clientid && other.owner == c->owner && other.minor_version == c->minor_version)
        old.push_back(id);
    for (uint64_t id : old) remove_client_locked(id);
    c = find_locked(clientid);
    *replaced_clients = std::move(old);
  }
  c->cs_sequence++;
  c->cs_reply.clear();
  c->sessions.push_back(s->id);
  renew_locked(*c);
  sessions_.emplace(s->id, s);
  *out = s;
  return NFS4_OK;
}

void ClientTable::cache_create_session_reply(uint64_t clientid, std::vector<uint8_t> reply) {
  std::lock_guard<std::mutex> lk(mu_);
  if (Client* c = find_locked(clientid)) c->cs_reply = std::move(reply);
}

SequenceResult ClientTable::sequence(const SessionId& sid, uint32_t seqid, uint32_t slotid,
                                     uint32_t highest_slotid,
                                     const std::shared_ptr<rpc::RpcConnection>& conn) {
  SequenceResult r;
  std::shared_ptr<Session> s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) {
      r.status = NFS4ERR_BADSESSION;
      return r;
    }
    s = it->second;
    if (Client* c = find_locked(s->clientid)) renew_locked(*c);
  }
  std::lock_guard<std::mutex> lk(s->mu);
  if (s->destroyed) {
    r.status = NFS4ERR_BADSESSION;
    return r;
  }
  r.highest_slotid = static_cast<uint32_t>(s->slots.size() - 1);
  if (slotid >= s->slots.size() || highest_slotid >= s->slots.size()) {
    r.status = NFS4ERR_BADSLOT;
    return r;
  }
  Slot& slot = s->slots[slotid];
  // RFC 8881 2.10.6.1: same seqid = retry, seqid + 1 = new request.
  if (seqid == slot.seqid && slot.kind != Slot::Kind::kEmpty) {
    if (slot.in_progress) {
      r.status = NFS4ERR_DELAY;
    } else if (slot.kind == Slot::Kind::kCached) {
      r.replay = true;
      r.reply = slot.reply;
      r.session = s;
    } else {
      r.status = NFS4ERR_RETRY_UNCACHED_REP;
    }
    return r;
  }
  if (seqid != slot.seqid + 1 || slot.in_progress) {
    r.status = NFS4ERR_SEQ_MISORDERED;
    return r;
  }
  slot.seqid = seqid;
  slot.in_progress = true;
  slot.prev_kind = slot.kind;  // the reply stays until finish_slot(), for abandon_slot()
  slot.kind = Slot::Kind::kUncached;
  bool bound = false;
  for (auto& w : s->conns) bound |= w.lock().get() == conn.get();
  if (!bound) s->conns.push_back(conn);  // SP4_NONE: implicit fore binding
  auto back = s->back_conn.lock();
  if (!back || !back->is_open() || s->cb_down) {
    r.status_flags |= SEQ4_STATUS_CB_PATH_DOWN_SESSION;
    if (!back || !back->is_open()) r.status_flags |= SEQ4_STATUS_CB_PATH_DOWN;
  }
  r.session = s;
  return r;
}

void ClientTable::abandon_slot(Session& s, uint32_t slotid) {
  std::lock_guard<std::mutex> lk(s.mu);
  if (slotid >= s.slots.size()) return;
  Slot& slot = s.slots[slotid];
  if (!slot.in_progress) return;
  slot.in_progress = false;
  slot.seqid--;
  slot.kind = slot.prev_kind;
}

void ClientTable::finish_slot(Session& s, uint32_t slotid, bool cache,
                              const std::vector<uint8_t>& reply) {
  std::lock_guard<std::mutex> lk(s.mu);
  if (slotid >= s.slots.size()) return;
  Slot& slot = s.slots[slotid];
  slot.in_progress = false;
  if (cache) {
    slot.kind = Slot::Kind::kCached;
    slot.reply = reply;
  } else {
    slot.kind = Slot::Kind::kUncached;
    slot.reply.clear();
  }
}

nfsstat4 ClientTable::destroy_session(const SessionId& sid, const rpc::RpcConnection* conn) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return NFS4ERR_BADSESSION;
  auto s = it->second;
  if (Client* c = find_locked(s->clientid)) {
    auto& v = c->sessions;
    v.erase(std::remove(v.begin(), v.end(), sid), v.end());
    renew_locked(*c);
  }
  {
    std::lock_guard<std::mutex> slk(s->mu);
    s->destroyed = true;
  }
  sessions_.erase(it);
  return NFS4_OK;
}

nfsstat4 ClientTable::destroy_clientid(uint64_t clientid) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* c = find_locked(clientid);
  if (!c) return NFS4ERR_STALE_CLIENTID;
  if (!c->sessions.empty()) return NFS4ERR_CLIENTID_BUSY;
  remove_client_locked(clientid);
  return NFS4_OK;
}

nfsstat4 ClientTable::bind_conn(const SessionId& sid, uint32_t dir,
                                const std::shared_ptr<rpc::RpcConnection>& conn,
                                uint32_t* dir_out) {
  auto s = find_session(sid);
  if (!s) return NFS4ERR_BADSESSION;
  std::lock_guard<std::mutex> lk(s->mu);
  bool fore = dir == CDFC4_FORE || dir == CDFC4_FORE_OR_BOTH || dir == CDFC4_BACK_OR_BOTH;
  bool back = dir == CDFC4_BACK || dir == CDFC4_FORE_OR_BOTH || dir == CDFC4_BACK_OR_BOTH;
  if (!fore && !back) return NFS4ERR_INVAL;
  if (fore) s->conns.push_back(conn);
  if (back) {
    s->back_conn = conn;
    s->cb_down = false;
    s->cb_probed = false;
  }
  *dir_out = (fore ? CDFS4_FORE : 0) | (back ? CDFS4_BACK : 0);
  return NFS4_OK;
}

nfsstat4 ClientTable::reclaim_complete(uint64_t clientid) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* c = find_locked(clientid);
  if (!c) return NFS4ERR_STALE_CLIENTID;
  if (c->reclaim_complete) return NFS4ERR_COMPLETE_ALREADY;
  c->reclaim_complete = true;
  return NFS4_OK;
}

std::shared_ptr<Session> ClientTable::find_session(const SessionId& sid) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = sessions_.find(sid);
  return it == sessions_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Session>> ClientTable::sessions_of(uint64_t clientid) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::shared_ptr<Session>> out;
  if (Client* c = find_locked(clientid))
    for (const SessionId& sid : c->sessions)
      if (auto it = sessions_.find(sid); it != sessions_.end()) out.push_back(it->second);
  return out;
}

// RFC 7530 16.33.5, collapsed to the cases a real client produces.
nfsstat4 ClientTable::setclientid(const std::string& owner, const Verifier& verifier,
                                  uint32_t principal_uid, uint64_t* clientid, Verifier* confirm) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* confirmed = nullptr;
  std::vector<uint64_t> unconfirmed;
  for (auto& [id, c] : clients_) {
    if (c.owner != owner || c.minor_version != 0) continue;
    if (c.confirmed) confirmed = &c;
    else unconfirmed.push_back(id);
  }
  if (confirmed && confirmed->principal_uid != principal_uid) return NFS4ERR_CLID_INUSE;
  for (uint64_t id : unconfirmed) remove_client_locked(id);
  if (clients_.size() >= opts_.max_clients) return NFS4ERR_RESOURCE;
  RAND_bytes(confirm->data(), confirm->size());
  if (confirmed && confirmed->verifier == verifier) {
    // Callback update of a confirmed client: same id, new confirm verifier.
    confirmed->confirm = *confirm;
    *clientid = confirmed->clientid;
    return NFS4_OK;
  }
  Client c;
  c.clientid = new_clientid_locked();
  c.owner = owner;
  c.verifier = verifier;
  c.principal_uid = principal_uid;
  c.minor_version = 0;
  c.confirm = *confirm;
  renew_locked(c);
  *clientid = c.clientid;
  clients_.emplace(c.clientid, std::move(c));
  return NFS4_OK;
}

nfsstat4 ClientTable::setclientid_confirm(uint64_t clientid, const Verifier& confirm,
                                          std::vector<uint64_t>* replaced_clients) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* c = find_locked(clientid);
  if (!c || c->minor_version != 0 || c->confirm != confirm) return NFS4ERR_STALE_CLIENTID;
  renew_locked(*c);
  if (c->confirmed) return NFS4_OK;
  c->confirmed = true;
  std::vector<uint64_t> old;
  for (auto& [id, other] : clients_)
    if (id != clientid && other.owner == c->owner && other.minor_version == 0) old.push_back(id);
  for (uint64_t id : old) remove_client_locked(id);
  *replaced_clients = std::move(old);
  return NFS4_OK;
}

nfsstat4 ClientTable::renew(uint64_t clientid) { return check_client(clientid, 0); }

nfsstat4 ClientTable::check_client(uint64_t clientid, uint32_t minor_version) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* c = find_locked(clientid);
  if (!c || !c->confirmed) return NFS4ERR_STALE_CLIENTID;
  if (minor_version == 0) renew_locked(*c);
  return NFS4_OK;
}

std::string ClientTable::owner_of(uint64_t clientid) {
  std::lock_guard<std::mutex> lk(mu_);
  Client* c = find_locked(clientid);
  return c ? c->owner : std::string();
}

std::vector<std::pair<uint64_t, std::string>> ClientTable::expire_idle() {
  std::lock_guard<std::mutex> lk(mu_);
  auto now = opts_.now();
  std::vector<std::pair<uint64_t, std::string>> expired;
  for (auto& [id, c] : clients_) {
    if (now - c.renewed <= opts_.lease) continue;
    bool busy = false;
    for (const SessionId& sid : c.sessions) {
      auto it = sessions_.find(sid);
      if (it == sessions_.end()) continue;
      std::lock_guard<std::mutex> slk(it->second->mu);
      for (const Slot& sl : it->second->slots) busy |= sl.in_progress;
    }
    if (!busy) expired.emplace_back(id, c.owner);
  }
  for (auto& [id, owner] : expired) remove_client_locked(id);
  return expired;
}

}  // namespace pnfsgw::nfs4
