// Internals of COMPOUND processing shared by the op handler files
// (ops_*.cc). Not for use outside gateway/nfs4.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <condition_variable>
#include <vector>

#include "backend/fs.h"
#include "gateway/common/access.h"
#include "gateway/nfs4/attrs.h"
#include "gateway/nfs4/clients.h"
#include "gateway/nfs4/filehandle.h"
#include "gateway/nfs4/grace.h"
#include "gateway/nfs4/nfs4_const.h"
#include "gateway/nfs4/open_state.h"
#include "gateway/nfs4/server.h"
#include "gateway/rpc/drc.h"
#include "gateway/rpc/rpc.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::nfs4 {

// Everything the handlers share; one per Nfs4Server.
struct Nfs4Core {
  Nfs4Options opts;
  backend::Filesystem* fs;
  const FhCodec* fhc;
  ClientTable clients;
  OpenState state;
  GraceManager grace;
  // NFSv4.0 has no sessions: retransmitted COMPOUNDs are answered from this
  // cache (4.1+ use the session's slot table instead).
  rpc::DuplicateRequestCache drc{rpc::DuplicateRequestCache::Options{}};
  Verifier write_verifier{};  // changes every start (RFC 8881 18.32.3)
  std::vector<uint8_t> root_fh;
  uint64_t root_ino = 0;

  std::mutex reaper_mu;
  std::condition_variable reaper_cv;
  bool stopping = false;  // guarded by reaper_mu
  std::thread reaper;

  Nfs4Core(Nfs4Options o, backend::Filesystem* f, const FhCodec* h);
};

// The current (or saved) filehandle.
struct FileRef {
  uint64_t ino = 0;
  std::vector<uint8_t> fh;
  bool valid() const { return !fh.empty(); }
};

struct CompoundCtx {
  Nfs4Core& core;
  const rpc::CallContext& call;
  uint32_t minor = 0;
  gw::Caller caller;  // from the RPC credential
  FileRef cfh, sfh;
  std::optional<Stateid4> cur_sid, saved_sid;
  std::shared_ptr<Session> session;  // set by SEQUENCE
  uint32_t slot = 0;
  uint64_t clientid = 0;  // the session's client (4.1)
  // Set by SEQUENCE for a retry: the cached COMPOUND4res to send as is.
  std::optional<std::vector<uint8_t>> replay;
  size_t reply_base = 0;  // offset of COMPOUND4res in the encoder
  size_t op_body = 0;     // offset of the current op's result body
  // Set by an op running on an event loop (call.may_defer) that would have
  // to wait: it changed nothing, and the COMPOUND goes on to the worker
  // pool (rpc::Disposition::kDefer) with its slot put back.
  bool deferred = false;
  // Reply bytes sent from files (a READ's data) rather than the encoder:
  // they count against the session's maxresponsesize too.
  size_t file_bytes() const { return call.file_data ? call.file_data->bytes : 0; }
  // Drops file parts attached at or after encoder offset off (their op's
  // result is being truncated away).
  void drop_file_parts_from(size_t off) const {
    if (call.file_data && !call.file_data->empty() && call.file_data->at >= off)
      *call.file_data = {};
  }
};

using OpHandler = nfsstat4 (*)(CompoundCtx&, xdr::XdrDecoder&, xdr::XdrEncoder&);

enum OpFlags : uint32_t {
  kNeedFh = 1u << 0,        // fails with NFS4ERR_NOFILEHANDLE without a current fh
  kSessionless = 1u << 1,   // 4.1: allowed as the only op, without SEQUENCE
  kMinor0Only = 1u << 2,    // NFSv4.0 only (NFS4ERR_NOTSUPP in 4.1+)
  kMinor1 = 1u << 3,        // NFSv4.1 and later
  kMinor2 = 1u << 4,        // NFSv4.2 and later
  kModifies = 1u << 5,      // changes the export: NFS4ERR_ROFS on a read-only store
};

struct OpDesc {
  const char* name = nullptr;
  OpHandler fn = nullptr;  // null: NFS4ERR_NOTSUPP
  uint32_t flags = 0;
};

// Op tables, one per handler file, merged by compound.cc.
void register_session_ops(OpDesc* table);
void register_fh_ops(OpDesc* table);
void register_dir_ops(OpDesc* table);
void register_io_ops(OpDesc* table);
void register_lock_ops(OpDesc* table);
void register_space_ops(OpDesc* table);
constexpr uint32_t kMaxOp = OP_REMOVEXATTR;

// Helpers shared by handlers (helpers.cc).
nfsstat4 errno_to_nfs(int err);
nfsstat4 make_fileref(Nfs4Core& core, uint64_t ino, FileRef* out);
// Filehandle bytes -> FileRef (BADHANDLE / STALE / ...).
nfsstat4 resolve_fh(Nfs4Core& core, std::span<const uint8_t> fh, FileRef* out);
// Validates a component name (RFC 8881 18.*: BADNAME, NAMETOOLONG, INVAL).
nfsstat4 check_name(std::string_view name);
// Permission check of the caller against an object's mode bits. mask uses
// ACCESS4_* bits; returns the subset allowed.
uint32_t allowed_access(const CompoundCtx& ctx, const backend::Attr& a, uint32_t mask);
// NFS4ERR_ACCESS unless every bit of mask is allowed.
nfsstat4 require_access(const CompoundCtx& ctx, const backend::Attr& a, uint32_t mask);
// cur_sid substitution for the special "current stateid" (RFC 8881 16.2.3.1.2).
nfsstat4 resolve_stateid(CompoundCtx& ctx, Stateid4* sid);
void decode_stateid(xdr::XdrDecoder& dec, Stateid4* sid);
void encode_stateid(xdr::XdrEncoder& enc, const Stateid4& sid);
void encode_change_info(xdr::XdrEncoder& enc, uint64_t before, uint64_t after);
AttrSource attr_source(CompoundCtx& ctx, const backend::Attr& a, std::span<const uint8_t> fh,
                       const backend::FsStat* st);
// Encodes a fattr4 for ino (GETATTR / READDIR); statfs is fetched only when
// the bitmap needs it.
nfsstat4 encode_attrs_of(CompoundCtx& ctx, const AttrBitmap& req, const backend::Attr& a,
                         std::span<const uint8_t> fh, xdr::XdrEncoder& enc);
// Applies a decoded SETATTR to ino with permission checks.
nfsstat4 apply_setattr(CompoundCtx& ctx, uint64_t ino, const backend::SetAttr& sa,
                       backend::Attr* after);

}  // namespace pnfsgw::nfs4
