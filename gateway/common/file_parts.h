// Zero-copy READ data: the bytes stay where the filesystem keeps them
// (Filesystem::read_segments) and go on the wire as file parts of the reply
// (rpc::ReplyFileData), sent by sendfile(2), instead of being copied into
// the reply's encoder first.
#pragma once
#include <cstdint>
#include <optional>

#include "backend/fs.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::gw {

// READs of at least this many bytes are sent as file parts; smaller ones are
// copied (one send of a small buffer beats send + sendfile + the lease).
constexpr uint32_t kFilePartsMinRead = 64 * 1024;

// Attaches the data of a READ of count bytes at offset to the reply, at the
// encoder's end, and appends its XDR padding. nullopt: not done (the
// transport or the layer cannot, a small read, or PNFSGW_READ_COPY=1 in the
// environment): use Filesystem::read(). Otherwise read()'s answer: the byte
// count (and *eof), or its error with nothing attached or appended.
std::optional<Result<size_t>> read_as_file_parts(const rpc::CallContext& call,
                                                 backend::Filesystem& fs, backend::InodeId ino,
                                                 uint64_t offset, uint32_t count,
                                                 xdr::XdrEncoder& enc, bool* eof);

}  // namespace pnfsgw::gw
