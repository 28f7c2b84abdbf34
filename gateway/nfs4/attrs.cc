// fattr4 codec. Every attribute the server knows is one row of kAttrTable
// (number, first minor version, flags, encoder); supported_attrs(),
// settable_attrs(), needs_fsstat() and encode_fattr() all read that table, so
// adding an attribute is adding a row. Settable attributes are decoded by
// decode_value() below, the only place that parses client-supplied values.
#include "gateway/nfs4/attrs.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <limits>
#include <string>
#include <string_view>

namespace pnfsgw::nfs4 {

namespace {

using backend::SetAttr;
using backend::Timespec;

using Src = const AttrSource&;
using Enc = xdr::XdrEncoder&;
using Encoder = void (*)(Src, Enc);

enum AttrFlags : uint8_t {
  kSettable = 1,  // may appear in SETATTR / createattrs
  kFsStat = 2,    // value comes from AttrSource::fsstat
};

struct AttrEntry {
  fattr4_num num;
  uint32_t min_minor;  // first minor version that has the attribute
  uint8_t flags;
  Encoder encode;  // nullptr: write-only (time_*_set), never encoded
};

constexpr uint64_t kMaxFileSize = (uint64_t{1} << 63) - 1;  // off_t
constexpr uint32_t kMaxLink = 65000;                        // ext4's limit
constexpr uint32_t kMaxName = 255;
// Finest time step the server keeps: backend times carry nanoseconds.
constexpr Timespec kTimeDelta{0, 1};
// RFC 7862 12.2.3 change_attr_type4. The backend's change counter carries no
// ordering promise we can state for every layer, so: undefined.
constexpr uint32_t NFS4_CHANGE_TYPE_IS_UNDEFINED = 4;
// Owner strings longer than this are not ids or account names we know.
constexpr size_t kMaxOwnerLen = 1024;

void put_time(xdr::XdrEncoder& enc, const Timespec& t) {  // nfstime4
  enc.i64(t.sec);
  enc.u32(t.nsec);
}

void put_id(xdr::XdrEncoder& enc, uint32_t id) {  // owner, owner_group: decimal
  char buf[10];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, id);
  enc.string(std::string_view(buf, end - buf));
}

const backend::FsStat& fsstat_of(const AttrSource& s) {
  static const backend::FsStat kNone{};
  assert(s.fsstat && "fsstat attribute requested without AttrSource::fsstat (see needs_fsstat)");
  return s.fsstat ? *s.fsstat : kNone;
}

// Ascending attribute numbers: encode_fattr emits in table order, and
// attr_vals holds the values in bit order (RFC 8881 3.3.7, 5.8). Types per
// RFC 8881 5.8 / 3.3 (nfstime4 3.3.1, specdata4 3.3.4, fsid4 3.3.5).
constexpr AttrEntry kAttrTable[] = {
    {FATTR4_SUPPORTED_ATTRS, 0, 0,
     [](Src s, Enc e) { supported_attrs(s.minor_version).encode(e); }},
    {FATTR4_TYPE, 0, 0, [](Src s, Enc e) { e.u32(to_nfs_type(s.attr->type)); }},
    {FATTR4_FH_EXPIRE_TYPE, 0, 0, [](Src s, Enc e) { e.u32(FH4_PERSISTENT); }},
    {FATTR4_CHANGE, 0, 0, [](Src s, Enc e) { e.u64(s.attr->change); }},
    {FATTR4_SIZE, 0, kSettable, [](Src s, Enc e) { e.u64(s.attr->size); }},
    {FATTR4_LINK_SUPPORT, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_SYMLINK_SUPPORT, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_NAMED_ATTR, 0, 0, [](Src s, Enc e) { e.boolean(false); }},
    {FATTR4_FSID, 0, 0,
     [](Src s, Enc e) {
       e.u64(s.fsid_major);
       e.u64(s.fsid_minor);
     }},
    {FATTR4_UNIQUE_HANDLES, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_LEASE_TIME, 0, 0, [](Src s, Enc e) { e.u32(s.lease_time); }},
    {FATTR4_RDATTR_ERROR, 0, 0, [](Src s, Enc e) { e.u32(s.rdattr_error); }},
    // No ACL support: aclsupport is 0 and acl (12) is not listed.
    {FATTR4_ACLSUPPORT, 0, 0, [](Src s, Enc e) { e.u32(0); }},
    {FATTR4_CANSETTIME, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_CASE_INSENSITIVE, 0, 0, [](Src s, Enc e) { e.boolean(false); }},
    {FATTR4_CASE_PRESERVING, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_CHOWN_RESTRICTED, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_FILEHANDLE, 0, 0, [](Src s, Enc e) { e.var_opaque(s.fh); }},
    {FATTR4_FILEID, 0, 0, [](Src s, Enc e) { e.u64(s.attr->ino); }},
    {FATTR4_FILES_AVAIL, 0, kFsStat, [](Src s, Enc e) { e.u64(fsstat_of(s).files_avail); }},
    {FATTR4_FILES_FREE, 0, kFsStat, [](Src s, Enc e) { e.u64(fsstat_of(s).files_free); }},
    {FATTR4_FILES_TOTAL, 0, kFsStat, [](Src s, Enc e) { e.u64(fsstat_of(s).files_total); }},
    {FATTR4_HOMOGENEOUS, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_MAXFILESIZE, 0, 0, [](Src s, Enc e) { e.u64(kMaxFileSize); }},
    {FATTR4_MAXLINK, 0, 0, [](Src s, Enc e) { e.u32(kMaxLink); }},
    {FATTR4_MAXNAME, 0, 0, [](Src s, Enc e) { e.u32(kMaxName); }},
    {FATTR4_MAXREAD, 0, 0, [](Src s, Enc e) { e.u64(s.max_read); }},
    {FATTR4_MAXWRITE, 0, 0, [](Src s, Enc e) { e.u64(s.max_write); }},
    {FATTR4_MODE, 0, kSettable, [](Src s, Enc e) { e.u32(s.attr->mode & 07777); }},
    {FATTR4_NO_TRUNC, 0, 0, [](Src s, Enc e) { e.boolean(true); }},
    {FATTR4_NUMLINKS, 0, 0, [](Src s, Enc e) { e.u32(s.attr->nlink); }},
    {FATTR4_OWNER, 0, kSettable, [](Src s, Enc e) { put_id(e, s.attr->uid); }},
    {FATTR4_OWNER_GROUP, 0, kSettable, [](Src s, Enc e) { put_id(e, s.attr->gid); }},
    {FATTR4_RAWDEV, 0, 0,
     [](Src s, Enc e) {
       e.u32(s.attr->rdev_major);
       e.u32(s.attr->rdev_minor);
     }},
    {FATTR4_SPACE_AVAIL, 0, kFsStat, [](Src s, Enc e) { e.u64(fsstat_of(s).bytes_avail); }},
    {FATTR4_SPACE_FREE, 0, kFsStat, [](Src s, Enc e) { e.u64(fsstat_of(s).bytes_free); }},
    {FATTR4_SPACE_TOTAL, 0, kFsStat, [](Src s, Enc e) { e.u64(fsstat_of(s).bytes_total); }},
    {FATTR4_SPACE_USED, 0, 0, [](Src s, Enc e) { e.u64(s.attr->space_used); }},
    {FATTR4_TIME_ACCESS, 0, 0, [](Src s, Enc e) { put_time(e, s.attr->atime); }},
    {FATTR4_TIME_ACCESS_SET, 0, kSettable, nullptr},
    {FATTR4_TIME_DELTA, 0, 0, [](Src s, Enc e) { put_time(e, kTimeDelta); }},
    {FATTR4_TIME_METADATA, 0, 0, [](Src s, Enc e) { put_time(e, s.attr->ctime); }},
    {FATTR4_TIME_MODIFY, 0, 0, [](Src s, Enc e) { put_time(e, s.attr->mtime); }},
    {FATTR4_TIME_MODIFY_SET, 0, kSettable, nullptr},
    {FATTR4_MOUNTED_ON_FILEID, 0, 0,
     [](Src s, Enc e) { e.u64(s.mounted_on_fileid ? s.mounted_on_fileid : s.attr->ino); }},
    // RFC 8881 5.8.1.14: new in 4.1.
    {FATTR4_SUPPATTR_EXCLCREAT, 1, 0, [](Src s, Enc e) { exclcreat_attrs().encode(e); }},
    // 4.2 only: RFC 7862 12.2.3, RFC 8276 (no xattrs yet, so false).
    {FATTR4_CHANGE_ATTR_TYPE, 2, 0, [](Src s, Enc e) { e.u32(NFS4_CHANGE_TYPE_IS_UNDEFINED); }},
    {FATTR4_XATTR_SUPPORT, 2, 0, [](Src s, Enc e) { e.boolean(false); }},
};

constexpr bool table_is_ascending() {
  for (size_t i = 1; i < std::size(kAttrTable); i++)
    if (kAttrTable[i - 1].num >= kAttrTable[i].num) return false;
  return std::size(kAttrTable) == 0 || kAttrTable[std::size(kAttrTable) - 1].num < 96;
}
static_assert(table_is_ascending(), "kAttrTable must be sorted by attribute number, all < 96");

// The highest minor version the server speaks; settable checks use its set.
constexpr uint32_t kMaxMinor = 2;

AttrBitmap readable_attrs(uint32_t minor_version) {
  AttrBitmap r;
  for (const AttrEntry& a : kAttrTable)
    if (a.min_minor <= minor_version && a.encode) r.set(a.num);
  return r;
}

bool is_subset(const AttrBitmap& a, const AttrBitmap& of) { return (a & of) == a; }

// Values only (attr_vals), for the attributes in mask that are readable.
void encode_values(const AttrBitmap& mask, const AttrSource& src, xdr::XdrEncoder& enc) {
  for (const AttrEntry& a : kAttrTable)
    if (mask.test(a.num) && a.encode && a.min_minor <= src.minor_version) a.encode(src, enc);
}

enum class IdKind { kUser, kGroup };

// A decimal id: digits only, fits in 32 bits. (uint32_t)-1 is refused: to
// chown(2) it means "leave unchanged", so accepting it would silently do
// nothing.
bool parse_decimal_id(std::string_view s, uint32_t* id) {
  if (s.empty() || s.size() > 10) return false;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  if (v >= std::numeric_limits<uint32_t>::max()) return false;
  *id = static_cast<uint32_t>(v);
  return true;
}

// A local account or group by name. May consult NSS (and so block); the
// Linux client with AUTH_SYS sends decimal ids, which never get here.
bool lookup_local_id(std::string_view name, IdKind kind, uint32_t* id) {
  if (name.empty() || name.find('\0') != std::string_view::npos) return false;
  std::string cname(name);
  std::string buf(1024, '\0');
  for (;;) {
    int rc;
    bool found = false;
    if (kind == IdKind::kUser) {
      passwd pw{}, *res = nullptr;
      rc = getpwnam_r(cname.c_str(), &pw, buf.data(), buf.size(), &res);
      if (rc == 0 && res) {
        *id = res->pw_uid;
        found = true;
      }
    } else {
      group gr{}, *res = nullptr;
      rc = getgrnam_r(cname.c_str(), &gr, buf.data(), buf.size(), &res);
      if (rc == 0 && res) {
        *id = res->gr_gid;
        found = true;
      }
    }
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return found;
  }
}

// owner / owner_group (RFC 8881 5.9): "id", "id@domain", "name", or
// "name@domain" with name a local account. Any domain is accepted: this
// server has no idmap domain of its own to compare against.
bool parse_owner(std::string_view s, IdKind kind, uint32_t* id) {
  if (s.size() > kMaxOwnerLen) return false;
  std::string_view name = s;
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    name = s.substr(0, at);
    if (at + 1 == s.size()) return false;  // "name@" names no domain
  }
  if (name.empty()) return false;
  return parse_decimal_id(name, id) || lookup_local_id(name, kind, id);
}

// settime4 (RFC 8881 3.3.3). An unknown time_how4 is an XDR error (no such
// union arm); nseconds > 999,999,999 is invalid (RFC 8881 3.3.1).
void decode_settime(xdr::XdrDecoder& d, SetAttr::TimeHow* how, Timespec* t, nfsstat4* bad) {
  uint32_t h = d.u32();
  if (h == SET_TO_SERVER_TIME4) {
    *how = SetAttr::TimeHow::kServerNow;
  } else if (h == SET_TO_CLIENT_TIME4) {
    *how = SetAttr::TimeHow::kGiven;
    t->sec = d.i64();
    t->nsec = d.u32();
    if (t->nsec >= 1000000000u && *bad == NFS4_OK) *bad = NFS4ERR_INVAL;
  } else {
    d.fail();
  }
}

// One settable attribute's value from the attrlist. Value errors go to *bad
// (first one wins); XDR errors fail d.
void decode_value(fattr4_num num, xdr::XdrDecoder& d, SetAttr* sa, nfsstat4* bad) {
  auto note = [bad](nfsstat4 st) {
    if (*bad == NFS4_OK) *bad = st;
  };
  switch (num) {
    case FATTR4_SIZE:
      sa->size = d.u64();
      break;
    case FATTR4_MODE: {
      uint32_t mode = d.u32();
      if (mode > 07777) note(NFS4ERR_INVAL);  // mode4 holds only MODE4_* bits
      sa->mode = mode;
      break;
    }
    case FATTR4_OWNER:
    case FATTR4_OWNER_GROUP: {
      auto raw = d.var_opaque(std::numeric_limits<uint32_t>::max());
      if (!d.ok()) break;
      std::string_view s(reinterpret_cast<const char*>(raw.data()), raw.size());
      uint32_t id = 0;
      bool user = num == FATTR4_OWNER;
      if (!parse_owner(s, user ? IdKind::kUser : IdKind::kGroup, &id)) {
        note(NFS4ERR_BADOWNER);
      } else if (user) {
        sa->uid = id;
      } else {
        sa->gid = id;
      }
      break;
    }
    case FATTR4_TIME_ACCESS_SET:
      decode_settime(d, &sa->atime_how, &sa->atime, bad);
      break;
    case FATTR4_TIME_MODIFY_SET:
      decode_settime(d, &sa->mtime_how, &sa->mtime, bad);
      break;
    default:
      assert(false && "decode_value called for a non-settable attribute");
      d.fail();
  }
}

// fattr4 = { bitmap4 attrmask; attrlist4 attr_vals } (RFC 8881 3.3.7).
bool decode_fattr4(xdr::XdrDecoder& dec, AttrBitmap* mask, std::span<const uint8_t>* vals) {
  mask->decode(dec);
  *vals = dec.var_opaque(std::numeric_limits<uint32_t>::max());
  return dec.ok();
}

}  // namespace

void AttrBitmap::decode(xdr::XdrDecoder& dec) {
  *this = AttrBitmap{};
  uint32_t n = dec.array_len(kMaxWireWords, 4);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t word = dec.u32();
    if (i < 3) {
      w[i] = word;
    } else if (word) {
      high_bits = true;
    }
  }
  if (!dec.ok()) *this = AttrBitmap{};
}

void AttrBitmap::encode(xdr::XdrEncoder& enc) const {
  uint32_t n = 3;
  while (n > 0 && w[n - 1] == 0) n--;
  enc.u32(n);
  for (uint32_t i = 0; i < n; i++) enc.u32(w[i]);
}

AttrBitmap supported_attrs(uint32_t minor_version) {
  AttrBitmap r;
  for (const AttrEntry& a : kAttrTable)
    if (a.min_minor <= minor_version) r.set(a.num);
  return r;
}

AttrBitmap settable_attrs() {
  AttrBitmap r;
  for (const AttrEntry& a : kAttrTable)
    if (a.flags & kSettable) r.set(a.num);
  return r;
}

// RFC 8881 18.16.3: with EXCLUSIVE4_1 the server keeps the create verifier
// somewhere and the client follows up with a SETATTR of what could not be
// set at create time. The times are left out so the OPEN code may keep the
// verifier in atime/mtime (as Linux nfsd does, whose suppattr_exclcreat is
// its writable set minus time_access_set/time_modify_set); size, mode and
// ownership can be applied to the new file directly.
AttrBitmap exclcreat_attrs() {
  AttrBitmap r = settable_attrs();
  r.clear(FATTR4_TIME_ACCESS_SET);
  r.clear(FATTR4_TIME_MODIFY_SET);
  return r;
}

AttrBitmap writeonly_attrs() {
  AttrBitmap r;
  for (const AttrEntry& a : kAttrTable)
    if (!a.encode) r.set(a.num);
  return r;
}

bool needs_fsstat(const AttrBitmap& requested) {
  for (const AttrEntry& a : kAttrTable)
    if ((a.flags & kFsStat) && requested.test(a.num)) return true;
  return false;
}

void encode_fattr(const AttrBitmap& requested, const AttrSource& src, xdr::XdrEncoder& enc) {
  FattrEncoder(requested, src.minor_version).encode(src, enc);
}

static_assert(std::size(kAttrTable) <= 64, "FattrEncoder::fns_ holds one encoder per row");

FattrEncoder::FattrEncoder(const AttrBitmap& requested, uint32_t minor_version) {
  // RFC 8881 18.7.3: unsupported attributes are left out of the reply mask.
  // Set-only ones have no value; callers reject them first (RFC 8881 5.5).
  emitted_ = requested & readable_attrs(minor_version);
  for (const AttrEntry& a : kAttrTable)
    if (emitted_.test(a.num)) fns_[n_++] = a.encode;
}

void FattrEncoder::encode(const AttrSource& src, xdr::XdrEncoder& enc) const {
  emitted_.encode(enc);
  size_t len_slot = enc.reserve_u32();
  size_t start = enc.size();
  for (size_t i = 0; i < n_; i++) fns_[i](src, enc);
  enc.patch_u32(len_slot, static_cast<uint32_t>(enc.size() - start));
}

nfsstat4 decode_settable(xdr::XdrDecoder& dec, backend::SetAttr* sa, AttrBitmap* mask) {
  *mask = AttrBitmap{};
  AttrBitmap req;
  std::span<const uint8_t> vals;
  if (!decode_fattr4(dec, &req, &vals)) return NFS4ERR_BADXDR;

  // Unsupported attributes first (RFC 8881 18.30.4: ATTRNOTSUPP), then
  // supported get-only ones (RFC 8881 5.5: INVAL), then the values; Linux
  // nfsd checks in the same order. decode_settable has no minor version, so
  // "supported" is the newest minor's set. The attributes only newer minors
  // have are all get-only, so an older-minor client naming one gets INVAL
  // where ATTRNOTSUPP would be more precise.
  if (req.high_bits || !is_subset(req, supported_attrs(kMaxMinor))) return NFS4ERR_ATTRNOTSUPP;
  if (!is_subset(req, settable_attrs())) return NFS4ERR_INVAL;

  SetAttr out;
  nfsstat4 bad = NFS4_OK;
  xdr::XdrDecoder sub(vals);
  for (const AttrEntry& a : kAttrTable)
    if (req.test(a.num)) decode_value(a.num, sub, &out, &bad);
  // A malformed attrlist outranks a bad value in it: the client's encoder is
  // broken, not its idea of the file.
  if (!sub.ok() || sub.remaining() != 0) return NFS4ERR_BADXDR;
  if (bad != NFS4_OK) return bad;
  *sa = out;
  *mask = req;
  return NFS4_OK;
}

nfsstat4 compare_fattr(xdr::XdrDecoder& dec, const AttrSource& src) {
  AttrBitmap req;
  std::span<const uint8_t> theirs;
  if (!decode_fattr4(dec, &req, &theirs)) return NFS4ERR_BADXDR;
  if (req.high_bits || !is_subset(req, supported_attrs(src.minor_version)))
    return NFS4ERR_ATTRNOTSUPP;
  // RFC 8881 18.15.4, 18.31.4: rdattr_error or any set-only attribute is
  // NFS4ERR_INVAL.
  if (req.test(FATTR4_RDATTR_ERROR) || !(req & writeonly_attrs()).empty()) return NFS4ERR_INVAL;

  // Every requested attribute is now readable, so ours has the same mask and
  // the value lists compare byte for byte. XDR gives each value one encoding
  // (padding is zero), except that a bitmap4 value (supported_attrs,
  // suppattr_exclcreat) may carry trailing zero words; such a client sees
  // NOT_SAME. A short or padded attr_vals is NOT_SAME, not BADXDR.
  xdr::XdrEncoder ours;
  encode_values(req, src, ours);
  const auto& buf = ours.buffer();
  bool same = buf.size() == theirs.size() && std::equal(buf.begin(), buf.end(), theirs.begin());
  return same ? NFS4ERR_SAME : NFS4ERR_NOT_SAME;
}

nfs_ftype4 to_nfs_type(backend::FileType t) {
  switch (t) {
    case backend::FileType::kRegular:
      return NF4REG;
    case backend::FileType::kDirectory:
      return NF4DIR;
    case backend::FileType::kBlock:
      return NF4BLK;
    case backend::FileType::kChar:
      return NF4CHR;
    case backend::FileType::kSymlink:
      return NF4LNK;
    case backend::FileType::kSocket:
      return NF4SOCK;
    case backend::FileType::kFifo:
      return NF4FIFO;
  }
  return NF4REG;
}

}  // namespace pnfsgw::nfs4
