// Exclusive create (NFSv3 EXCLUSIVE, NFSv4 EXCLUSIVE4/EXCLUSIVE4_1) keeps
// the client's 8-byte verifier in the new file's atime and mtime seconds
// until the client sets real times, so that a retried create with the same
// verifier can be recognised (RFC 1813 3.3.8, RFC 8881 18.16.3). The
// layout matches what gateway/nfs4 stores, so a file made by one version's
// exclusive create is recognised by the other's retry.
#pragma once
#include <array>
#include <cstdint>

#include "backend/fs.h"

namespace pnfsgw::gw {

using CreateVerifier = std::array<uint8_t, 8>;

// The SetAttr that stores v (bytes 0-3 as atime seconds, 4-7 as mtime
// seconds, in host byte order, nanoseconds zero).
backend::SetAttr verifier_times(const CreateVerifier& v);
// True when a's times hold v.
bool verifier_matches(const backend::Attr& a, const CreateVerifier& v);

}  // namespace pnfsgw::gw
