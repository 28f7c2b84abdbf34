#include "gateway/common/access.h"

#include <algorithm>
#include <cerrno>

namespace pnfsgw::gw {

bool Caller::in_group(uint32_t g) const {
  return gid == g || std::find(gids.begin(), gids.end(), g) != gids.end();
}

Caller caller_of(const rpc::CallHeader& hdr) {
  Caller c;
  if (hdr.flavor == rpc::AUTH_SYS) {
    c.uid = hdr.sys.uid;
    c.gid = hdr.sys.gid;
    c.gids = hdr.sys.gids;
  } else {
    c.uid = c.gid = kNobody;
  }
  return c;
}

uint32_t allowed_bits(const Caller& c, const backend::Attr& a) {
  const bool dir = a.type == backend::FileType::kDirectory;
  if (c.uid == 0) return kMayRead | kMayWrite | ((dir || (a.mode & 0111)) ? kMayExec : 0);
  if (c.uid == a.uid) return (a.mode >> 6) & 7;
  if (c.in_group(a.gid)) return (a.mode >> 3) & 7;
  return a.mode & 7;
}

int check_io(const Caller& c, const backend::Attr& a, bool write) {
  if (c.uid == a.uid || c.uid == 0) return 0;
  uint32_t bits = allowed_bits(c, a);
  if (write) return (bits & kMayWrite) ? 0 : EACCES;
  return (bits & (kMayRead | kMayExec)) ? 0 : EACCES;
}

int check_sticky(const Caller& c, const backend::Attr& dir, const backend::Attr& victim) {
  if (!(dir.mode & 01000) || c.uid == 0) return 0;
  if (c.uid == dir.uid || c.uid == victim.uid) return 0;
  return EACCES;
}

int check_setattr(const Caller& c, const backend::Attr& a, backend::SetAttr* sa) {
  const bool root = c.uid == 0;
  const bool owner = c.uid == a.uid;
  if (sa->size) {
    if (a.type == backend::FileType::kDirectory) return EISDIR;
    if (a.type != backend::FileType::kRegular) return EINVAL;
  }
  if (sa->mode && !root && !owner) return EPERM;
  if (sa->uid && !root && *sa->uid != a.uid) return EPERM;
  if (sa->gid && !root && *sa->gid != a.gid && (!owner || !c.in_group(*sa->gid))) return EPERM;
  using TH = backend::SetAttr::TimeHow;
  const bool given = sa->atime_how == TH::kGiven || sa->mtime_how == TH::kGiven;
  const bool now = sa->atime_how == TH::kServerNow || sa->mtime_how == TH::kServerNow;
  if (given && !root && !owner) return EPERM;
  if ((now || sa->size) && !root && !owner && !may(c, a, kMayWrite)) return EACCES;
  if (sa->mode && !root && !c.in_group(a.gid)) *sa->mode &= ~02000u;
  return 0;
}

backend::Cred owner_for(const Caller& c, const backend::Attr& dir) {
  backend::Cred cred = c.cred();
  if (dir.mode & 02000) cred.gid = dir.gid;
  return cred;
}

}  // namespace pnfsgw::gw
