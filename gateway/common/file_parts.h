// The data of READ and WRITE, shared by NFSv3 and NFSv4.
//
// READ data into a reply. Zero-copy when it can: the bytes stay where the
// filesystem keeps them (Filesystem::read_segments) and go on the wire as
// file parts of the reply (rpc::ReplyFileData), sent by sendfile(2);
// otherwise they are read straight into the reply's encoder.
#pragma once
#include <cstdint>
#include <optional>
#include <span>

#include "backend/fs.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::gw {

// READs of at least this many bytes are sent as file parts; smaller ones are
// copied (one send of a small buffer beats send + sendfile + the lease).
constexpr uint32_t kFilePartsMinRead = 64 * 1024;

// Appends the data of a READ of up to count bytes at offset to enc, XDR
// padding included: as file parts when allow_parts, the transport and the
// layer can (and PNFSGW_READ_COPY=1 is not in the environment), else copied
// into the encoder (not zeroed first; only the padding is). Returns the
// byte count (and *eof), or read()'s error with nothing appended.
Result<size_t> append_read_data(const rpc::CallContext& call, backend::Filesystem& fs,
                                backend::InodeId ino, uint64_t offset, uint32_t count,
                                bool allow_parts, xdr::XdrEncoder& enc, bool* eof);

// A WRITE's data into the file. On the pool (call.may_defer false) this is
// Filesystem::write(). On an event loop it does only an UNSTABLE write that
// needs no wait (Filesystem::write_quick; a stable one waits for the
// device) and answers nullopt otherwise, having written nothing: the call
// then goes on to the pool (Disposition::kDefer).
std::optional<Result<size_t>> write_data(const rpc::CallContext& call, backend::Filesystem& fs,
                                         backend::InodeId ino, uint64_t offset,
                                         std::span<const uint8_t> data, bool unstable);

}  // namespace pnfsgw::gw
