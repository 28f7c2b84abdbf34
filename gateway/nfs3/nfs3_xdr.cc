#include "gateway/nfs3/nfs3_xdr.h"

namespace pnfsgw::nfs3 {

Fh3 decode_fh3(xdr::XdrDecoder& dec) { return dec.var_opaque(NFS3_FHSIZE); }

void decode_diropargs3(xdr::XdrDecoder& dec, DirOpArgs3* out) {
  out->dir = decode_fh3(dec);
  out->name = dec.string(kMaxPath);
}

void decode_nfstime3(xdr::XdrDecoder& dec, backend::Timespec* out) {
  out->sec = dec.u32();
  out->nsec = dec.u32();
}

void encode_nfstime3(xdr::XdrEncoder& enc, const backend::Timespec& t) {
  // nfstime3 seconds are unsigned 32-bit (RFC 1813 2.5); earlier or later
  // times wrap, as they do in other servers.
  enc.u32(static_cast<uint32_t>(t.sec));
  enc.u32(t.nsec);
}

namespace {

backend::SetAttr::TimeHow decode_time_how(xdr::XdrDecoder& dec, backend::Timespec* t) {
  using TH = backend::SetAttr::TimeHow;
  switch (dec.u32()) {
    case DONT_CHANGE:
      return TH::kKeep;
    case SET_TO_SERVER_TIME:
      return TH::kServerNow;
    case SET_TO_CLIENT_TIME:
      decode_nfstime3(dec, t);
      return TH::kGiven;
    default:
      dec.fail();
      return TH::kKeep;
  }
}

}  // namespace

void decode_sattr3(xdr::XdrDecoder& dec, backend::SetAttr* out) {
  *out = backend::SetAttr{};
  if (dec.boolean()) out->mode = dec.u32() & 07777;
  if (dec.boolean()) out->uid = dec.u32();
  if (dec.boolean()) out->gid = dec.u32();
  if (dec.boolean()) out->size = dec.u64();
  out->atime_how = decode_time_how(dec, &out->atime);
  out->mtime_how = decode_time_how(dec, &out->mtime);
}

ftype3 ftype_of(backend::FileType t) {
  switch (t) {
    case backend::FileType::kRegular:
      return NF3REG;
    case backend::FileType::kDirectory:
      return NF3DIR;
    case backend::FileType::kBlock:
      return NF3BLK;
    case backend::FileType::kChar:
      return NF3CHR;
    case backend::FileType::kSymlink:
      return NF3LNK;
    case backend::FileType::kSocket:
      return NF3SOCK;
    case backend::FileType::kFifo:
      return NF3FIFO;
  }
  return NF3REG;
}

void encode_fattr3(xdr::XdrEncoder& enc, const backend::Attr& a, uint64_t fsid) {
  enc.u32(ftype_of(a.type));
  enc.u32(a.mode & 07777);
  enc.u32(a.nlink);
  enc.u32(a.uid);
  enc.u32(a.gid);
  enc.u64(a.size);
  enc.u64(a.space_used);
  enc.u32(a.rdev_major);  // specdata3
  enc.u32(a.rdev_minor);
  enc.u64(fsid);
  enc.u64(a.ino);
  encode_nfstime3(enc, a.atime);
  encode_nfstime3(enc, a.mtime);
  encode_nfstime3(enc, a.ctime);
}

void encode_post_op_attr(xdr::XdrEncoder& enc, const std::optional<backend::Attr>& a,
                         uint64_t fsid) {
  enc.boolean(a.has_value());
  if (a) encode_fattr3(enc, *a, fsid);
}

void encode_pre_op_attr(xdr::XdrEncoder& enc, const std::optional<backend::Attr>& a) {
  enc.boolean(a.has_value());
  if (!a) return;
  enc.u64(a->size);
  encode_nfstime3(enc, a->mtime);
  encode_nfstime3(enc, a->ctime);
}

void encode_wcc_data(xdr::XdrEncoder& enc, const Wcc& w, uint64_t fsid) {
  encode_pre_op_attr(enc, w.before);
  encode_post_op_attr(enc, w.after, fsid);
}

void encode_post_op_fh3(xdr::XdrEncoder& enc, std::span<const uint8_t> fh) {
  enc.boolean(!fh.empty());
  if (!fh.empty()) enc.var_opaque(fh);
}

size_t entry3_size(size_t name_len) { return 4 + 8 + 4 + xdr::pad4(name_len) + 8; }

void encode_entry3(xdr::XdrEncoder& enc, uint64_t fileid, std::string_view name, uint64_t cookie) {
  enc.boolean(true);
  enc.u64(fileid);
  enc.string(name);
  enc.u64(cookie);
}

void encode_entryplus3(xdr::XdrEncoder& enc, uint64_t fileid, std::string_view name,
                       uint64_t cookie, const std::optional<backend::Attr>& a, uint64_t fsid,
                       std::span<const uint8_t> fh) {
  encode_entryplus3(enc, fileid, name, cookie, a ? &*a : nullptr, fsid, fh);
}

void encode_entryplus3(xdr::XdrEncoder& enc, uint64_t fileid, std::string_view name,
                       uint64_t cookie, const backend::Attr* a, uint64_t fsid,
                       std::span<const uint8_t> fh) {
  encode_entry3(enc, fileid, name, cookie);
  enc.boolean(a != nullptr);  // post_op_attr
  if (a) encode_fattr3(enc, *a, fsid);
  encode_post_op_fh3(enc, fh);
}

}  // namespace pnfsgw::nfs3
