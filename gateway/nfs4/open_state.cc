#include "gateway/nfs4/open_state.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace pnfsgw::nfs4 {

bool Stateid4::is_anonymous() const {
  return seqid == 0 && std::all_of(other.begin(), other.end(), [](uint8_t b) { return b == 0; });
}
bool Stateid4::is_bypass() const {
  return seqid == 0xffffffff &&
         std::all_of(other.begin(), other.end(), [](uint8_t b) { return b == 0xff; });
}
bool Stateid4::is_current() const {
  return seqid == 1 && std::all_of(other.begin(), other.end(), [](uint8_t b) { return b == 0; });
}

bool lock_range(uint64_t offset, uint64_t length, uint64_t* first, uint64_t* last) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (length == 0) return false;
  if (length == kMax) {
    *first = offset;
    *last = kMax;
    return true;
  }
  if (length - 1 > kMax - offset) return false;
  *first = offset;
  *last = offset + length - 1;
  return true;
}

OpenState::Other OpenState::new_other_locked() {
  Other o{};
  memcpy(&o[0], &boot_id_, 4);
  uint64_t n = next_++;
  memcpy(&o[4], &n, 8);
  return o;
}

OpenState::State* OpenState::find_locked(const Stateid4& sid, nfsstat4* err) {
  auto it = states_.find(sid.other);
  if (it != states_.end()) return &it->second;
  uint32_t boot;
  memcpy(&boot, &sid.other[0], 4);
  *err = boot != boot_id_ ? NFS4ERR_STALE_STATEID : NFS4ERR_BAD_STATEID;
  return nullptr;
}

// RFC 8881 8.2.2: seqid 0 means "the current one"; older ones are OLD.
nfsstat4 OpenState::check_seq_locked(const State& st, const Stateid4& sid) {
  if (sid.seqid == 0 || sid.seqid == st.seqid) return NFS4_OK;
  return sid.seqid < st.seqid ? NFS4ERR_OLD_STATEID : NFS4ERR_BAD_STATEID;
}

nfsstat4 OpenState::lookup_locked(const Stateid4& sid, uint64_t ino, Kind kind, State** out) {
  nfsstat4 err = NFS4_OK;
  State* st = find_locked(sid, &err);
  if (!st) return err;
  if (st->ino != ino || (kind == Kind::kOpen && st->is_lock) || (kind == Kind::kLock && !st->is_lock))
    return NFS4ERR_BAD_STATEID;
  if (nfsstat4 e = check_seq_locked(*st, sid); e != NFS4_OK) return e;
  *out = st;
  return NFS4_OK;
}

void OpenState::erase_state_locked(const Other& other) {
  auto it = states_.find(other);
  if (it == states_.end()) return;
  auto fit = files_.find(it->second.ino);
  if (fit != files_.end() && !it->second.is_lock) {
    auto& v = fit->second.opens;
    v.erase(std::remove(v.begin(), v.end(), other), v.end());
    if (v.empty() && fit->second.locks.empty()) files_.erase(fit);
  }
  states_.erase(it);
}

nfsstat4 OpenState::open(uint64_t clientid, std::string_view owner, uint64_t ino, uint32_t access,
                         uint32_t deny, Stateid4* out) {
  std::lock_guard<std::mutex> lk(mu_);
  OwnerKey key{clientid, std::string(owner)};
  FileState& fs = files_[ino];
  State* mine = nullptr;
  for (const Other& o : fs.opens) {
    State& st = states_.at(o);
    if (st.owner == key) {
      mine = &st;
      continue;
    }
    // RFC 8881 9.7: a share reservation denies what another open's deny
    // covers, and an open can't deny what another open already has.
    if ((access & st.deny) || (deny & st.access)) return NFS4ERR_SHARE_DENIED;
  }
  if (mine) {
    mine->access |= access;
    mine->deny |= deny;
    mine->seqid++;
    *out = {mine->seqid, mine->other};
    return NFS4_OK;
  }
  State st;
  st.other = new_other_locked();
  st.ino = ino;
  st.owner = std::move(key);
  st.access = access;
  st.deny = deny;
  fs.opens.push_back(st.other);
  *out = {st.seqid, st.other};
  states_.emplace(st.other, std::move(st));
  return NFS4_OK;
}

nfsstat4 OpenState::open_downgrade(const Stateid4& sid, uint64_t ino, uint32_t access,
                                   uint32_t deny, Stateid4* out) {
  std::lock_guard<std::mutex> lk(mu_);
  State* st = nullptr;
  if (nfsstat4 e = lookup_locked(sid, ino, Kind::kOpen, &st); e != NFS4_OK) return e;
  // RFC 8881 18.18.3: the new modes must be subsets of the current ones.
  if ((access & ~st->access) || (deny & ~st->deny) || access == 0) return NFS4ERR_INVAL;
  st->access = access;
  st->deny = deny;
  st->seqid++;
  *out = {st->seqid, st->other};
  return NFS4_OK;
}

nfsstat4 OpenState::close(const Stateid4& sid, uint64_t ino, Stateid4* out) {
  std::lock_guard<std::mutex> lk(mu_);
  State* st = nullptr;
  if (nfsstat4 e = lookup_locked(sid, ino, Kind::kOpen, &st); e != NFS4_OK) return e;
  // Locks taken under this open by its client's lock owners must be gone.
  FileState& fs = files_[ino];
  for (const Lock& l : fs.locks)
    if (l.owner.clientid == st->owner.clientid) {
      for (auto& [o, ls] : states_)
        if (ls.is_lock && ls.open_other == st->other && ls.owner == l.owner)
          return NFS4ERR_LOCKS_HELD;
    }
  *out = {st->seqid + 1, st->other};
  Other open_other = st->other;
  // Lock stateids hanging off this open die with it.
  std::vector<Other> dead;
  for (auto& [o, ls] : states_)
    if (ls.is_lock && ls.open_other == open_other) dead.push_back(o);
  for (const Other& o : dead) erase_state_locked(o);
  erase_state_locked(open_other);
  return NFS4_OK;
}

nfsstat4 OpenState::check_io(const Stateid4& sid, uint64_t ino, bool write) {
  std::lock_guard<std::mutex> lk(mu_);
  if (sid.is_anonymous() || sid.is_bypass()) {
    if (sid.is_bypass() && write) return NFS4ERR_BAD_STATEID;
    auto fit = files_.find(ino);
    if (fit == files_.end() || sid.is_bypass()) return NFS4_OK;
    for (const Other& o : fit->second.opens) {
      const State& st = states_.at(o);
      if (st.deny & (write ? OPEN4_SHARE_DENY_WRITE : OPEN4_SHARE_DENY_READ)) return NFS4ERR_LOCKED;
    }
    return NFS4_OK;
  }
  State* st = nullptr;
  if (nfsstat4 e = lookup_locked(sid, ino, Kind::kAny, &st); e != NFS4_OK) return e;
  const State* open = st;
  if (st->is_lock) {
    auto it = states_.find(st->open_other);
    if (it == states_.end()) return NFS4ERR_BAD_STATEID;
    open = &it->second;
  }
  // Reads through a write-only open are allowed: clients fill partial pages
  // (RFC 8881 9.1.2 leaves this to the server).
  if (write && !(open->access & OPEN4_SHARE_ACCESS_WRITE)) return NFS4ERR_OPENMODE;
  return NFS4_OK;
}

uint64_t OpenState::client_of(const Stateid4& sid) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = states_.find(sid.other);
  return it == states_.end() ? 0 : it->second.owner.clientid;
}

bool OpenState::conflict_locked(const FileState& fs, const OwnerKey& owner, bool write,
                                uint64_t first, uint64_t last, LockDenied* denied) {
  for (const Lock& l : fs.locks) {
    if (l.owner == owner || l.last < first || l.first > last) continue;
    if (!write && !l.write) continue;
    if (denied) {
      denied->offset = l.first;
      denied->length = l.last == std::numeric_limits<uint64_t>::max() ? l.last : l.last - l.first + 1;
      denied->type = l.write ? WRITE_LT : READ_LT;
      denied->clientid = l.owner.clientid;
      denied->owner = l.owner.owner;
    }
    return true;
  }
  return false;
}

void OpenState::unlock_range_locked(FileState& fs, const OwnerKey& owner, uint64_t first,
                                    uint64_t last) {
  std::vector<Lock> out;
  out.reserve(fs.locks.size() + 1);
  for (Lock& l : fs.locks) {
    if (!(l.owner == owner) || l.last < first || l.first > last) {
      out.push_back(std::move(l));
      continue;
    }
    if (l.first < first) {
      Lock left = l;
      left.last = first - 1;
      out.push_back(left);
    }
    if (l.last > last) {
      Lock right = l;
      right.first = last + 1;
      out.push_back(right);
    }
  }
  fs.locks = std::move(out);
}

nfsstat4 OpenState::lock_locked(State& ls, uint32_t type, uint64_t offset, uint64_t length,
                                Stateid4* out, LockDenied* denied) {
  uint64_t first, last;
  if (!lock_range(offset, length, &first, &last)) return NFS4ERR_INVAL;
  bool write = type == WRITE_LT || type == WRITEW_LT;
  if (type < READ_LT || type > WRITEW_LT) return NFS4ERR_INVAL;
  auto oit = states_.find(ls.open_other);
  if (oit == states_.end()) return NFS4ERR_BAD_STATEID;
  // RFC 8881 18.10.3: a write lock needs an open for writing.
  if (write && !(oit->second.access & OPEN4_SHARE_ACCESS_WRITE)) return NFS4ERR_OPENMODE;
  FileState& fs = files_[ls.ino];
  if (conflict_locked(fs, ls.owner, write, first, last, denied)) return NFS4ERR_DENIED;
  // POSIX semantics: the new lock replaces this owner's locks in the range.
  unlock_range_locked(fs, ls.owner, first, last);
  fs.locks.push_back({first, last, write, ls.owner});
  ls.seqid++;
  *out = {ls.seqid, ls.other};
  return NFS4_OK;
}

nfsstat4 OpenState::lock_new_owner(const Stateid4& open_sid, uint64_t ino,
                                   std::string_view lock_owner, uint32_t type, uint64_t offset,
                                   uint64_t length, Stateid4* out, LockDenied* denied) {
  std::lock_guard<std::mutex> lk(mu_);
  State* open = nullptr;
  if (nfsstat4 e = lookup_locked(open_sid, ino, Kind::kOpen, &open); e != NFS4_OK) return e;
  OwnerKey key{open->owner.clientid, std::string(lock_owner)};
  // The lock owner may already have a lock stateid for this file (RFC 8881
  // 18.10.3 allows reusing it).
  for (auto& [o, st] : states_)
    if (st.is_lock && st.ino == ino && st.owner == key)
      return lock_locked(st, type, offset, length, out, denied);
  State ls;
  ls.is_lock = true;
  ls.other = new_other_locked();
  ls.ino = ino;
  ls.owner = key;
  ls.open_other = open->other;
  ls.seqid = 0;  // lock_locked bumps it to 1
  Other other = ls.other;
  State& ref = states_.emplace(other, std::move(ls)).first->second;
  nfsstat4 st = lock_locked(ref, type, offset, length, out, denied);
  if (st != NFS4_OK) states_.erase(other);
  return st;
}

nfsstat4 OpenState::lock_existing(const Stateid4& lock_sid, uint64_t ino, uint32_t type,
                                  uint64_t offset, uint64_t length, Stateid4* out,
                                  LockDenied* denied) {
  std::lock_guard<std::mutex> lk(mu_);
  State* ls = nullptr;
  if (nfsstat4 e = lookup_locked(lock_sid, ino, Kind::kLock, &ls); e != NFS4_OK) return e;
  return lock_locked(*ls, type, offset, length, out, denied);
}

nfsstat4 OpenState::lockt(uint64_t ino, uint64_t clientid, std::string_view owner, uint32_t type,
                          uint64_t offset, uint64_t length, LockDenied* denied) {
  uint64_t first, last;
  if (!lock_range(offset, length, &first, &last)) return NFS4ERR_INVAL;
  if (type < READ_LT || type > WRITEW_LT) return NFS4ERR_INVAL;
  std::lock_guard<std::mutex> lk(mu_);
  auto fit = files_.find(ino);
  if (fit == files_.end()) return NFS4_OK;
  bool write = type == WRITE_LT || type == WRITEW_LT;
  OwnerKey key{clientid, std::string(owner)};
  return conflict_locked(fit->second, key, write, first, last, denied) ? NFS4ERR_DENIED : NFS4_OK;
}

nfsstat4 OpenState::locku(const Stateid4& lock_sid, uint64_t ino, uint64_t offset,
                          uint64_t length, Stateid4* out) {
  uint64_t first, last;
  if (!lock_range(offset, length, &first, &last)) return NFS4ERR_INVAL;
  std::lock_guard<std::mutex> lk(mu_);
  State* ls = nullptr;
  if (nfsstat4 e = lookup_locked(lock_sid, ino, Kind::kLock, &ls); e != NFS4_OK) return e;
  unlock_range_locked(files_[ino], ls->owner, first, last);
  ls->seqid++;
  *out = {ls->seqid, ls->other};
  return NFS4_OK;
}

nfsstat4 OpenState::free_stateid(const Stateid4& sid) {
  std::lock_guard<std::mutex> lk(mu_);
  nfsstat4 err = NFS4_OK;
  State* st = find_locked(sid, &err);
  if (!st) return err;
  // RFC 8881 18.38.3: only lock stateids without locks can be freed here.
  if (!st->is_lock) return NFS4ERR_LOCKS_HELD;
  auto fit = files_.find(st->ino);
  if (fit != files_.end())
    for (const Lock& l : fit->second.locks)
      if (l.owner == st->owner) return NFS4ERR_LOCKS_HELD;
  erase_state_locked(st->other);
  return NFS4_OK;
}

nfsstat4 OpenState::test_stateid(uint64_t clientid, const Stateid4& sid) {
  if (sid.is_anonymous() || sid.is_bypass() || sid.is_current()) return NFS4ERR_BAD_STATEID;
  std::lock_guard<std::mutex> lk(mu_);
  nfsstat4 err = NFS4_OK;
  State* st = find_locked(sid, &err);
  if (!st) return err == NFS4ERR_STALE_STATEID ? NFS4ERR_BAD_STATEID : err;
  if (st->owner.clientid != clientid) return NFS4ERR_BAD_STATEID;
  return check_seq_locked(*st, sid);
}

nfsstat4 OpenState::release_lockowner(uint64_t clientid, std::string_view owner) {
  std::lock_guard<std::mutex> lk(mu_);
  OwnerKey key{clientid, std::string(owner)};
  for (auto& [ino, fs] : files_)
    for (const Lock& l : fs.locks)
      if (l.owner == key) return NFS4ERR_LOCKS_HELD;
  std::vector<Other> dead;
  for (auto& [o, st] : states_)
    if (st.is_lock && st.owner == key) dead.push_back(o);
  for (const Other& o : dead) erase_state_locked(o);
  seqs_.erase({key, true});
  return NFS4_OK;
}

void OpenState::release_client(uint64_t clientid) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = files_.begin(); it != files_.end();) {
    auto& locks = it->second.locks;
    locks.erase(std::remove_if(locks.begin(), locks.end(),
                               [&](const Lock& l) { return l.owner.clientid == clientid; }),
                locks.end());
    ++it;
  }
  std::vector<Other> dead;
  for (auto& [o, st] : states_)
    if (st.owner.clientid == clientid) dead.push_back(o);
  for (const Other& o : dead) erase_state_locked(o);
  for (auto it = files_.begin(); it != files_.end();)
    it = it->second.opens.empty() && it->second.locks.empty() ? files_.erase(it) : std::next(it);
  for (auto it = seqs_.begin(); it != seqs_.end();)
    it = it->first.first.clientid == clientid ? seqs_.erase(it) : std::next(it);
}

OpenState::SeqCheck OpenState::check_seqid(uint64_t clientid, std::string_view owner,
                                           bool lock_owner, uint32_t seqid,
                                           std::vector<uint8_t>* reply) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = seqs_.find({OwnerKey{clientid, std::string(owner)}, lock_owner});
  if (it == seqs_.end()) return SeqCheck::kNew;  // a new owner takes any seqid
  if (seqid == it->second.seqid) {
    *reply = it->second.reply;
    return SeqCheck::kReplay;
  }
  return seqid == it->second.seqid + 1 ? SeqCheck::kNew : SeqCheck::kBad;
}

void OpenState::record_seqid(uint64_t clientid, std::string_view owner, bool lock_owner,
                             uint32_t seqid, std::vector<uint8_t> reply) {
  std::lock_guard<std::mutex> lk(mu_);
  OwnerSeq& s = seqs_[{OwnerKey{clientid, std::string(owner)}, lock_owner}];
  s.seqid = seqid;
  s.reply = std::move(reply);
}

bool OpenState::owner_of(const Stateid4& sid, uint64_t* clientid, std::string* owner) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = states_.find(sid.other);
  if (it == states_.end()) return false;
  *clientid = it->second.owner.clientid;
  *owner = it->second.owner.owner;
  return true;
}

bool OpenState::open_confirmed(uint64_t clientid, std::string_view owner) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = seqs_.find({OwnerKey{clientid, std::string(owner)}, false});
  return it != seqs_.end() && it->second.confirmed;
}

nfsstat4 OpenState::open_confirm(const Stateid4& sid, uint64_t ino, Stateid4* out) {
  std::lock_guard<std::mutex> lk(mu_);
  State* st = nullptr;
  if (nfsstat4 e = lookup_locked(sid, ino, Kind::kOpen, &st); e != NFS4_OK) return e;
  seqs_[{st->owner, false}].confirmed = true;
  st->seqid++;
  *out = {st->seqid, st->other};
  return NFS4_OK;
}

}  // namespace pnfsgw::nfs4
