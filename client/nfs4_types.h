// Client-side NFSv4 value types and their XDR: filehandles, stateids,
// bitmaps, fattr4 (decoded subset and settable attributes). Pure codecs, no
// I/O. Independent of the server's gateway/nfs4 library; shares only the
// protocol numbers in nfs4_const.h.
//
// Errors: the client library reports failures as an int in Status/Result.
// It is an nfsstat4 when the server answered with one, else a positive errno
// from the client itself (ETIMEDOUT, ECONNRESET, EBADMSG for an undecodable
// reply, EPROTO for an RPC-level rejection). nfsstat4 values below 10000 are
// the matching errno numbers, and the errnos above are not nfsstat4 values,
// so one int space serves both.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/nfs4/nfs4_const.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::client {

using xdr::XdrDecoder;
using xdr::XdrEncoder;

// Name of an nfsstat4 or errno as used by this library ("NFS4ERR_DENIED").
const char* status_name(int err);
// Name of an operation number ("OPEN"); "OP_<n>" if unknown.
std::string op_name(uint32_t op);

using Verifier = std::array<uint8_t, nfs4::NFS4_VERIFIER_SIZE>;
using SessionId = std::array<uint8_t, nfs4::NFS4_SESSIONID_SIZE>;

// nfs_fh4: opaque<NFS4_FHSIZE>.
struct Fh {
  std::vector<uint8_t> data;
  bool empty() const { return data.empty(); }
  bool operator==(const Fh&) const = default;
  void encode(XdrEncoder& enc) const { enc.var_opaque(data.data(), data.size()); }
  bool decode(XdrDecoder& dec);
};

// stateid4 (RFC 8881 3.3.12).
struct Stateid {
  uint32_t seqid = 0;
  std::array<uint8_t, nfs4::NFS4_OTHER_SIZE> other{};
  bool operator==(const Stateid&) const = default;
  void encode(XdrEncoder& enc) const;
  bool decode(XdrDecoder& dec);
  // Special stateids (RFC 8881 8.2.3).
  static Stateid anonymous() { return Stateid{}; }
  static Stateid bypass();   // all ones: READ bypass
  static Stateid current();  // seqid 1, other zero: the current stateid
};

// bitmap4 of up to 3 words (attributes 0..95). Longer bitmaps from a server
// decode with the extra words ignored.
struct Bitmap4 {
  std::array<uint32_t, 3> w{};
  Bitmap4() = default;
  Bitmap4(std::initializer_list<uint32_t> bits) {
    for (uint32_t b : bits) set(b);
  }
  bool test(uint32_t n) const { return n < 96 && ((w[n / 32] >> (n % 32)) & 1); }
  void set(uint32_t n) {
    if (n < 96) w[n / 32] |= 1u << (n % 32);
  }
  bool empty() const { return !w[0] && !w[1] && !w[2]; }
  bool operator==(const Bitmap4&) const = default;
  void encode(XdrEncoder& enc) const;  // trailing zero words trimmed
  bool decode(XdrDecoder& dec);
};

struct NfsTime {
  int64_t seconds = 0;
  uint32_t nseconds = 0;
  bool operator==(const NfsTime&) const = default;
};

struct ChangeInfo {
  bool atomic = false;
  uint64_t before = 0;
  uint64_t after = 0;
  bool decode(XdrDecoder& dec);
};

// A decoded fattr4: the attributes present in the reply (those requested
// and supported). Attributes this client does not decode end the walk; the
// ones before them stay valid and `undecoded` names the first one skipped.
struct Fattr {
  Bitmap4 mask;  // as sent by the server
  std::optional<Bitmap4> supported_attrs;
  std::optional<uint32_t> type;  // nfs_ftype4
  std::optional<uint32_t> fh_expire_type;
  std::optional<uint64_t> change;
  std::optional<uint64_t> size;
  std::optional<bool> link_support, symlink_support, named_attr;
  std::optional<std::pair<uint64_t, uint64_t>> fsid;
  std::optional<bool> unique_handles;
  std::optional<uint32_t> lease_time;
  std::optional<uint32_t> rdattr_error;
  std::optional<Fh> filehandle;
  std::optional<uint64_t> fileid;
  std::optional<uint64_t> maxfilesize;
  std::optional<uint64_t> maxread, maxwrite;
  std::optional<uint32_t> mode;
  std::optional<uint32_t> numlinks;
  std::optional<std::string> owner, owner_group;
  std::optional<uint64_t> space_used;
  std::optional<NfsTime> time_access, time_metadata, time_modify;
  std::optional<uint64_t> mounted_on_fileid;
  std::optional<uint32_t> undecoded;

  // Decodes fattr4 { bitmap4 attrmask; opaque attr_vals<> }.
  bool decode(XdrDecoder& dec);
};

// Attributes to set (SETATTR, CREATE, OPEN createattrs). Encodes as fattr4.
struct SetAttrs {
  std::optional<uint64_t> size;
  std::optional<uint32_t> mode;
  std::optional<std::string> owner, owner_group;
  // nullopt: leave; a value: set to that client time; set_*_now: server time.
  std::optional<NfsTime> atime, mtime;
  bool set_atime_now = false, set_mtime_now = false;

  Bitmap4 mask() const;
  void encode(XdrEncoder& enc) const;
};

// The attributes getattr() asks for by default.
Bitmap4 default_getattr_mask();

}  // namespace pnfsgw::client
