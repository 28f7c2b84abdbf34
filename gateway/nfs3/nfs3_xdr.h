// XDR for the NFSv3 types shared by several procedures (RFC 1813 2.5-2.6,
// 3.3.16-17): filehandles, times, fattr3, sattr3, wcc_data, post_op
// attributes and handles, and READDIR/READDIRPLUS entries. Buffers only;
// procedure-specific argument and result layouts live beside their
// procedures. Decoders leave the XdrDecoder failed on malformed input.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "backend/fs.h"
#include "gateway/nfs3/nfs3_const.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::nfs3 {

// nfs_fh3: opaque<NFS3_FHSIZE>, a view into the decoded message.
using Fh3 = std::span<const uint8_t>;
Fh3 decode_fh3(xdr::XdrDecoder& dec);

// diropargs3. Names up to kMaxPath bytes decode (a longer one is garbage)
// so that an over-long name can be answered NFS3ERR_NAMETOOLONG.
struct DirOpArgs3 {
  Fh3 dir;
  std::string_view name;
};
void decode_diropargs3(xdr::XdrDecoder& dec, DirOpArgs3* out);

void decode_nfstime3(xdr::XdrDecoder& dec, backend::Timespec* out);
void encode_nfstime3(xdr::XdrEncoder& enc, const backend::Timespec& t);

// sattr3 into a backend SetAttr (set_* discriminants must be 0/1, time_how
// 0..2).
void decode_sattr3(xdr::XdrDecoder& dec, backend::SetAttr* out);

// Size in bytes of an encoded fattr3 and post_op_attr with attributes.
constexpr size_t kFattr3Size = 84;
constexpr size_t kPostOpAttrSize = 4 + kFattr3Size;

ftype3 ftype_of(backend::FileType t);
// fattr3 (RFC 1813 2.5): fsid is the export id, fileid the inode id.
void encode_fattr3(xdr::XdrEncoder& enc, const backend::Attr& a, uint64_t fsid);
// post_op_attr: attributes_follow + fattr3 when a is set.
void encode_post_op_attr(xdr::XdrEncoder& enc, const std::optional<backend::Attr>& a,
                         uint64_t fsid);
// pre_op_attr: attributes_follow + wcc_attr (size, mtime, ctime).
void encode_pre_op_attr(xdr::XdrEncoder& enc, const std::optional<backend::Attr>& a);

// The attributes of an object around a change (RFC 1813 2.6: wcc_data).
struct Wcc {
  std::optional<backend::Attr> before;  // taken before the change
  std::optional<backend::Attr> after;   // taken after it
};
void encode_wcc_data(xdr::XdrEncoder& enc, const Wcc& w, uint64_t fsid);

// post_op_fh3: handle_follows + nfs_fh3 when fh is not empty.
void encode_post_op_fh3(xdr::XdrEncoder& enc, std::span<const uint8_t> fh);

// Wire size of one READDIR entry3 and of its "directory information" part
// in READDIRPLUS (fileid, name, cookie; RFC 1813 3.3.17 dircount), both
// including the value_follows word in front.
size_t entry3_size(size_t name_len);
// One entry3 preceded by value_follows = TRUE.
void encode_entry3(xdr::XdrEncoder& enc, uint64_t fileid, std::string_view name, uint64_t cookie);
// One entryplus3 preceded by value_follows = TRUE; attributes and handle
// are omitted when not given.
void encode_entryplus3(xdr::XdrEncoder& enc, uint64_t fileid, std::string_view name,
                       uint64_t cookie, const std::optional<backend::Attr>& a, uint64_t fsid,
                       std::span<const uint8_t> fh);
void encode_entryplus3(xdr::XdrEncoder& enc, uint64_t fileid, std::string_view name,
                       uint64_t cookie, const backend::Attr* a, uint64_t fsid,
                       std::span<const uint8_t> fh);

}  // namespace pnfsgw::nfs3
