// Permission rules shared by the NFS versions: who may read, write or
// search an object by its mode bits, sticky directories, who may change
// which attributes, and the identity a new object is created with. The
// backend does no permission checks (backend/fs.h), so every protocol
// front end asks these before calling the Filesystem.
//
// Plain functions over values; safe from any thread.
#pragma once
#include <cstdint>
#include <vector>

#include "backend/fs.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::gw {

// The caller of one request, from its RPC credential.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;  // supplementary groups (AUTH_SYS)
  bool in_group(uint32_t g) const;
  backend::Cred cred() const { return {uid, gid}; }
};

constexpr uint32_t kNobody = 65534;

// AUTH_SYS: its uid/gid/gids; anything else: nobody.
Caller caller_of(const rpc::CallHeader& hdr);

// Mode-bit permissions, as rwx bits (4 read, 2 write, 1 execute/search).
constexpr uint32_t kMayExec = 1;
constexpr uint32_t kMayWrite = 2;
constexpr uint32_t kMayRead = 4;

// The rwx bits the caller has on a. Root may do anything except execute a
// non-directory that nobody may execute.
uint32_t allowed_bits(const Caller& c, const backend::Attr& a);
inline bool may(const Caller& c, const backend::Attr& a, uint32_t want) {
  return (allowed_bits(c, a) & want) == want;
}

// Data I/O on a file without an open (NFSv3, anonymous NFSv4 stateids):
// the owner may always read and write their own file, as with a local
// file they hold open (knfsd does the same); reading is also allowed with
// execute permission so that binaries can be paged in. 0 or EACCES.
int check_io(const Caller& c, const backend::Attr& a, bool write);

// Sticky directories: only the owner of the entry or of the directory (or
// root) may remove or rename it. 0 or EACCES.
int check_sticky(const Caller& c, const backend::Attr& dir, const backend::Attr& victim);

// POSIX rules for a SETATTR by c on a: chmod by owner or root; chown by
// root; chgrp by the owner to one of their groups; times set to "now" by
// anyone who may write, to a given value only by the owner; truncate by
// anyone who may write. Returns 0, EPERM or EACCES (or EISDIR / EINVAL for
// a size on a non-regular file) and may adjust *sa (a non-root chmod on a
// file of another group drops setgid).
int check_setattr(const Caller& c, const backend::Attr& a, backend::SetAttr* sa);

// The identity a new object in dir gets: the caller's, with the group of
// a setgid parent directory (BSD group semantics, as Linux filesystems do).
backend::Cred owner_for(const Caller& c, const backend::Attr& dir);

}  // namespace pnfsgw::gw
