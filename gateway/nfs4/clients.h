// Client records and sessions (RFC 8881 2.4, 2.10, 18.35, 18.36, 18.46;
// RFC 7530 16.33/16.34 for NFSv4.0 SETCLIENTID).
//
// ClientTable owns every client record and session. Sessions are shared
// (shared_ptr) because a request in flight keeps using its session after a
// DESTROY_SESSION from another connection. One mutex (mu_) guards the
// tables; each Session has its own mutex for its slot table so requests on
// different sessions don't contend. Lock order: ClientTable::mu_ before
// Session::mu. Safe from any thread.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/nfs4/nfs4_const.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::nfs4 {

using Clock = std::chrono::steady_clock;
using SessionId = std::array<uint8_t, NFS4_SESSIONID_SIZE>;
using Verifier = std::array<uint8_t, NFS4_VERIFIER_SIZE>;

struct ChannelAttrs {
  uint32_t headerpadsize = 0;
  uint32_t maxrequestsize = 0;
  uint32_t maxresponsesize = 0;
  uint32_t maxresponsesize_cached = 0;
  uint32_t maxoperations = 0;
  uint32_t maxrequests = 0;
};

// One slot of a session's fore channel (RFC 8881 2.10.6.1).
struct Slot {
  enum class Kind : uint8_t { kEmpty, kCached, kUncached };
  uint32_t seqid = 0;
  bool in_progress = false;
  Kind kind = Kind::kEmpty;
  std::vector<uint8_t> reply;  // whole COMPOUND4res when kCached
  // While in_progress: the kind of the request before, which the reply
  // still belongs to, for abandon_slot().
  Kind prev_kind = Kind::kEmpty;
};

class Session {
 public:
  SessionId id{};
  uint64_t clientid = 0;
  ChannelAttrs fore, back;
  uint32_t cb_program = 0;
  // The minor version the session was created with: CB_COMPOUNDs carry it,
  // and the Linux client drops callbacks of another minor version.
  uint32_t minorversion = 1;
  bool cb_auth_sys = false;
  rpc::AuthSysParams cb_cred;

  std::mutex mu;
  std::vector<Slot> slots;                                  // guarded by mu
  std::vector<std::weak_ptr<rpc::RpcConnection>> conns;     // guarded by mu
  std::weak_ptr<rpc::RpcConnection> back_conn;              // guarded by mu
  uint32_t cb_seqid = 0;                                    // guarded by mu (slot 0)
  bool cb_busy = false;                                     // guarded by mu
  bool cb_probed = false;                                   // guarded by mu
  bool cb_down = false;                                     // guarded by mu
  bool destroyed = false;                                   // guarded by mu

  // The live backchannel connection, if any. Locks mu.
  std::shared_ptr<rpc::RpcConnection> backchannel();
};

// Outcome of SEQUENCE's slot processing.
struct SequenceResult {
  nfsstat4 status = NFS4_OK;
  std::shared_ptr<Session> session;
  bool replay = false;               // reply holds the cached COMPOUND4res
  std::vector<uint8_t> reply;
  uint32_t highest_slotid = 0;       // the session's highest slot
  uint32_t status_flags = 0;         // SEQ4_STATUS_*
};

struct ExchangeIdResult {
  uint64_t clientid = 0;
  uint32_t sequenceid = 0;
  uint32_t flags = 0;
};

class ClientTable {
 public:
  struct Options {
    std::chrono::seconds lease{90};
    uint32_t max_clients = 4096;
    uint32_t max_sessions_per_client = 16;
    uint32_t max_slots = 64;
    uint32_t max_request = 1u << 20 | 64u << 10;   // maxrequestsize we accept
    uint32_t max_response = 1u << 20 | 64u << 10;
    uint32_t max_response_cached = 64u << 10;      // larger replies are not cached
    uint32_t max_ops = 64;
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
  };
  explicit ClientTable(Options opts);

  uint32_t lease_seconds() const { return static_cast<uint32_t>(opts_.lease.count()); }
  uint32_t max_ops() const { return opts_.max_ops; }
  // Server instance id; changes every start (stateids and session ids carry it).
  uint32_t boot_id() const { return boot_id_; }

  // --- NFSv4.1 ---
  nfsstat4 exchange_id(const std::string& owner, const Verifier& verifier, uint32_t flags,
                       uint32_t principal_uid, ExchangeIdResult* out);
  // csa_sequence replay: if *cached_reply is set on return, send it as the
  // CREATE_SESSION result instead of a new session.
  nfsstat4 create_session(uint64_t clientid, uint32_t sequence, uint32_t flags,
                          const ChannelAttrs& fore_req, const ChannelAttrs& back_req,
                          uint32_t cb_program, const rpc::AuthSysParams* cb_cred,
                          const std::shared_ptr<rpc::RpcConnection>& conn,
                          std::shared_ptr<Session>* out, std::vector<uint8_t>* cached_reply,
                          std::vector<uint64_t>* replaced_clients);
  // Stores the encoded CREATE_SESSION result for replays of this sequence.
  void cache_create_session_reply(uint64_t clientid, std::vector<uint8_t> reply);
  SequenceResult sequence(const SessionId& sid, uint32_t seqid, uint32_t slotid,
                          uint32_t highest_slotid, const std::shared_ptr<rpc::RpcConnection>& conn);
  // Finishes the request that SEQUENCE started on this slot.
  void finish_slot(Session& s, uint32_t slotid, bool cache, const std::vector<uint8_t>& reply);
  // Puts the slot back as it was before SEQUENCE started the request (a
  // COMPOUND begun on an event loop that goes on to the pool, where its
  // SEQUENCE runs again as a new request).
  void abandon_slot(Session& s, uint32_t slotid);
  nfsstat4 destroy_session(const SessionId& sid, const rpc::RpcConnection* conn);
  // DESTROY_CLIENTID: fails with CLIENTID_BUSY while sessions exist.
  nfsstat4 destroy_clientid(uint64_t clientid);
  nfsstat4 bind_conn(const SessionId& sid, uint32_t dir, const std::shared_ptr<rpc::RpcConnection>& conn,
                     uint32_t* dir_out);
  nfsstat4 reclaim_complete(uint64_t clientid);
  std::shared_ptr<Session> find_session(const SessionId& sid);
  std::vector<std::shared_ptr<Session>> sessions_of(uint64_t clientid);

  // --- NFSv4.0 ---
  nfsstat4 setclientid(const std::string& owner, const Verifier& verifier, uint32_t principal_uid,
                       uint64_t* clientid, Verifier* confirm);
  nfsstat4 setclientid_confirm(uint64_t clientid, const Verifier& confirm,
                               std::vector<uint64_t>* replaced_clients);
  nfsstat4 renew(uint64_t clientid);

  // Checks a clientid used by a state op: NFS4ERR_STALE_CLIENTID if unknown
  // (minor 0) / unconfirmed, NFS4ERR_EXPIRED after expiry. Renews (minor 0).
  nfsstat4 check_client(uint64_t clientid, uint32_t minor_version);

  // Removes clients whose lease ran out; returns their ids so the caller
  // can drop their open and lock state.
  std::vector<std::pair<uint64_t, std::string>> expire_idle();
  std::string owner_of(uint64_t clientid);

 private:
  struct Client {
    uint64_t clientid = 0;
    std::string owner;
    Verifier verifier{};
    uint32_t principal_uid = 0;
    uint32_t minor_version = 1;
    bool confirmed = false;
    uint32_t cs_sequence = 0;               // next expected csa_sequence
    std::vector<uint8_t> cs_reply;          // cached reply for cs_sequence - 1
    Verifier confirm{};                     // 4.0 SETCLIENTID confirm verifier
    Clock::time_point renewed;
    bool reclaim_complete = false;
    std::vector<SessionId> sessions;
  };
  Client* find_locked(uint64_t clientid);
  uint64_t new_clientid_locked();
  void remove_client_locked(uint64_t clientid);
  void renew_locked(Client& c) { c.renewed = opts_.now(); }

  Options opts_;
  uint32_t boot_id_;
  std::mutex mu_;
  uint32_t next_client_ = 1;                                   // guarded by mu_
  uint64_t next_session_ = 1;                                  // guarded by mu_
  std::map<uint64_t, Client> clients_;                         // guarded by mu_
  std::map<SessionId, std::shared_ptr<Session>> sessions_;     // guarded by mu_
};

}  // namespace pnfsgw::nfs4
