// Open and byte-range-lock state (RFC 8881 8, 9, 18.10-18.12, 18.16-18.18;
// RFC 7530 9.1.7 for NFSv4.0 owner seqids).
//
// OpenState owns every open and lock stateid, the share reservations and
// byte-range locks per file, and the NFSv4.0 owner sequence records. One
// mutex guards all of it: every method is short and does no I/O.
// Safe from any thread.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/nfs4/nfs4_const.h"

namespace pnfsgw::nfs4 {

struct Stateid4 {
  uint32_t seqid = 0;
  std::array<uint8_t, NFS4_OTHER_SIZE> other{};
  bool operator==(const Stateid4&) const = default;
  bool is_anonymous() const;   // all zeros
  bool is_bypass() const;      // all ones (READ bypass)
  bool is_current() const;     // seqid 1, other zeros (RFC 8881 16.2.3.1.2)
};

struct LockDenied {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t type = WRITE_LT;
  uint64_t clientid = 0;
  std::string owner;
};

class OpenState {
 public:
  explicit OpenState(uint32_t boot_id) : boot_id_(boot_id) {}

  // OPEN: a new open of ino by (clientid, owner), or an upgrade of that
  // owner's existing open (access and deny are unioned, seqid bumped).
  // NFS4ERR_SHARE_DENIED when it conflicts with another owner's open.
  nfsstat4 open(uint64_t clientid, std::string_view owner, uint64_t ino, uint32_t access,
                uint32_t deny, Stateid4* out);
  nfsstat4 open_downgrade(const Stateid4& sid, uint64_t ino, uint32_t access, uint32_t deny,
                          Stateid4* out);
  nfsstat4 close(const Stateid4& sid, uint64_t ino, Stateid4* out);
  // Validates a stateid for READ (write=false) or WRITE/SETATTR-size (true).
  nfsstat4 check_io(const Stateid4& sid, uint64_t ino, bool write);
  // The clientid a stateid belongs to (0 if none).
  uint64_t client_of(const Stateid4& sid);

  // LOCK with open_to_lock_owner4 (a lock owner's first lock on the file).
  nfsstat4 lock_new_owner(const Stateid4& open_sid, uint64_t ino, std::string_view lock_owner,
                          uint32_t type, uint64_t offset, uint64_t length, Stateid4* out,
                          LockDenied* denied);
  // LOCK with exist_lock_owner4.
  nfsstat4 lock_existing(const Stateid4& lock_sid, uint64_t ino, uint32_t type, uint64_t offset,
                         uint64_t length, Stateid4* out, LockDenied* denied);
  nfsstat4 lockt(uint64_t ino, uint64_t clientid, std::string_view owner, uint32_t type,
                 uint64_t offset, uint64_t length, LockDenied* denied);
  nfsstat4 locku(const Stateid4& lock_sid, uint64_t ino, uint64_t offset, uint64_t length,
                 Stateid4* out);
  nfsstat4 free_stateid(const Stateid4& sid);
  // RFC 8881 18.48.3: the status TEST_STATEID reports for one stateid.
  nfsstat4 test_stateid(uint64_t clientid, const Stateid4& sid);
  nfsstat4 release_lockowner(uint64_t clientid, std::string_view owner);
  // Drops every open and lock of a client (expiry, DESTROY_CLIENTID, reboot).
  void release_client(uint64_t clientid);

  // --- NFSv4.0 owner sequencing (RFC 7530 9.1.7) ---
  enum class SeqCheck { kNew, kReplay, kBad };
  // For an op carrying an owner seqid. kReplay fills *reply with the cached
  // result of the last op; kNew means "process it, then record_seqid()".
  SeqCheck check_seqid(uint64_t clientid, std::string_view owner, bool lock_owner, uint32_t seqid,
                       std::vector<uint8_t>* reply);
  void record_seqid(uint64_t clientid, std::string_view owner, bool lock_owner, uint32_t seqid,
                    std::vector<uint8_t> reply);
  // The open owner of an open stateid (for CLOSE/OPEN_DOWNGRADE/OPEN_CONFIRM
  // and LOCK seqid checks).
  bool owner_of(const Stateid4& sid, uint64_t* clientid, std::string* owner);
  bool open_confirmed(uint64_t clientid, std::string_view owner);
  nfsstat4 open_confirm(const Stateid4& sid, uint64_t ino, Stateid4* out);

 private:
  using Other = std::array<uint8_t, NFS4_OTHER_SIZE>;
  struct OwnerKey {
    uint64_t clientid = 0;
    std::string owner;
    auto operator<=>(const OwnerKey&) const = default;
  };
  struct State {
    bool is_lock = false;
    Other other{};
    uint32_t seqid = 1;
    uint64_t ino = 0;
    OwnerKey owner;
    uint32_t access = 0, deny = 0;  // open: share reservation
    Other open_other{};             // lock: the open it came from
  };
  struct Lock {
    uint64_t first = 0, last = 0;  // inclusive byte range
    bool write = false;
    OwnerKey owner;
  };
  struct FileState {
    std::vector<Other> opens;
    std::vector<Lock> locks;
  };
  struct OwnerSeq {
    uint32_t seqid = 0;
    bool confirmed = false;
    std::vector<uint8_t> reply;
  };

  Other new_other_locked();
  State* find_locked(const Stateid4& sid, nfsstat4* err);
  nfsstat4 check_seq_locked(const State& st, const Stateid4& sid);
  enum class Kind { kOpen, kLock, kAny };
  // find + "is this kind, on this file" + seqid check: the common prologue.
  nfsstat4 lookup_locked(const Stateid4& sid, uint64_t ino, Kind kind, State** out);
  bool conflict_locked(const FileState& fs, const OwnerKey& owner, bool write, uint64_t first,
                       uint64_t last, LockDenied* denied);
  void unlock_range_locked(FileState& fs, const OwnerKey& owner, uint64_t first, uint64_t last);
  nfsstat4 lock_locked(State& lock_state, uint32_t type, uint64_t offset, uint64_t length,
                       Stateid4* out, LockDenied* denied);
  void erase_state_locked(const Other& other);

  const uint32_t boot_id_;
  std::mutex mu_;
  uint64_t next_ = 1;                                     // guarded by mu_
  std::map<Other, State> states_;                         // guarded by mu_
  std::map<uint64_t, FileState> files_;                   // guarded by mu_
  std::map<std::pair<OwnerKey, bool>, OwnerSeq> seqs_;    // guarded by mu_ (bool: lock owner)
};

// [first, last] of an NFSv4 lock range; false if length is 0 or the range
// overflows (RFC 8881 18.10.4: NFS4ERR_INVAL).
bool lock_range(uint64_t offset, uint64_t length, uint64_t* first, uint64_t* last);

}  // namespace pnfsgw::nfs4
