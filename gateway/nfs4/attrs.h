// fattr4 encoding and decoding (RFC 8881 5, 3.3.7; RFC 7862 12).
// GETATTR/READDIR encode through encode_fattr(); SETATTR/CREATE/OPEN decode
// settable attributes through decode_settable(); VERIFY/NVERIFY compare with
// compare_fattr(). Owners travel as decimal id strings ("1000"), which the
// Linux client with AUTH_SYS sends and expects; "name@domain" and "name"
// with a local account are accepted on input too.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backend/fs.h"
#include "gateway/nfs4/nfs4_const.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::nfs4 {

// bitmap4 of up to 3 words (attributes 0..95).
struct AttrBitmap {
  // decode() fails the decoder for a bitmap longer than this many words.
  static constexpr uint32_t kMaxWireWords = 8;

  uint32_t w[3] = {0, 0, 0};
  // Set by decode() when a word past the third had a bit set: the bitmap
  // names an attribute >= 96, which this server never supports.
  bool high_bits = false;
  bool test(uint32_t n) const { return n < 96 && (w[n / 32] >> (n % 32)) & 1; }
  void set(uint32_t n) {
    if (n < 96) w[n / 32] |= 1u << (n % 32);
  }
  void clear(uint32_t n) {
    if (n < 96) w[n / 32] &= ~(1u << (n % 32));
  }
  bool empty() const { return !w[0] && !w[1] && !w[2]; }
  AttrBitmap operator&(const AttrBitmap& o) const {
    AttrBitmap r;
    for (int i = 0; i < 3; i++) r.w[i] = w[i] & o.w[i];
    return r;
  }
  bool operator==(const AttrBitmap&) const = default;
  // Decodes a bitmap4. Words beyond the third are not kept; a bit set in
  // one of them sets high_bits (callers that must reject unsupported
  // attributes check it). More than kMaxWireWords words fails the decoder.
  void decode(xdr::XdrDecoder& dec);
  // Encodes with trailing zero words trimmed.
  void encode(xdr::XdrEncoder& enc) const;
};

// Everything GETATTR can report for one object.
struct AttrSource {
  const backend::Attr* attr = nullptr;      // required
  const backend::FsStat* fsstat = nullptr;  // required iff needs_fsstat()
  std::span<const uint8_t> fh;              // the object's filehandle
  uint64_t fsid_major = 0, fsid_minor = 0;
  uint32_t lease_time = 90;  // seconds
  uint32_t minor_version = 1;
  // mounted_on_fileid: the fileid of the object this one is mounted on (for
  // the export root); equals attr->ino otherwise. 0 means attr->ino.
  uint64_t mounted_on_fileid = 0;
  uint32_t max_read = 1 << 20, max_write = 1 << 20;
  uint32_t rdattr_error = 0;  // nfsstat4 to report for FATTR4_RDATTR_ERROR
};

// The attributes this server supports for a minor version.
AttrBitmap supported_attrs(uint32_t minor_version);
// Attributes that may be set by SETATTR (and in createattrs).
AttrBitmap settable_attrs();
// Attributes settable with EXCLUSIVE4_1 create (suppattr_exclcreat).
AttrBitmap exclcreat_attrs();
// Supported attributes that can be set but never read (time_access_set,
// time_modify_set). encode_fattr() leaves them out; GETATTR and READDIR must
// answer NFS4ERR_INVAL when asked for one (RFC 8881 5.5), and
// compare_fattr() does.
AttrBitmap writeonly_attrs();
// True if encoding these attributes needs AttrSource::fsstat.
bool needs_fsstat(const AttrBitmap& requested);

// Encodes fattr4 { attrmask, attr_vals } with the requested attributes that
// are supported (unsupported ones are left out of attrmask, RFC 8881 15.1.15).
void encode_fattr(const AttrBitmap& requested, const AttrSource& src, xdr::XdrEncoder& enc);

// encode_fattr() for one requested mask and many objects (READDIR): the
// mask is checked against the table once, not per object. Immutable after
// construction.
class FattrEncoder {
 public:
  FattrEncoder(const AttrBitmap& requested, uint32_t minor_version);
  // The same bytes as encode_fattr(requested, src, enc).
  void encode(const AttrSource& src, xdr::XdrEncoder& enc) const;

 private:
  using Fn = void (*)(const AttrSource&, xdr::XdrEncoder&);
  AttrBitmap emitted_;
  Fn fns_[64];  // the encoders of emitted_, in table order
  size_t n_ = 0;
};

// Decodes a fattr4 meant to set attributes. Returns NFS4_OK and fills *sa and
// *mask, or: NFS4ERR_BADXDR (undecodable), NFS4ERR_ATTRNOTSUPP (a bit we don't
// support), NFS4ERR_INVAL (a supported read-only attribute, or a bad value),
// NFS4ERR_BADOWNER (owner/owner_group not understood). On error *sa is left
// alone and *mask is cleared (nothing was set). The whole fattr4 is consumed
// from dec unless it is undecodable.
nfsstat4 decode_settable(xdr::XdrDecoder& dec, backend::SetAttr* sa, AttrBitmap* mask);

// VERIFY/NVERIFY: decodes the client's fattr4 and compares it with ours.
// Returns NFS4ERR_SAME if all given attributes equal ours, NFS4ERR_NOT_SAME
// otherwise, or an error (NFS4ERR_BADXDR, NFS4ERR_ATTRNOTSUPP, NFS4ERR_INVAL
// if rdattr_error or a set-only attribute is included, RFC 8881 18.31.4).
// Values compare as encoded bytes.
nfsstat4 compare_fattr(xdr::XdrDecoder& dec, const AttrSource& src);

// File type mapping.
nfs_ftype4 to_nfs_type(backend::FileType t);

}  // namespace pnfsgw::nfs4
