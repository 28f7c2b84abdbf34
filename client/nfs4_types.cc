#include "client/nfs4_types.h"

#include <bit>
#include <cerrno>
#include <cstring>

namespace pnfsgw::client {
using namespace nfs4;

namespace {
// fattr4 attr_vals is bounded by the RPC record anyway; this just keeps a
// hostile length from meaning anything.
constexpr size_t kMaxAttrVals = 1 << 20;
constexpr size_t kMaxOwner = NFS4_OPAQUE_LIMIT;

struct StatusName {
  int code;
  const char* name;
};
constexpr StatusName kStatusNames[] = {
    {NFS4_OK, "NFS4_OK"},
    {NFS4ERR_PERM, "NFS4ERR_PERM"},
    {NFS4ERR_NOENT, "NFS4ERR_NOENT"},
    {NFS4ERR_IO, "NFS4ERR_IO"},
    {NFS4ERR_NXIO, "NFS4ERR_NXIO"},
    {NFS4ERR_ACCESS, "NFS4ERR_ACCESS"},
    {NFS4ERR_EXIST, "NFS4ERR_EXIST"},
    {NFS4ERR_XDEV, "NFS4ERR_XDEV"},
    {NFS4ERR_NOTDIR, "NFS4ERR_NOTDIR"},
    {NFS4ERR_ISDIR, "NFS4ERR_ISDIR"},
    {NFS4ERR_INVAL, "NFS4ERR_INVAL"},
    {NFS4ERR_FBIG, "NFS4ERR_FBIG"},
    {NFS4ERR_NOSPC, "NFS4ERR_NOSPC"},
    {NFS4ERR_ROFS, "NFS4ERR_ROFS"},
    {NFS4ERR_MLINK, "NFS4ERR_MLINK"},
    {NFS4ERR_NAMETOOLONG, "NFS4ERR_NAMETOOLONG"},
    {NFS4ERR_NOTEMPTY, "NFS4ERR_NOTEMPTY"},
    {NFS4ERR_DQUOT, "NFS4ERR_DQUOT"},
    {NFS4ERR_STALE, "NFS4ERR_STALE"},
    {NFS4ERR_BADHANDLE, "NFS4ERR_BADHANDLE"},
    {NFS4ERR_BAD_COOKIE, "NFS4ERR_BAD_COOKIE"},
    {NFS4ERR_NOTSUPP, "NFS4ERR_NOTSUPP"},
    {NFS4ERR_TOOSMALL, "NFS4ERR_TOOSMALL"},
    {NFS4ERR_SERVERFAULT, "NFS4ERR_SERVERFAULT"},
    {NFS4ERR_BADTYPE, "NFS4ERR_BADTYPE"},
    {NFS4ERR_DELAY, "NFS4ERR_DELAY"},
    {NFS4ERR_SAME, "NFS4ERR_SAME"},
    {NFS4ERR_DENIED, "NFS4ERR_DENIED"},
    {NFS4ERR_EXPIRED, "NFS4ERR_EXPIRED"},
    {NFS4ERR_LOCKED, "NFS4ERR_LOCKED"},
    {NFS4ERR_GRACE, "NFS4ERR_GRACE"},
    {NFS4ERR_FHEXPIRED, "NFS4ERR_FHEXPIRED"},
    {NFS4ERR_SHARE_DENIED, "NFS4ERR_SHARE_DENIED"},
    {NFS4ERR_WRONGSEC, "NFS4ERR_WRONGSEC"},
    {NFS4ERR_CLID_INUSE, "NFS4ERR_CLID_INUSE"},
    {NFS4ERR_RESOURCE, "NFS4ERR_RESOURCE"},
    {NFS4ERR_MOVED, "NFS4ERR_MOVED"},
    {NFS4ERR_NOFILEHANDLE, "NFS4ERR_NOFILEHANDLE"},
    {NFS4ERR_MINOR_VERS_MISMATCH, "NFS4ERR_MINOR_VERS_MISMATCH"},
    {NFS4ERR_STALE_CLIENTID, "NFS4ERR_STALE_CLIENTID"},
    {NFS4ERR_STALE_STATEID, "NFS4ERR_STALE_STATEID"},
    {NFS4ERR_OLD_STATEID, "NFS4ERR_OLD_STATEID"},
    {NFS4ERR_BAD_STATEID, "NFS4ERR_BAD_STATEID"},
    {NFS4ERR_BAD_SEQID, "NFS4ERR_BAD_SEQID"},
    {NFS4ERR_NOT_SAME, "NFS4ERR_NOT_SAME"},
    {NFS4ERR_LOCK_RANGE, "NFS4ERR_LOCK_RANGE"},
    {NFS4ERR_SYMLINK, "NFS4ERR_SYMLINK"},
    {NFS4ERR_RESTOREFH, "NFS4ERR_RESTOREFH"},
    {NFS4ERR_ATTRNOTSUPP, "NFS4ERR_ATTRNOTSUPP"},
    {NFS4ERR_NO_GRACE, "NFS4ERR_NO_GRACE"},
    {NFS4ERR_RECLAIM_BAD, "NFS4ERR_RECLAIM_BAD"},
    {NFS4ERR_BADXDR, "NFS4ERR_BADXDR"},
    {NFS4ERR_LOCKS_HELD, "NFS4ERR_LOCKS_HELD"},
    {NFS4ERR_OPENMODE, "NFS4ERR_OPENMODE"},
    {NFS4ERR_BADOWNER, "NFS4ERR_BADOWNER"},
    {NFS4ERR_BADCHAR, "NFS4ERR_BADCHAR"},
    {NFS4ERR_BADNAME, "NFS4ERR_BADNAME"},
    {NFS4ERR_BAD_RANGE, "NFS4ERR_BAD_RANGE"},
    {NFS4ERR_LOCK_NOTSUPP, "NFS4ERR_LOCK_NOTSUPP"},
    {NFS4ERR_OP_ILLEGAL, "NFS4ERR_OP_ILLEGAL"},
    {NFS4ERR_DEADLOCK, "NFS4ERR_DEADLOCK"},
    {NFS4ERR_FILE_OPEN, "NFS4ERR_FILE_OPEN"},
    {NFS4ERR_ADMIN_REVOKED, "NFS4ERR_ADMIN_REVOKED"},
    {NFS4ERR_CB_PATH_DOWN, "NFS4ERR_CB_PATH_DOWN"},
    {NFS4ERR_BADIOMODE, "NFS4ERR_BADIOMODE"},
    {NFS4ERR_BADLAYOUT, "NFS4ERR_BADLAYOUT"},
    {NFS4ERR_BADSESSION, "NFS4ERR_BADSESSION"},
    {NFS4ERR_BADSLOT, "NFS4ERR_BADSLOT"},
    {NFS4ERR_COMPLETE_ALREADY, "NFS4ERR_COMPLETE_ALREADY"},
    {NFS4ERR_CONN_NOT_BOUND_TO_SESSION, "NFS4ERR_CONN_NOT_BOUND_TO_SESSION"},
    {NFS4ERR_BACK_CHAN_BUSY, "NFS4ERR_BACK_CHAN_BUSY"},
    {NFS4ERR_LAYOUTTRYLATER, "NFS4ERR_LAYOUTTRYLATER"},
    {NFS4ERR_LAYOUTUNAVAILABLE, "NFS4ERR_LAYOUTUNAVAILABLE"},
    {NFS4ERR_NOMATCHING_LAYOUT, "NFS4ERR_NOMATCHING_LAYOUT"},
    {NFS4ERR_RECALLCONFLICT, "NFS4ERR_RECALLCONFLICT"},
    {NFS4ERR_UNKNOWN_LAYOUTTYPE, "NFS4ERR_UNKNOWN_LAYOUTTYPE"},
    {NFS4ERR_SEQ_MISORDERED, "NFS4ERR_SEQ_MISORDERED"},
    {NFS4ERR_SEQUENCE_POS, "NFS4ERR_SEQUENCE_POS"},
    {NFS4ERR_REQ_TOO_BIG, "NFS4ERR_REQ_TOO_BIG"},
    {NFS4ERR_REP_TOO_BIG, "NFS4ERR_REP_TOO_BIG"},
    {NFS4ERR_REP_TOO_BIG_TO_CACHE, "NFS4ERR_REP_TOO_BIG_TO_CACHE"},
    {NFS4ERR_RETRY_UNCACHED_REP, "NFS4ERR_RETRY_UNCACHED_REP"},
    {NFS4ERR_UNSAFE_COMPOUND, "NFS4ERR_UNSAFE_COMPOUND"},
    {NFS4ERR_TOO_MANY_OPS, "NFS4ERR_TOO_MANY_OPS"},
    {NFS4ERR_OP_NOT_IN_SESSION, "NFS4ERR_OP_NOT_IN_SESSION"},
    {NFS4ERR_CLIENTID_BUSY, "NFS4ERR_CLIENTID_BUSY"},
    {NFS4ERR_SEQ_FALSE_RETRY, "NFS4ERR_SEQ_FALSE_RETRY"},
    {NFS4ERR_BAD_HIGH_SLOT, "NFS4ERR_BAD_HIGH_SLOT"},
    {NFS4ERR_DEADSESSION, "NFS4ERR_DEADSESSION"},
    {NFS4ERR_NOT_ONLY_OP, "NFS4ERR_NOT_ONLY_OP"},
    {NFS4ERR_WRONG_CRED, "NFS4ERR_WRONG_CRED"},
    {NFS4ERR_WRONG_TYPE, "NFS4ERR_WRONG_TYPE"},
    {NFS4ERR_DELEG_REVOKED, "NFS4ERR_DELEG_REVOKED"},
    {NFS4ERR_OFFLOAD_DENIED, "NFS4ERR_OFFLOAD_DENIED"},
    {NFS4ERR_OFFLOAD_NO_REQS, "NFS4ERR_OFFLOAD_NO_REQS"},
    // Client-side errnos that are not nfsstat4 values.
    {ETIMEDOUT, "ETIMEDOUT"},
    {ECONNRESET, "ECONNRESET"},
    {ECONNREFUSED, "ECONNREFUSED"},
    {EBADMSG, "EBADMSG"},
    {EPROTO, "EPROTO"},
    {ENOTCONN, "ENOTCONN"},
    {EMSGSIZE, "EMSGSIZE"},
};

bool decode_time(XdrDecoder& dec, NfsTime* t) {
  t->seconds = dec.i64();
  t->nseconds = dec.u32();
  return dec.ok();
}

void encode_time(XdrEncoder& enc, const NfsTime& t) {
  enc.i64(t.seconds);
  enc.u32(t.nseconds);
}

std::string decode_owner(XdrDecoder& dec) {
  std::string_view s = dec.string(kMaxOwner);
  return std::string(s);
}

// Decodes the value of attribute n into *fa. Returns false for an
// attribute this client cannot decode (the walk stops there).
bool decode_attr(uint32_t n, XdrDecoder& dec, Fattr* fa) {
  switch (n) {
    case FATTR4_SUPPORTED_ATTRS: {
      Bitmap4 b;
      b.decode(dec);
      fa->supported_attrs = b;
      return true;
    }
    case FATTR4_TYPE:
      fa->type = dec.u32();
      return true;
    case FATTR4_FH_EXPIRE_TYPE:
      fa->fh_expire_type = dec.u32();
      return true;
    case FATTR4_CHANGE:
      fa->change = dec.u64();
      return true;
    case FATTR4_SIZE:
      fa->size = dec.u64();
      return true;
    case FATTR4_LINK_SUPPORT:
      fa->link_support = dec.boolean();
      return true;
    case FATTR4_SYMLINK_SUPPORT:
      fa->symlink_support = dec.boolean();
      return true;
    case FATTR4_NAMED_ATTR:
      fa->named_attr = dec.boolean();
      return true;
    case FATTR4_FSID: {
      uint64_t major = dec.u64();
      fa->fsid = std::make_pair(major, dec.u64());
      return true;
    }
    case FATTR4_UNIQUE_HANDLES:
      fa->unique_handles = dec.boolean();
      return true;
    case FATTR4_LEASE_TIME:
      fa->lease_time = dec.u32();
      return true;
    case FATTR4_RDATTR_ERROR:
      fa->rdattr_error = dec.u32();
      return true;
    case FATTR4_ACLSUPPORT:
      dec.u32();
      return true;
    case FATTR4_ARCHIVE:
    case FATTR4_CANSETTIME:
    case FATTR4_CASE_INSENSITIVE:
    case FATTR4_CASE_PRESERVING:
    case FATTR4_CHOWN_RESTRICTED:
    case FATTR4_HIDDEN:
    case FATTR4_HOMOGENEOUS:
    case FATTR4_NO_TRUNC:
    case FATTR4_SYSTEM:
      dec.boolean();
      return true;
    case FATTR4_FILEHANDLE: {
      Fh fh;
      fh.decode(dec);
      fa->filehandle = std::move(fh);
      return true;
    }
    case FATTR4_FILEID:
      fa->fileid = dec.u64();
      return true;
    case FATTR4_FILES_AVAIL:
    case FATTR4_FILES_FREE:
    case FATTR4_FILES_TOTAL:
    case FATTR4_QUOTA_AVAIL_HARD:
    case FATTR4_QUOTA_AVAIL_SOFT:
    case FATTR4_QUOTA_USED:
    case FATTR4_SPACE_AVAIL:
    case FATTR4_SPACE_FREE:
    case FATTR4_SPACE_TOTAL:
      dec.u64();
      return true;
    case FATTR4_MAXFILESIZE:
      fa->maxfilesize = dec.u64();
      return true;
    case FATTR4_MAXLINK:
    case FATTR4_MAXNAME:
      dec.u32();
      return true;
    case FATTR4_MAXREAD:
      fa->maxread = dec.u64();
      return true;
    case FATTR4_MAXWRITE:
      fa->maxwrite = dec.u64();
      return true;
    case FATTR4_MODE:
      fa->mode = dec.u32();
      return true;
    case FATTR4_NUMLINKS:
      fa->numlinks = dec.u32();
      return true;
    case FATTR4_OWNER:
      fa->owner = decode_owner(dec);
      return true;
    case FATTR4_OWNER_GROUP:
      fa->owner_group = decode_owner(dec);
      return true;
    case FATTR4_RAWDEV:
      dec.u32();
      dec.u32();
      return true;
    case FATTR4_SPACE_USED:
      fa->space_used = dec.u64();
      return true;
    case FATTR4_TIME_ACCESS:
      decode_time(dec, &fa->time_access.emplace());
      return true;
    case FATTR4_TIME_BACKUP:
    case FATTR4_TIME_CREATE:
    case FATTR4_TIME_DELTA: {
      NfsTime t;
      decode_time(dec, &t);
      return true;
    }
    case FATTR4_TIME_METADATA:
      decode_time(dec, &fa->time_metadata.emplace());
      return true;
    case FATTR4_TIME_MODIFY:
      decode_time(dec, &fa->time_modify.emplace());
      return true;
    case FATTR4_MOUNTED_ON_FILEID:
      fa->mounted_on_fileid = dec.u64();
      return true;
    case FATTR4_FS_LAYOUT_TYPES:
    case FATTR4_LAYOUT_TYPES: {
      uint32_t n_types = dec.array_len(64);
      for (uint32_t i = 0; i < n_types; i++) dec.u32();
      return true;
    }
    case FATTR4_LAYOUT_BLKSIZE:
    case FATTR4_LAYOUT_ALIGNMENT:
    case FATTR4_CLONE_BLKSIZE:
    case FATTR4_CHANGE_ATTR_TYPE:
      dec.u32();
      return true;
    case FATTR4_SUPPATTR_EXCLCREAT: {
      Bitmap4 b;
      b.decode(dec);
      return true;
    }
    case FATTR4_SPACE_FREED:
      dec.u64();
      return true;
    case FATTR4_XATTR_SUPPORT:
      dec.boolean();
      return true;
    default:
      return false;
  }
}
}  // namespace

const char* status_name(int err) {
  for (const auto& s : kStatusNames) {
    if (s.code == err) return s.name;
  }
  return "UNKNOWN_STATUS";
}

bool Fh::decode(XdrDecoder& dec) {
  auto s = dec.var_opaque(NFS4_FHSIZE);
  data.assign(s.begin(), s.end());
  return dec.ok();
}

void Stateid::encode(XdrEncoder& enc) const {
  enc.u32(seqid);
  enc.fixed_opaque(other.data(), other.size());
}

bool Stateid::decode(XdrDecoder& dec) {
  seqid = dec.u32();
  auto s = dec.fixed_opaque(other.size());
  if (!dec.ok()) return false;
  std::memcpy(other.data(), s.data(), other.size());
  return true;
}

Stateid Stateid::bypass() {
  Stateid s;
  s.seqid = 0xffffffffu;
  s.other.fill(0xff);
  return s;
}

Stateid Stateid::current() {
  Stateid s;
  s.seqid = 1;
  return s;
}

void Bitmap4::encode(XdrEncoder& enc) const {
  uint32_t n = 3;
  while (n > 0 && w[n - 1] == 0) n--;
  enc.u32(n);
  for (uint32_t i = 0; i < n; i++) enc.u32(w[i]);
}

bool Bitmap4::decode(XdrDecoder& dec) {
  w = {};
  uint32_t n = dec.array_len(64);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t v = dec.u32();
    if (i < w.size()) w[i] = v;
  }
  return dec.ok();
}

bool ChangeInfo::decode(XdrDecoder& dec) {
  atomic = dec.boolean();
  before = dec.u64();
  after = dec.u64();
  return dec.ok();
}

bool Fattr::decode(XdrDecoder& dec) {
  *this = Fattr{};
  mask.decode(dec);
  auto vals = dec.var_opaque(kMaxAttrVals);
  if (!dec.ok()) return false;
  XdrDecoder vd(vals);
  // Values come in attribute-number order (RFC 8881 3.3.13): the set bits,
  // lowest first.
  for (uint32_t word = 0; word < mask.w.size(); word++) {
    for (uint32_t bits = mask.w[word]; bits != 0; bits &= bits - 1) {
      uint32_t n = word * 32 + static_cast<uint32_t>(std::countr_zero(bits));
      if (!decode_attr(n, vd, this)) {
        undecoded = n;
        return true;
      }
      if (!vd.ok()) {
        dec.fail();
        return false;
      }
    }
  }
  return true;
}

Bitmap4 SetAttrs::mask() const {
  Bitmap4 m;
  if (size) m.set(FATTR4_SIZE);
  if (mode) m.set(FATTR4_MODE);
  if (owner) m.set(FATTR4_OWNER);
  if (owner_group) m.set(FATTR4_OWNER_GROUP);
  if (atime || set_atime_now) m.set(FATTR4_TIME_ACCESS_SET);
  if (mtime || set_mtime_now) m.set(FATTR4_TIME_MODIFY_SET);
  return m;
}

void SetAttrs::encode(XdrEncoder& enc) const {
  mask().encode(enc);
  size_t len_at = enc.reserve_u32();
  size_t start = enc.size();
  // Values in attribute-number order (RFC 8881 3.3.13).
  if (size) enc.u64(*size);
  if (mode) enc.u32(*mode);
  if (owner) enc.string(*owner);
  if (owner_group) enc.string(*owner_group);
  auto settime = [&](const std::optional<NfsTime>& t, bool now) {
    if (!t && !now) return;
    if (t) {
      enc.u32(SET_TO_CLIENT_TIME4);
      encode_time(enc, *t);
    } else {
      enc.u32(SET_TO_SERVER_TIME4);
    }
  };
  settime(atime, set_atime_now);
  settime(mtime, set_mtime_now);
  enc.patch_u32(len_at, static_cast<uint32_t>(enc.size() - start));
}

Bitmap4 default_getattr_mask() {
  return Bitmap4{FATTR4_TYPE,        FATTR4_CHANGE,        FATTR4_SIZE,       FATTR4_FILEID,
                 FATTR4_MODE,        FATTR4_NUMLINKS,      FATTR4_OWNER,      FATTR4_OWNER_GROUP,
                 FATTR4_TIME_ACCESS, FATTR4_TIME_METADATA, FATTR4_TIME_MODIFY};
}

}  // namespace pnfsgw::client
