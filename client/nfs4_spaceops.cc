// Nfs4Client NFSv4.2 space operations (RFC 7862 15): one compound each,
// after the SEQUENCE that compound() adds. The server answers them only in
// minor version 2 (Nfs4ClientOptions::minorversion).
#include "client/nfs4_client.h"
#include "client/ops_reply.h"

namespace pnfsgw::client {

Status Nfs4Client::allocate(const Fh& fh, const Stateid& s, uint64_t offset, uint64_t length) {
  CompoundBuilder b;
  b.putfh(fh).allocate(s, offset, length);
  return run(b).status();
}

Status Nfs4Client::deallocate(const Fh& fh, const Stateid& s, uint64_t offset, uint64_t length) {
  CompoundBuilder b;
  b.putfh(fh).deallocate(s, offset, length);
  return run(b).status();
}

Result<SeekRes> Nfs4Client::seek(const Fh& fh, const Stateid& s, uint64_t offset, uint32_t what) {
  CompoundBuilder b;
  b.putfh(fh).seek(s, offset, what);
  return run(b).get<SeekRes>(1);
}

Result<ReadPlusRes> Nfs4Client::read_plus(const Fh& fh, const Stateid& s, uint64_t offset,
                                          uint32_t count) {
  CompoundBuilder b;
  b.putfh(fh).read_plus(s, offset, count);
  return run(b).get<ReadPlusRes>(1);
}

Result<CopyRes> Nfs4Client::copy(const Fh& src, const Fh& dst, const CopyArgs& a) {
  CompoundBuilder b;
  b.putfh(src).savefh().putfh(dst).copy(a);
  return run(b).get<CopyRes>(3);
}

Status Nfs4Client::clone(const Fh& src, const Stateid& src_stateid, const Fh& dst,
                         const Stateid& dst_stateid, uint64_t src_offset, uint64_t dst_offset,
                         uint64_t count) {
  CompoundBuilder b;
  b.putfh(src).savefh().putfh(dst).clone(src_stateid, dst_stateid, src_offset, dst_offset, count);
  return run(b).status();
}

}  // namespace pnfsgw::client
