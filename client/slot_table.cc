#include "client/slot_table.h"

#include <algorithm>

namespace pnfsgw::client {

SlotTable::SlotTable(uint32_t nslots)
    : slots_(std::max<uint32_t>(nslots, 1)), usable_highest_(std::max<uint32_t>(nslots, 1) - 1) {}

uint32_t SlotTable::max_busy_locked() const {
  uint32_t highest = 0;
  for (uint32_t i = 0; i < slots_.size(); i++) {
    if (slots_[i].busy) highest = i;
  }
  return highest;
}

Result<SlotTable::Slot> SlotTable::acquire(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool any_usable = false;
    uint32_t limit = std::min<uint32_t>(usable_highest_, size() - 1);
    for (uint32_t i = 0; i <= limit; i++) {
      State& s = slots_[i];
      if (s.retired) continue;
      any_usable = true;
      if (s.busy) continue;
      s.busy = true;
      return Slot{i, s.next_seqid, max_busy_locked()};
    }
    if (!any_usable) return Status::error(EIO);
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
      return Status::error(ETIMEDOUT);
    }
  }
}

void SlotTable::release(uint32_t slotid, bool advance) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (slotid >= slots_.size()) return;
    State& s = slots_[slotid];
    s.busy = false;
    if (advance) s.next_seqid++;
  }
  cv_.notify_one();
}

void SlotTable::retire(uint32_t slotid) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (slotid >= slots_.size()) return;
    slots_[slotid].busy = false;
    slots_[slotid].retired = true;
  }
  cv_.notify_all();
}

void SlotTable::set_server_highest(uint32_t highest_slotid) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    usable_highest_ = highest_slotid;
  }
  cv_.notify_all();
}

uint32_t SlotTable::sequenceid(uint32_t slotid) const {
  std::lock_guard<std::mutex> lk(mu_);
  return slotid < slots_.size() ? slots_[slotid].next_seqid : 0;
}

}  // namespace pnfsgw::client
