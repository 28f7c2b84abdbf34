// The fore-channel slot table of one session (RFC 8881 2.10.6.1).
//
// Each slot carries the sequenceid of its next request; a slot is held by
// one request at a time. acquire() blocks until a slot is free; release()
// advances the slot's sequenceid when the server consumed it (SEQUENCE
// itself succeeded) and keeps it for a retry otherwise. A slot whose reply
// never came (timeout, connection loss) is retired: the server may or may
// not have processed that seqid, so the slot is left alone from then on.
//
// Safe from any thread.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/result.h"

namespace pnfsgw::client {

class SlotTable {
 public:
  struct Slot {
    uint32_t slotid = 0;
    uint32_t sequenceid = 0;
    uint32_t highest_slotid = 0;  // to send as sa_highest_slotid
  };

  explicit SlotTable(uint32_t nslots);

  // The lowest free usable slot. ETIMEDOUT if none frees up in time, EIO if
  // every slot is retired.
  Result<Slot> acquire(std::chrono::milliseconds timeout);
  // Returns a slot. advance: the server processed this sequenceid.
  void release(uint32_t slotid, bool advance);
  // Returns a slot that must not be used again (outcome unknown).
  void retire(uint32_t slotid);
  // From SEQUENCE results: the server's sr_highest_slotid bounds usable slots.
  void set_server_highest(uint32_t highest_slotid);

  uint32_t size() const { return static_cast<uint32_t>(slots_.size()); }
  uint32_t sequenceid(uint32_t slotid) const;

 private:
  struct State {
    uint32_t next_seqid = 1;  // RFC 8881 2.10.6.1: a new slot starts at 1
    bool busy = false;
    bool retired = false;
  };
  uint32_t max_busy_locked() const;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<State> slots_;     // GUARDED_BY(mu_)
  uint32_t usable_highest_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace pnfsgw::client
