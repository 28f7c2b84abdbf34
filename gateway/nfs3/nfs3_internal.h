// Internals shared by the NFSv3 procedure files (procs_*.cc). Not for use
// outside gateway/nfs3.
#pragma once
#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "backend/fs.h"
#include "gateway/common/access.h"
#include "gateway/nfs3/fh3.h"
#include "gateway/nfs3/nfs3_const.h"
#include "gateway/nfs3/nfs3_xdr.h"
#include "gateway/nfs3/server.h"
#include "gateway/rpc/rpc.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::nfs3 {

// Everything the procedures share; one per Nfs3Server. Immutable after
// construction.
struct Nfs3Core {
  Nfs3Options opts;
  backend::Filesystem* fs;
  Fh3Codec fh;
  uint64_t fsid;

  Nfs3Core(Nfs3Options o, backend::Filesystem* f, const nfs4::FhCodec* h)
      : opts(o), fs(f), fh(f, h, o.export_id), fsid(o.export_id) {}
};

// One call.
struct Nfs3Ctx {
  Nfs3Core& core;
  const rpc::CallContext& call;
  gw::Caller caller;
  // Set by a procedure running on an event loop (call.may_defer) that
  // would have to wait: it encoded nothing and changed nothing, and the
  // call goes on to the worker pool (rpc::Disposition::kDefer).
  bool deferred = false;
};

// A procedure: decodes its arguments, runs, encodes its whole result
// (status first). Returns false for undecodable arguments, which the
// dispatcher answers with GARBAGE_ARGS (nothing it appended is sent).
using ProcHandler = bool (*)(Nfs3Ctx&, xdr::XdrDecoder&, xdr::XdrEncoder&);

struct ProcDesc {
  const char* name = nullptr;
  ProcHandler fn = nullptr;
  // Not idempotent: the reply goes through the duplicate request cache, so
  // a retransmit gets it again instead of running the procedure twice.
  bool cache_reply = false;
  // Nonzero for the procedures that change the export: on a read-only
  // store the dispatcher answers NFS3ERR_ROFS followed by this many FALSE
  // words (the failure arm's empty wcc_data / post_op_attr), without
  // running the procedure.
  uint8_t rofs_fail_words = 0;
};
// Set on the procedures whose second run answers differently or undoes
// another client's work (as knfsd classes them): SETATTR, WRITE, CREATE,
// MKDIR, SYMLINK, MKNOD, REMOVE, RMDIR, RENAME, LINK.
constexpr bool kCacheReply = true;

// Procedure tables, one per file, merged by nfs3_program.cc.
void register_attr_procs(ProcDesc* table);     // GETATTR SETATTR LOOKUP ACCESS READLINK
void register_io_procs(ProcDesc* table);       // READ WRITE COMMIT
void register_create_procs(ProcDesc* table);   // CREATE MKDIR SYMLINK MKNOD
void register_names_procs(ProcDesc* table);    // REMOVE RMDIR RENAME LINK
void register_readdir_procs(ProcDesc* table);  // READDIR READDIRPLUS
void register_fs_procs(ProcDesc* table);       // FSSTAT FSINFO PATHCONF

// ---- Helpers (nfs3_helpers.cc) ----

// Handle -> inode (BADHANDLE / STALE).
nfsstat3 resolve(Nfs3Ctx& ctx, Fh3 fh, uint64_t* ino);
// Inode -> handle; a handle too long for NFSv3 is NFS3ERR_BADHANDLE.
nfsstat3 make_fh(Nfs3Ctx& ctx, uint64_t ino, std::vector<uint8_t>* out);
// Attributes, or nothing when they cannot be had (for post_op_attr).
std::optional<backend::Attr> attr_of(Nfs3Ctx& ctx, uint64_t ino);
// Getattr of a directory: NOTDIR when it is not one.
nfsstat3 dir_attr(Nfs3Ctx& ctx, uint64_t ino, backend::Attr* out);
// Validates one component name: NAMETOOLONG over 255 bytes; INVAL when
// empty, "." or "..", or holding '/' or NUL (RFC 1813 has no BADNAME).
nfsstat3 check_name(std::string_view name);
// ACCES unless the caller has every rwx bit of want on a.
nfsstat3 require(const Nfs3Ctx& ctx, const backend::Attr& a, uint32_t want);
inline nfsstat3 errno_status(int err) { return errno_to_nfs3(err); }

}  // namespace pnfsgw::nfs3
