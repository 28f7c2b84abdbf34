#include "gateway/common/file_parts.h"

#include <cstdlib>
#include <cstring>
#include <optional>

namespace pnfsgw::gw {
namespace {

// For measuring against the copy path with the same binary.
bool copy_forced() {
  static const bool forced = [] {
    const char* v = std::getenv("PNFSGW_READ_COPY");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return forced;
}

// The zero-copy path; nullopt when it does not apply (use read()).
std::optional<Result<size_t>> read_as_file_parts(const rpc::CallContext& call,
                                                 backend::Filesystem& fs, backend::InodeId ino,
                                                 uint64_t offset, uint32_t count,
                                                 xdr::XdrEncoder& enc, bool* eof) {
  rpc::ReplyFileData* out = call.file_data;
  // One run of parts per reply: a second READ in a COMPOUND copies.
  if (out == nullptr || !out->empty() || count < kFilePartsMinRead || copy_forced())
    return std::nullopt;
  auto r = fs.read_segments(ino, offset, count);
  if (!r) {
    if (r.err() == ENOTSUP) return std::nullopt;
    return Result<size_t>::error(r.err());
  }
  backend::SegmentedRead& got = r.value();
  *eof = got.eof;
  if (got.count == 0) return size_t{0};
  out->at = enc.size();
  out->parts.reserve(got.segments.size());
  for (const backend::ReadSegment& s : got.segments) {
    out->parts.push_back({s.fd, s.offset, s.length});
    out->bytes += s.length;
  }
  out->hold = std::shared_ptr<backend::ReadLease>(std::move(got.lease));
  enc.truncate(enc.size() + (xdr::pad4(got.count) - got.count));  // zeroed padding
  return got.count;
}

}  // namespace

Result<size_t> append_read_data(const rpc::CallContext& call, backend::Filesystem& fs,
                                backend::InodeId ino, uint64_t offset, uint32_t count,
                                bool allow_parts, xdr::XdrEncoder& enc, bool* eof) {
  if (allow_parts) {
    if (auto parts = read_as_file_parts(call, fs, ino, offset, count, enc, eof)) return *parts;
  }
  const size_t data_off = enc.append_uninitialized(count);  // not zeroed: read fills it
  auto r = fs.read(ino, offset, std::span<uint8_t>(enc.data() + data_off, count), eof);
  if (!r) {
    enc.truncate(data_off);
    return r;
  }
  enc.truncate(data_off + xdr::pad4(*r));
  enc.zero_pad(data_off, *r);
  return r;
}

std::optional<Result<size_t>> write_data(const rpc::CallContext& call, backend::Filesystem& fs,
                                         backend::InodeId ino, uint64_t offset,
                                         std::span<const uint8_t> data, bool unstable) {
  if (call.may_defer) return unstable ? fs.write_quick(ino, offset, data) : std::nullopt;
  return fs.write(ino, offset, data);
}

}  // namespace pnfsgw::gw
