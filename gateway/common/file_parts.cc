#include "gateway/common/file_parts.h"

#include <cstdlib>
#include <cstring>

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

}  // namespace

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

}  // namespace pnfsgw::gw
