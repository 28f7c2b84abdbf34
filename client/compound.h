// COMPOUND (RFC 8881 16.2) building and result walking. Pure codecs: no I/O.
//
// CompoundBuilder encodes a sequence of operations, one method per op,
// each appending nfs_argop4 (opcode + args). encode() produces
// COMPOUND4args; encode_with_sequence() puts a SEQUENCE in front, which is
// how Nfs4Client sends every session compound. encode_parts() gives the
// same bytes as pieces to send without joining them, so a borrowed WRITE's
// data is never copied.
//
// CompoundReply parses COMPOUND4res, walking every result through the op
// table in op_results.h, and hands out typed results by index. Not thread-
// safe; each is one request's worth of state.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/nfs4_types.h"
#include "client/op_results.h"
#include "common/result.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::client {

struct SequenceArgs {
  SessionId sessionid{};
  uint32_t sequenceid = 0;
  uint32_t slotid = 0;
  uint32_t highest_slotid = 0;
  bool cachethis = false;
};

struct ExchangeIdArgs {
  Verifier verifier{};
  std::string owner;  // co_ownerid
  uint32_t flags = 0;
  std::string impl_domain = "pnfsgw.local";
  std::string impl_name = "pnfsgw-client";
};

struct CreateSessionArgs {
  uint64_t clientid = 0;
  uint32_t sequenceid = 0;
  uint32_t flags = 0;
  ChannelAttrs fore, back;
  uint32_t cb_program = 0;
  // callback_sec_parms4: AUTH_SYS with these parameters, else AUTH_NONE.
  const rpc::AuthSysParams* cb_sys = nullptr;
};

// OPEN's openhow and claim, as the library uses them (RFC 8881 18.16).
struct OpenArgs {
  uint32_t seqid = 0;  // ignored by 4.1 servers; 4.0 open-owner seqid
  uint32_t share_access = nfs4::OPEN4_SHARE_ACCESS_BOTH;
  uint32_t share_deny = nfs4::OPEN4_SHARE_DENY_NONE;
  uint64_t clientid = 0;
  std::string owner;  // open_owner4.owner
  bool create = false;
  uint32_t createmode = nfs4::UNCHECKED4;  // createmode4
  SetAttrs attrs;                          // UNCHECKED4, GUARDED4, EXCLUSIVE4_1
  Verifier verf{};                         // EXCLUSIVE4, EXCLUSIVE4_1
  uint32_t claim = nfs4::CLAIM_NULL;       // CLAIM_NULL (name) or CLAIM_FH
  std::string name;                        // for CLAIM_NULL
};

// locker4 (RFC 8881 18.10): a new lock owner starts from an open stateid,
// later locks by the same owner use the lock stateid.
struct LockerArgs {
  bool new_lock_owner = true;
  uint32_t open_seqid = 0;
  Stateid open_stateid;  // new owner
  Stateid lock_stateid;  // existing owner
  uint32_t lock_seqid = 0;
  uint64_t clientid = 0;
  std::string owner;  // lock_owner4.owner (new owner)
};

struct LayoutgetArgs {
  bool signal_layout_avail = false;
  uint32_t layout_type = 0;
  uint32_t iomode = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t minlength = 0;
  Stateid stateid;
  uint32_t maxcount = 0;
};

// COPY (RFC 7862 15.2): SAVED_FH is the source, CURRENT_FH the destination.
struct CopyArgs {
  Stateid src_stateid;
  Stateid dst_stateid;
  uint64_t src_offset = 0;
  uint64_t dst_offset = 0;
  uint64_t count = 0;  // 0: to the end of the source
  bool consecutive = false;
  bool synchronous = true;
  // ca_source_server: names of source servers (NL4_NAME); empty for an
  // intra-server copy.
  std::vector<std::string> source_servers;
};

// nfs_argop4 for SEQUENCE (opcode and arguments), as sequence() appends it.
void encode_sequence_op(XdrEncoder& e, const SequenceArgs& a);

// COMPOUND4args in pieces to send back to back (CompoundBuilder::
// encode_parts, RpcClientConnection::call_gather): head holds the compound
// header and any SEQUENCE, the other pieces view the builder's encoded ops
// and a borrowed WRITE's data. Valid while the builder is unchanged and the
// CompoundParts is not moved. One request's worth of state.
struct CompoundParts {
  static constexpr size_t kMaxPieces = 5;  // head, ops, WRITE data, padding, ops after it
  XdrEncoder head;
  std::array<std::span<const uint8_t>, kMaxPieces> pieces{};
  size_t count = 0;

  std::span<const std::span<const uint8_t>> spans() const { return {pieces.data(), count}; }
  size_t size() const;
};

class CompoundBuilder {
 public:
  explicit CompoundBuilder(std::string tag = "", uint32_t minorversion = 1)
      : tag_(std::move(tag)), minorversion_(minorversion) {
    ops_.reserve(4);  // most compounds have a few ops: one allocation
  }

  // Session and client id (RFC 8881 18.33-18.51).
  CompoundBuilder& sequence(const SequenceArgs& a);
  CompoundBuilder& exchange_id(const ExchangeIdArgs& a);
  CompoundBuilder& create_session(const CreateSessionArgs& a);
  CompoundBuilder& destroy_session(const SessionId& sid);
  CompoundBuilder& destroy_clientid(uint64_t clientid);
  CompoundBuilder& bind_conn_to_session(const SessionId& sid, uint32_t dir, bool rdma = false);
  CompoundBuilder& reclaim_complete(bool one_fs = false);
  CompoundBuilder& test_stateid(std::span<const Stateid> stateids);
  CompoundBuilder& free_stateid(const Stateid& s);
  CompoundBuilder& secinfo_no_name(uint32_t style);
  // NFSv4.0 (RFC 7530 16.33-16.34, 16.18, 16.28).
  CompoundBuilder& setclientid(const Verifier& verf, std::string_view id, uint32_t cb_program,
                               std::string_view netid, std::string_view addr,
                               uint32_t callback_ident);
  CompoundBuilder& setclientid_confirm(uint64_t clientid, const Verifier& confirm);
  CompoundBuilder& open_confirm(const Stateid& s, uint32_t seqid);
  CompoundBuilder& renew(uint64_t clientid);

  // Filehandles.
  CompoundBuilder& putfh(const Fh& fh);
  CompoundBuilder& putrootfh();
  CompoundBuilder& getfh();
  CompoundBuilder& savefh();
  CompoundBuilder& restorefh();
  CompoundBuilder& lookup(std::string_view name);
  CompoundBuilder& lookupp();

  // Attributes and namespace.
  CompoundBuilder& getattr(const Bitmap4& mask);
  CompoundBuilder& setattr(const Stateid& s, const SetAttrs& attrs);
  CompoundBuilder& access(uint32_t mask);
  CompoundBuilder& verify(const SetAttrs& attrs);  // fattr4 built the same way
  CompoundBuilder& create_dir(std::string_view name, const SetAttrs& attrs);
  CompoundBuilder& create_symlink(std::string_view name, std::string_view target,
                                  const SetAttrs& attrs);
  // CREATE of any other type (NF4BLK/NF4CHR with specdata, NF4SOCK, NF4FIFO).
  CompoundBuilder& create_special(uint32_t type, std::string_view name, const SetAttrs& attrs,
                                  uint32_t major = 0, uint32_t minor = 0);
  CompoundBuilder& remove(std::string_view name);
  CompoundBuilder& rename(std::string_view oldname, std::string_view newname);
  CompoundBuilder& link(std::string_view newname);
  CompoundBuilder& readlink();
  CompoundBuilder& readdir(uint64_t cookie, const Verifier& cookieverf, uint32_t dircount,
                           uint32_t maxcount, const Bitmap4& attrs);

  // Open state and I/O.
  CompoundBuilder& open(const OpenArgs& a);
  CompoundBuilder& close(uint32_t seqid, const Stateid& s);
  CompoundBuilder& open_downgrade(const Stateid& s, uint32_t seqid, uint32_t access, uint32_t deny);
  CompoundBuilder& read(const Stateid& s, uint64_t offset, uint32_t count);
  CompoundBuilder& write(const Stateid& s, uint64_t offset, uint32_t stable,
                         std::span<const uint8_t> data);
  // WRITE whose data is not copied into the builder: encode_parts() hands
  // out a view of it, so the caller's bytes go to the socket as they are.
  // data must stay valid and unchanged until the builder's last encode or
  // send. One per builder; a second (or empty data) is copied as write().
  CompoundBuilder& write_borrowed(const Stateid& s, uint64_t offset, uint32_t stable,
                                  std::span<const uint8_t> data);
  CompoundBuilder& commit(uint64_t offset, uint32_t count);
  CompoundBuilder& lock(uint32_t locktype, bool reclaim, uint64_t offset, uint64_t length,
                        const LockerArgs& locker);
  CompoundBuilder& lockt(uint32_t locktype, uint64_t offset, uint64_t length, uint64_t clientid,
                         std::string_view owner);
  CompoundBuilder& locku(uint32_t locktype, uint32_t seqid, const Stateid& s, uint64_t offset,
                         uint64_t length);

  // NFSv4.2 space operations (RFC 7862 15); COPY and CLONE take the source
  // from SAVED_FH and the destination from CURRENT_FH. compound_space_ops.cc.
  CompoundBuilder& allocate(const Stateid& s, uint64_t offset, uint64_t length);
  CompoundBuilder& deallocate(const Stateid& s, uint64_t offset, uint64_t length);
  CompoundBuilder& seek(const Stateid& s, uint64_t offset, uint32_t what);  // data_content4
  CompoundBuilder& read_plus(const Stateid& s, uint64_t offset, uint32_t count);
  CompoundBuilder& copy(const CopyArgs& a);
  CompoundBuilder& clone(const Stateid& src, const Stateid& dst, uint64_t src_offset,
                         uint64_t dst_offset, uint64_t count);
  CompoundBuilder& offload_cancel(const Stateid& s);
  CompoundBuilder& offload_status(const Stateid& s);

  // pNFS.
  CompoundBuilder& layoutget(const LayoutgetArgs& a);
  // LAYOUTRETURN4_FILE for a range (body: layout-type specific lrf_body).
  CompoundBuilder& layoutreturn_file(bool reclaim, uint32_t layout_type, uint32_t iomode,
                                     uint64_t offset, uint64_t length, const Stateid& s,
                                     std::span<const uint8_t> body = {});
  // LAYOUTRETURN4_FSID (2) or LAYOUTRETURN4_ALL (3).
  CompoundBuilder& layoutreturn_bulk(uint32_t returntype, uint32_t layout_type, uint32_t iomode);
  CompoundBuilder& layoutcommit(uint64_t offset, uint64_t length, bool reclaim, const Stateid& s,
                                std::optional<uint64_t> last_write_offset, uint32_t layout_type,
                                std::span<const uint8_t> update_body);
  CompoundBuilder& getdeviceinfo(std::span<const uint8_t, 16> deviceid, uint32_t layout_type,
                                 uint32_t maxcount, const Bitmap4& notify);

  // Any operation: the opcode followed by pre-encoded arguments.
  CompoundBuilder& raw_op(uint32_t op, std::span<const uint8_t> args);

  size_t op_count() const { return ops_.size(); }
  const std::vector<uint32_t>& ops() const { return ops_; }
  const std::string& tag() const { return tag_; }
  uint32_t minorversion() const { return minorversion_; }

  // COMPOUND4args.
  std::vector<uint8_t> encode() const;
  // COMPOUND4args with a SEQUENCE op in front of the built ops.
  std::vector<uint8_t> encode_with_sequence(const SequenceArgs& seq) const;
  // COMPOUND4args for another minor version, with an optional SEQUENCE.
  std::vector<uint8_t> encode_as(uint32_t minorversion, const SequenceArgs* seq) const;
  // The same bytes as encode_as(), in pieces (see CompoundParts); *out
  // should be fresh.
  void encode_parts(uint32_t minorversion, const SequenceArgs* seq, CompoundParts* out) const;

 private:
  XdrEncoder& op(uint32_t opnum);

  std::string tag_;
  uint32_t minorversion_;
  XdrEncoder args_;            // the encoded nfs_argop4 entries
  std::vector<uint32_t> ops_;  // opcodes, in order
  // write_borrowed(): its data, which belongs at args_ offset borrowed_at_
  // (followed by its XDR padding); empty if none.
  std::span<const uint8_t> borrowed_;
  size_t borrowed_at_ = 0;
};

// One op result inside a CompoundReply.
struct OpResult {
  uint32_t op = 0;
  uint32_t status = 0;
  size_t body_offset = 0;  // into CompoundReply::raw()
  size_t body_size = 0;
};

class CompoundReply {
 public:
  // Parses COMPOUND4res at raw[offset..). When sent_ops is given, each
  // result must answer the op sent at its position (or be OP_ILLEGAL), and
  // results may stop early only at a failed op (RFC 8881 16.2.3). Any
  // violation or undecodable byte gives EBADMSG; the attribute values
  // inside a fattr4 (GETATTR, READDIR) are checked when the result is
  // decoded (get/body), which then gives EBADMSG.
  static Result<CompoundReply> parse(std::vector<uint8_t> raw, size_t offset,
                                     std::span<const uint32_t> sent_ops = {});

  uint32_t status() const { return status_; }
  const std::string& tag() const { return tag_; }
  size_t size() const { return results_.size(); }
  const OpResult& at(size_t i) const { return results_[i]; }
  const std::vector<OpResult>& results() const { return results_; }
  // The COMPOUND4res bytes as received.
  std::span<const uint8_t> bytes() const { return std::span<const uint8_t>(raw_).subspan(offset_); }

  // Result i decoded as R whatever its status (LOCK's LOCK4denied, SETATTR's
  // attrsset). EBADMSG if result i is missing, answers another op, or does
  // not decode.
  template <class R>
  Result<R> body(size_t i) const {
    if (i >= results_.size() || results_[i].op != R::kOp) return Result<R>::error(EBADMSG);
    const OpResult& r = results_[i];
    XdrDecoder dec(raw_.data() + r.body_offset, r.body_size);
    R out;
    if (!out.decode(dec, r.status)) return Result<R>::error(EBADMSG);
    return out;
  }
  // Result i decoded as R if its status is NFS4_OK; else that status (or
  // the compound status if the server stopped before op i).
  template <class R>
  Result<R> get(size_t i) const {
    if (i >= results_.size()) return Result<R>::error(status_ ? status_ : EBADMSG);
    if (results_[i].status != nfs4::NFS4_OK) return Result<R>::error(results_[i].status);
    return body<R>(i);
  }
  // The first result of op R::kOp, as get().
  template <class R>
  Result<R> find() const {
    for (size_t i = 0; i < results_.size(); i++) {
      if (results_[i].op == R::kOp) return get<R>(i);
    }
    return Result<R>::error(status_ ? status_ : EBADMSG);
  }
  // Status for "all ops succeeded": NFS4_OK or the compound's status.
  Status ok_status() const { return status_ == nfs4::NFS4_OK ? Status() : Status::error(status_); }

  // Gives up the received record's buffer (for RpcClientConnection::recycle());
  // the reply keeps its status and tag but has no results left.
  std::vector<uint8_t> release_buffer() {
    results_.clear();
    offset_ = 0;
    return std::move(raw_);
  }

 private:
  std::vector<uint8_t> raw_;
  size_t offset_ = 0;
  uint32_t status_ = 0;
  std::string tag_;
  std::vector<OpResult> results_;
};

}  // namespace pnfsgw::client
