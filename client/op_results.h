// Typed results of NFSv4.1 operations (RFC 8881 18, XDR in RFC 5662) and
// their decoders. Each struct names its operation (kOp) and decodes the
// body that follows the op's status: decode(dec, status) reads nothing for
// an error status except where the RFC puts a body there (LOCK/LOCKT
// NFS4ERR_DENIED, SETATTR, LAYOUTGET NFS4ERR_LAYOUTTRYLATER, GETDEVICEINFO
// NFS4ERR_TOOSMALL, SETCLIENTID NFS4ERR_CLID_INUSE). All decoders are
// bounds-checked through XdrDecoder and return dec.ok().
//
// op_table() lists every operation the client can parse; CompoundReply uses
// it to walk results it was not asked to decode.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/nfs4_types.h"

namespace pnfsgw::client {

// Results that are a status only (PUTFH, LOOKUP, SAVEFH, ...).
template <uint32_t Op>
struct StatusOnlyRes {
  static constexpr uint32_t kOp = Op;
  bool decode(XdrDecoder& dec, uint32_t status) { return dec.ok(); }
};

// Results that are a stateid on success (CLOSE, LOCKU, OPEN_DOWNGRADE, ...).
template <uint32_t Op>
struct StateidRes {
  static constexpr uint32_t kOp = Op;
  Stateid stateid;
  bool decode(XdrDecoder& dec, uint32_t status) {
    if (status == nfs4::NFS4_OK) stateid.decode(dec);
    return dec.ok();
  }
};

using PutfhRes = StatusOnlyRes<nfs4::OP_PUTFH>;
using PutrootfhRes = StatusOnlyRes<nfs4::OP_PUTROOTFH>;
using LookupRes = StatusOnlyRes<nfs4::OP_LOOKUP>;
using SavefhRes = StatusOnlyRes<nfs4::OP_SAVEFH>;
using RestorefhRes = StatusOnlyRes<nfs4::OP_RESTOREFH>;
using FreeStateidRes = StatusOnlyRes<nfs4::OP_FREE_STATEID>;
using ReclaimCompleteRes = StatusOnlyRes<nfs4::OP_RECLAIM_COMPLETE>;
using DestroySessionRes = StatusOnlyRes<nfs4::OP_DESTROY_SESSION>;
using DestroyClientidRes = StatusOnlyRes<nfs4::OP_DESTROY_CLIENTID>;
using CloseRes = StateidRes<nfs4::OP_CLOSE>;
using LockuRes = StateidRes<nfs4::OP_LOCKU>;
using OpenDowngradeRes = StateidRes<nfs4::OP_OPEN_DOWNGRADE>;
using OpenConfirmRes = StateidRes<nfs4::OP_OPEN_CONFIRM>;

struct ChannelAttrs {
  uint32_t headerpadsize = 0;
  uint32_t maxrequestsize = 0;
  uint32_t maxresponsesize = 0;
  uint32_t maxresponsesize_cached = 0;
  uint32_t maxoperations = 0;
  uint32_t maxrequests = 0;
  void encode(XdrEncoder& enc) const;
  bool decode(XdrDecoder& dec);
};

struct SequenceRes {
  static constexpr uint32_t kOp = nfs4::OP_SEQUENCE;
  SessionId sessionid{};
  uint32_t sequenceid = 0;
  uint32_t slotid = 0;
  uint32_t highest_slotid = 0;
  uint32_t target_highest_slotid = 0;
  uint32_t status_flags = 0;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct ExchangeIdRes {
  static constexpr uint32_t kOp = nfs4::OP_EXCHANGE_ID;
  uint64_t clientid = 0;
  uint32_t sequenceid = 0;
  uint32_t flags = 0;
  uint32_t state_protect = 0;
  uint64_t server_minor_id = 0;
  std::vector<uint8_t> server_major_id;
  std::vector<uint8_t> server_scope;
  std::string impl_domain, impl_name;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct CreateSessionRes {
  static constexpr uint32_t kOp = nfs4::OP_CREATE_SESSION;
  SessionId sessionid{};
  uint32_t sequenceid = 0;
  uint32_t flags = 0;
  ChannelAttrs fore, back;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct BindConnToSessionRes {
  static constexpr uint32_t kOp = nfs4::OP_BIND_CONN_TO_SESSION;
  SessionId sessionid{};
  uint32_t dir = 0;  // channel_dir_from_server4
  bool use_rdma = false;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct GetfhRes {
  static constexpr uint32_t kOp = nfs4::OP_GETFH;
  Fh fh;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct GetattrRes {
  static constexpr uint32_t kOp = nfs4::OP_GETATTR;
  Fattr attrs;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct AccessRes {
  static constexpr uint32_t kOp = nfs4::OP_ACCESS;
  uint32_t supported = 0;
  uint32_t access = 0;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct CommitRes {
  static constexpr uint32_t kOp = nfs4::OP_COMMIT;
  Verifier verf{};
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct CreateRes {
  static constexpr uint32_t kOp = nfs4::OP_CREATE;
  ChangeInfo cinfo;
  Bitmap4 attrset;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct LinkRes {
  static constexpr uint32_t kOp = nfs4::OP_LINK;
  ChangeInfo cinfo;
  bool decode(XdrDecoder& dec, uint32_t status);
};

// LOCK4denied (RFC 8881 18.10).
struct LockDenied {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t locktype = 0;
  uint64_t clientid = 0;
  std::vector<uint8_t> owner;
  bool decode(XdrDecoder& dec);
};

struct LockRes {
  static constexpr uint32_t kOp = nfs4::OP_LOCK;
  Stateid stateid;
  std::optional<LockDenied> denied;  // with NFS4ERR_DENIED
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct LocktRes {
  static constexpr uint32_t kOp = nfs4::OP_LOCKT;
  std::optional<LockDenied> denied;  // with NFS4ERR_DENIED
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct OpenRes {
  static constexpr uint32_t kOp = nfs4::OP_OPEN;
  Stateid stateid;
  ChangeInfo cinfo;
  uint32_t rflags = 0;
  Bitmap4 attrset;
  uint32_t delegation_type = nfs4::OPEN_DELEGATE_NONE;
  Stateid delegation_stateid;      // for READ/WRITE delegations
  uint32_t why_no_delegation = 0;  // for OPEN_DELEGATE_NONE_EXT
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct ReadRes {
  static constexpr uint32_t kOp = nfs4::OP_READ;
  bool eof = false;
  std::vector<uint8_t> data;
  bool decode(XdrDecoder& dec, uint32_t status);
};

// READ's result with the data left where it arrived: `data` views the
// decoder's input (CompoundReply::bytes()) and is valid while that lives.
// What Nfs4Client::read_into() copies from; saves ReadRes's allocation.
struct ReadView {
  static constexpr uint32_t kOp = nfs4::OP_READ;
  bool eof = false;
  std::span<const uint8_t> data;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct DirEntry {
  uint64_t cookie = 0;
  std::string name;
  Fattr attrs;
};

struct ReaddirRes {
  static constexpr uint32_t kOp = nfs4::OP_READDIR;
  Verifier cookieverf{};
  std::vector<DirEntry> entries;
  bool eof = false;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct ReadlinkRes {
  static constexpr uint32_t kOp = nfs4::OP_READLINK;
  std::string link;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct RemoveRes {
  static constexpr uint32_t kOp = nfs4::OP_REMOVE;
  ChangeInfo cinfo;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct RenameRes {
  static constexpr uint32_t kOp = nfs4::OP_RENAME;
  ChangeInfo source_cinfo, target_cinfo;
  bool decode(XdrDecoder& dec, uint32_t status);
};

// SETATTR4res carries attrsset whatever the status (RFC 8881 18.30).
struct SetattrRes {
  static constexpr uint32_t kOp = nfs4::OP_SETATTR;
  Bitmap4 attrsset;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct WriteRes {
  static constexpr uint32_t kOp = nfs4::OP_WRITE;
  uint32_t count = 0;
  uint32_t committed = 0;  // stable_how4
  Verifier verf{};
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct TestStateidRes {
  static constexpr uint32_t kOp = nfs4::OP_TEST_STATEID;
  std::vector<uint32_t> status_codes;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct SecinfoNoNameRes {
  static constexpr uint32_t kOp = nfs4::OP_SECINFO_NO_NAME;
  std::vector<uint32_t> flavors;
  bool decode(XdrDecoder& dec, uint32_t status);
};

// NFSv4.0 client id setup (RFC 7530 16.33).
struct SetclientidRes {
  static constexpr uint32_t kOp = nfs4::OP_SETCLIENTID;
  uint64_t clientid = 0;
  Verifier confirm{};
  bool decode(XdrDecoder& dec, uint32_t status);
};
using SetclientidConfirmRes = StatusOnlyRes<nfs4::OP_SETCLIENTID_CONFIRM>;
using RenewRes = StatusOnlyRes<nfs4::OP_RENEW>;

// pNFS (RFC 8881 18.40-18.44).
struct Layout {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t iomode = 0;
  uint32_t type = 0;
  std::vector<uint8_t> body;  // loc_body, layout-type specific
};

struct LayoutgetRes {
  static constexpr uint32_t kOp = nfs4::OP_LAYOUTGET;
  bool return_on_close = false;
  Stateid stateid;
  std::vector<Layout> layouts;
  bool will_signal_layout_avail = false;  // with NFS4ERR_LAYOUTTRYLATER
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct LayoutreturnRes {
  static constexpr uint32_t kOp = nfs4::OP_LAYOUTRETURN;
  std::optional<Stateid> stateid;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct LayoutcommitRes {
  static constexpr uint32_t kOp = nfs4::OP_LAYOUTCOMMIT;
  std::optional<uint64_t> new_size;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct GetdeviceinfoRes {
  static constexpr uint32_t kOp = nfs4::OP_GETDEVICEINFO;
  uint32_t layout_type = 0;
  std::vector<uint8_t> addr_body;
  Bitmap4 notification;
  uint32_t mincount = 0;  // with NFS4ERR_TOOSMALL
  bool decode(XdrDecoder& dec, uint32_t status);
};

// NFSv4.2 (RFC 7862 15.11).
struct SeekRes {
  static constexpr uint32_t kOp = nfs4::OP_SEEK;
  bool eof = false;
  uint64_t offset = 0;
  bool decode(XdrDecoder& dec, uint32_t status);
};

using AllocateRes = StatusOnlyRes<nfs4::OP_ALLOCATE>;
using DeallocateRes = StatusOnlyRes<nfs4::OP_DEALLOCATE>;
using CloneRes = StatusOnlyRes<nfs4::OP_CLONE>;
using OffloadCancelRes = StatusOnlyRes<nfs4::OP_OFFLOAD_CANCEL>;

// One entry of READ_PLUS's rpr_contents (RFC 7862 15.10): data bytes, or a
// hole of length bytes that reads as zeroes.
struct ReadPlusSegment {
  uint32_t content = nfs4::NFS4_CONTENT_DATA;
  uint64_t offset = 0;
  uint64_t length = 0;        // hole length, or data.size()
  std::vector<uint8_t> data;  // NFS4_CONTENT_DATA only
};

struct ReadPlusRes {
  static constexpr uint32_t kOp = nfs4::OP_READ_PLUS;
  bool eof = false;
  std::vector<ReadPlusSegment> segments;
  bool decode(XdrDecoder& dec, uint32_t status);
};

// COPY4res (RFC 7862 15.2.2): write_response4 and copy_requirements4 on
// success; only the requirements with NFS4ERR_OFFLOAD_NO_REQS.
struct CopyRes {
  static constexpr uint32_t kOp = nfs4::OP_COPY;
  std::optional<Stateid> callback_id;  // set for an asynchronous copy
  uint64_t count = 0;
  uint32_t committed = 0;  // stable_how4
  Verifier verf{};
  bool consecutive = false;
  bool synchronous = false;
  bool decode(XdrDecoder& dec, uint32_t status);
};

struct OffloadStatusRes {
  static constexpr uint32_t kOp = nfs4::OP_OFFLOAD_STATUS;
  uint64_t count = 0;
  std::optional<uint32_t> complete;  // osr_complete<1>
  bool decode(XdrDecoder& dec, uint32_t status);
};

// One row per operation the client can parse.
struct OpInfo {
  uint32_t op;
  const char* name;
  // Reads (and discards) the result body after the status. Walks the XDR
  // without keeping anything: READ data is not copied, and the attribute
  // values of GETATTR and READDIR entries (fattr4 attr_vals) are checked
  // only when the result is decoded.
  bool (*skip)(XdrDecoder& dec, uint32_t status);
};
std::span<const OpInfo> op_table();
const OpInfo* find_op(uint32_t op);

}  // namespace pnfsgw::client
