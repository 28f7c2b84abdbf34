// Nfs4Client: an NFSv4.1 client session over one or more TCP connections.
//
// connect() opens the first connection; mount() then runs EXCHANGE_ID,
// CREATE_SESSION (with the back channel on that connection) and
// RECLAIM_COMPLETE. Every compound() then goes out with a SEQUENCE on a free
// slot.
//
// With minorversion 0 (NFSv4.0 basics, RFC 7530) mount() runs SETCLIENTID /
// SETCLIENTID_CONFIRM instead, compounds carry no SEQUENCE, OPEN is
// confirmed with OPEN_CONFIRM when the server asks, and the client tracks
// open-owner and lock-owner seqids, serializing the ops that use them. No
// NFSv4.0 callback service is offered (the callback address is unusable on
// purpose, so the server grants no delegations). The file operations below are thin wrappers: one
// compound each, returning typed results; errors are nfsstat4 values or client errnos (see
// nfs4_types.h). NFS4ERR_DELAY and NFS4ERR_BADSESSION are returned, not
// retried.
//
// Owns its connections and callback service. compound() and the file
// operations are safe from any thread concurrently; connect/establish/
// add_connection/shutdown are not (run them before or after the I/O).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/callback_service.h"
#include "client/compound.h"
#include "client/rpc_client.h"
#include "client/slot_table.h"

namespace pnfsgw::client {

struct Nfs4ClientOptions {
  std::string owner = "pnfsgw-client";  // co_ownerid; make unique per test client
  std::string open_owner = "open-owner";
  uint32_t minorversion = 1;  // 1; 2 for NFSv4.2 (the space ops); 0 for NFSv4.0
  bool auth_sys = true;       // else AUTH_NONE
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> gids;
  std::string machine = "pnfsgw-client";
  uint32_t fore_slots = 16;
  uint32_t back_slots = 4;
  uint32_t max_request = (1u << 20) + 4096;
  uint32_t max_response = (1u << 20) + 4096;
  uint32_t max_response_cached = 64 * 1024;
  uint32_t max_ops = 32;
  uint32_t cb_program = 0x40000000;
  bool back_channel = true;  // CREATE_SESSION4_FLAG_CONN_BACK_CHAN
  std::chrono::milliseconds timeout{30000};
};

struct OpenResult {
  Fh fh;
  Stateid stateid;
  uint32_t rflags = 0;
  uint32_t delegation_type = 0;
};

struct OpenOptions {
  uint32_t share_access = nfs4::OPEN4_SHARE_ACCESS_BOTH;
  uint32_t share_deny = nfs4::OPEN4_SHARE_DENY_NONE;
  bool create = false;
  uint32_t createmode = nfs4::UNCHECKED4;
  SetAttrs attrs;     // e.g. mode for UNCHECKED4/GUARDED4/EXCLUSIVE4_1
  Verifier verf{};    // EXCLUSIVE4_1
  std::string owner;  // open owner; empty: the client's default
};

struct WriteResult {
  uint32_t count = 0;
  uint32_t committed = 0;
  Verifier verf{};
};

struct ReadResult {
  std::vector<uint8_t> data;
  bool eof = false;
};

// read_into(): the first `count` bytes of the caller's buffer were read.
struct ReadIntoResult {
  uint32_t count = 0;
  bool eof = false;
};

// A READ's data left in the RPC record it arrived in (read_in_place()):
// owns that record, data() views it. Reusing one ReadBuffer for successive
// reads hands each previous record back to the connection, so a stream of
// large READs allocates nothing and copies nothing in userspace. Move-only
// (a move keeps data() valid); one thread at a time.
class ReadBuffer {
 public:
  ReadBuffer() = default;
  ReadBuffer(ReadBuffer&&) = default;
  ReadBuffer& operator=(ReadBuffer&&) = default;
  std::span<const uint8_t> data() const { return data_; }
  bool eof() const { return eof_; }

 private:
  friend class Nfs4Client;
  std::vector<uint8_t> record_;
  std::span<const uint8_t> data_;
  bool eof_ = false;
};

// A lock owner's state on one file: the open stateid it started from and,
// after its first granted LOCK, its lock stateid (updated by lock/locku).
struct LockOwnerState {
  std::string owner;
  Stateid open_stateid;
  std::optional<Stateid> lock_stateid;
  uint32_t seqid = 0;  // NFSv4.0 lock-owner seqid (unused in 4.1)
};

class OpsReply;

class Nfs4Client {
 public:
  explicit Nfs4Client(Nfs4ClientOptions opts = {});
  ~Nfs4Client();
  Nfs4Client(const Nfs4Client&) = delete;
  Nfs4Client& operator=(const Nfs4Client&) = delete;

  // ---- Connections and session ----
  Status connect(const std::string& host, uint16_t port);
  Status exchange_id();
  Status create_session();
  Status reclaim_complete();
  // NFSv4.0: SETCLIENTID + SETCLIENTID_CONFIRM, and lease renewal.
  Status setclientid();
  Status renew();
  // connect() + exchange_id() + create_session() + reclaim_complete()
  // (4.1), or connect() + setclientid() (4.0).
  Status mount(const std::string& host, uint16_t port);
  // Opens another connection and binds it with BIND_CONN_TO_SESSION
  // (dir: CDFC4_FORE, CDFC4_BACK, CDFC4_FORE_OR_BOTH, CDFC4_BACK_OR_BOTH).
  // Returns its index for compound_on().
  Result<size_t> add_connection(const std::string& host, uint16_t port,
                                uint32_t dir = nfs4::CDFC4_FORE_OR_BOTH);
  Status destroy_session();
  Status destroy_clientid();
  // DESTROY_SESSION + DESTROY_CLIENTID if established, then closes.
  void shutdown();

  // ---- Compounds ----
  // ops with a SEQUENCE in front, on connection 0.
  Result<CompoundReply> compound(const CompoundBuilder& ops);
  Result<CompoundReply> compound_on(size_t conn, const CompoundBuilder& ops);
  // Exactly the given ops (no SEQUENCE added): session setup, 4.0, tests.
  Result<CompoundReply> send_compound(const CompoundBuilder& c, size_t conn = 0);
  // Pre-encoded COMPOUND4args; the raw reply (tests comparing bytes).
  Result<RpcReply> send_raw(std::span<const uint8_t> compound_args, size_t conn = 0);
  Status null_call(size_t conn = 0);

  // ---- File operations ----
  Result<Fh> root_fh();
  Result<Fh> lookup_path(std::string_view path);
  Result<Fh> lookup(const Fh& dir, std::string_view name);
  Result<Fattr> getattr(const Fh& fh, const Bitmap4& mask = default_getattr_mask());
  Status setattr(const Fh& fh, const SetAttrs& attrs, const Stateid& s = Stateid::anonymous());
  Result<AccessRes> access(const Fh& fh, uint32_t mask);
  Result<OpenResult> open(const Fh& dir, std::string_view name, const OpenOptions& o = {});
  // CLAIM_FH open of an existing file.
  Result<OpenResult> open_fh(const Fh& fh, const OpenOptions& o = {});
  Result<Stateid> close(const Fh& fh, const Stateid& s);
  Result<Stateid> open_downgrade(const Fh& fh, const Stateid& s, uint32_t access, uint32_t deny);
  Result<ReadResult> read(const Fh& fh, const Stateid& s, uint64_t offset, uint32_t count);
  // READ of up to buf.size() bytes (at most 4 GiB - 1) into buf: the same
  // bytes as read(), without allocating the result (the benchmark's path).
  // buf past the returned count is left as it was.
  Result<ReadIntoResult> read_into(const Fh& fh, const Stateid& s, uint64_t offset,
                                   std::span<uint8_t> buf);
  // READ of up to count bytes with no userspace copy of the data: *out takes
  // the reply (see ReadBuffer; its previous record goes back to the
  // connection first). On error *out is left empty.
  Status read_in_place(const Fh& fh, const Stateid& s, uint64_t offset, uint32_t count,
                       ReadBuffer* out);
  // WRITE of data, sent from the caller's memory (no userspace copy).
  Result<WriteResult> write(const Fh& fh, const Stateid& s, uint64_t offset,
                            std::span<const uint8_t> data, uint32_t stable = nfs4::FILE_SYNC4);
  Result<Verifier> commit(const Fh& fh, uint64_t offset = 0, uint32_t count = 0);
  Result<Fh> mkdir(const Fh& dir, std::string_view name, uint32_t mode = 0755);
  Result<Fh> symlink(const Fh& dir, std::string_view name, std::string_view target);
  Status remove(const Fh& dir, std::string_view name);
  Status rename(const Fh& src_dir, std::string_view oldname, const Fh& dst_dir,
                std::string_view newname);
  Status link(const Fh& file, const Fh& dir, std::string_view newname);
  Result<std::string> readlink(const Fh& fh);
  // All entries, following cookies; attrs per entry as requested.
  Result<std::vector<DirEntry>> readdir(const Fh& dir, const Bitmap4& attrs = Bitmap4{
                                                           nfs4::FATTR4_FILEID, nfs4::FATTR4_TYPE});
  // LOCK: the first for an owner goes with open_to_lock_owner4, later ones
  // with its lock stateid. NFS4ERR_DENIED fills *denied when given.
  Status lock(const Fh& fh, LockOwnerState& lo, uint32_t locktype, uint64_t offset, uint64_t length,
              LockDenied* denied = nullptr);
  Status lockt(const Fh& fh, std::string_view owner, uint32_t locktype, uint64_t offset,
               uint64_t length, LockDenied* denied = nullptr);
  Status locku(const Fh& fh, LockOwnerState& lo, uint32_t locktype, uint64_t offset,
               uint64_t length);
  Result<std::vector<uint32_t>> test_stateid(std::span<const Stateid> stateids);
  Status free_stateid(const Stateid& s);

  // ---- NFSv4.2 space operations (RFC 7862; need minorversion 2) ----
  Status allocate(const Fh& fh, const Stateid& s, uint64_t offset, uint64_t length);
  Status deallocate(const Fh& fh, const Stateid& s, uint64_t offset, uint64_t length);
  // what: NFS4_CONTENT_DATA or NFS4_CONTENT_HOLE.
  Result<SeekRes> seek(const Fh& fh, const Stateid& s, uint64_t offset, uint32_t what);
  Result<ReadPlusRes> read_plus(const Fh& fh, const Stateid& s, uint64_t offset, uint32_t count);
  // PUTFH src, SAVEFH, PUTFH dst, COPY (a.src_stateid for src, a.dst_stateid for dst).
  Result<CopyRes> copy(const Fh& src, const Fh& dst, const CopyArgs& a);
  // PUTFH src, SAVEFH, PUTFH dst, CLONE; count 0 clones to the end of src.
  Status clone(const Fh& src, const Stateid& src_stateid, const Fh& dst, const Stateid& dst_stateid,
               uint64_t src_offset, uint64_t dst_offset, uint64_t count);

  // ---- State for tests ----
  uint64_t clientid() const { return clientid_; }
  const SessionId& sessionid() const { return sessionid_; }
  bool has_session() const { return has_session_; }
  SlotTable* slots() { return slots_.get(); }
  CallbackService& callbacks() { return cb_; }
  const ChannelAttrs& fore_attrs() const { return fore_attrs_; }
  const ChannelAttrs& back_attrs() const { return back_attrs_; }
  uint32_t last_sequence_flags() const { return last_seq_flags_.load(); }
  const rpc::AuthSysParams* cred() const { return opts_.auth_sys ? &cred_ : nullptr; }
  const Nfs4ClientOptions& options() const { return opts_; }

 private:
  RpcClientConnection* conn(size_t i);
  Result<CompoundReply> send_with_slot(size_t conn, const CompoundBuilder& ops);
  Result<CompoundReply> call_compound(RpcClientConnection* cn, const CompoundParts& args,
                                      std::span<const uint32_t> sent_ops);
  bool v40() const { return opts_.minorversion == 0; }
  // compound() with results indexed by builder position (SEQUENCE hidden).
  OpsReply run(const CompoundBuilder& ops);
  // Hands a reply's record buffer from run() back to connection 0's reader.
  void recycle(OpsReply& r);
  // PUTFH + READ of at most count bytes; the data is a view into *r.
  Result<ReadView> read_view(const Fh& fh, const Stateid& s, uint64_t offset, uint32_t count,
                             OpsReply* r);
  Result<OpenResult> do_open(const Fh& fh, OpenArgs& a);
  // NFSv4.0 seqids (RFC 7530 9.1.7). Callers hold v40_mu_.
  uint32_t open_seqid_locked(const std::string& owner);
  void after_seqid_op_locked(uint32_t* seqid, std::optional<uint32_t> status);
  std::string owner_of_locked(const Stateid& s) const;
  Result<Stateid> open_confirm_locked(const Fh& fh, const Stateid& s, const std::string& owner);

  Nfs4ClientOptions opts_;
  rpc::AuthSysParams cred_;
  CallbackService cb_;
  std::vector<std::unique_ptr<RpcClientConnection>> conns_;  // set up before I/O
  Verifier boot_verf_{};

  uint64_t clientid_ = 0;
  uint32_t eid_sequenceid_ = 0;
  SessionId sessionid_{};
  bool has_session_ = false;
  ChannelAttrs fore_attrs_, back_attrs_;
  std::unique_ptr<SlotTable> slots_;
  std::atomic<uint32_t> last_seq_flags_{0};

  // NFSv4.0 state: serializes every op that uses an open/lock-owner seqid.
  std::mutex v40_mu_;
  std::map<std::string, uint32_t> open_seqids_;                               // GUARDED_BY(v40_mu_)
  std::map<std::array<uint8_t, nfs4::NFS4_OTHER_SIZE>, std::string> owners_;  // GUARDED_BY(v40_mu_)
};

}  // namespace pnfsgw::client
