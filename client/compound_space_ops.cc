// CompoundBuilder encoders for the NFSv4.2 space operations (RFC 7862 15.1,
// 15.2, 15.4, 15.8-15.11, 15.13; XDR in RFC 7863).
#include "client/compound.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
constexpr uint32_t kNl4Name = 1;  // netloc_type4 NL4_NAME
}  // namespace

CompoundBuilder& CompoundBuilder::allocate(const Stateid& s, uint64_t offset, uint64_t length) {
  XdrEncoder& e = op(OP_ALLOCATE);
  s.encode(e);
  e.u64(offset);
  e.u64(length);
  return *this;
}

CompoundBuilder& CompoundBuilder::deallocate(const Stateid& s, uint64_t offset, uint64_t length) {
  XdrEncoder& e = op(OP_DEALLOCATE);
  s.encode(e);
  e.u64(offset);
  e.u64(length);
  return *this;
}

CompoundBuilder& CompoundBuilder::seek(const Stateid& s, uint64_t offset, uint32_t what) {
  XdrEncoder& e = op(OP_SEEK);
  s.encode(e);
  e.u64(offset);
  e.u32(what);
  return *this;
}

CompoundBuilder& CompoundBuilder::read_plus(const Stateid& s, uint64_t offset, uint32_t count) {
  XdrEncoder& e = op(OP_READ_PLUS);
  s.encode(e);
  e.u64(offset);
  e.u32(count);
  return *this;
}

CompoundBuilder& CompoundBuilder::copy(const CopyArgs& a) {
  XdrEncoder& e = op(OP_COPY);
  a.src_stateid.encode(e);
  a.dst_stateid.encode(e);
  e.u64(a.src_offset);
  e.u64(a.dst_offset);
  e.u64(a.count);
  e.boolean(a.consecutive);
  e.boolean(a.synchronous);
  e.u32(static_cast<uint32_t>(a.source_servers.size()));
  for (const std::string& name : a.source_servers) {
    e.u32(kNl4Name);
    e.string(name);
  }
  return *this;
}

CompoundBuilder& CompoundBuilder::clone(const Stateid& src, const Stateid& dst, uint64_t src_offset,
                                        uint64_t dst_offset, uint64_t count) {
  XdrEncoder& e = op(OP_CLONE);
  src.encode(e);
  dst.encode(e);
  e.u64(src_offset);
  e.u64(dst_offset);
  e.u64(count);
  return *this;
}

CompoundBuilder& CompoundBuilder::offload_cancel(const Stateid& s) {
  s.encode(op(OP_OFFLOAD_CANCEL));
  return *this;
}

CompoundBuilder& CompoundBuilder::offload_status(const Stateid& s) {
  s.encode(op(OP_OFFLOAD_STATUS));
  return *this;
}

}  // namespace pnfsgw::client
