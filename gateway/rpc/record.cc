// RPC record marking (RFC 5531 11).
#include "gateway/rpc/record.h"

#include <algorithm>
#include <cstring>

namespace pnfsgw::rpc {
namespace {
constexpr uint32_t kLastFragment = 0x80000000u;
}  // namespace

RecordFramer::State RecordFramer::feed(std::span<const uint8_t> in, size_t* consumed) {
  *consumed = 0;
  if (too_large_) return State::kTooLarge;
  if (ready_) return State::kRecord;
  size_t pos = 0;
  while (pos < in.size()) {
    if (!in_fragment_) {
      size_t n = std::min(sizeof hdr_ - hdr_have_, in.size() - pos);
      std::memcpy(hdr_ + hdr_have_, in.data() + pos, n);
      hdr_have_ += n;
      pos += n;
      if (hdr_have_ < sizeof hdr_) break;
      hdr_have_ = 0;
      uint32_t h = (uint32_t{hdr_[0]} << 24) | (uint32_t{hdr_[1]} << 16) |
                   (uint32_t{hdr_[2]} << 8) | hdr_[3];
      last_fragment_ = (h & kLastFragment) != 0;
      frag_left_ = h & ~kLastFragment;
      // Invariant: filled_ <= max_record_, so this cannot underflow.
      if (frag_left_ > max_record_ - filled_) {
        too_large_ = true;
        record_ = {};
        filled_ = 0;
        *consumed = pos;
        return State::kTooLarge;
      }
      in_fragment_ = true;
      make_room();
    }
    // A fragment's bytes (possibly none: zero-length fragments are legal).
    size_t n = std::min<size_t>(frag_left_, in.size() - pos);
    if (n) std::memcpy(record_.data() + filled_, in.data() + pos, n);
    pos += n;
    if (advance(n)) {
      *consumed = pos;
      return State::kRecord;
    }
  }
  *consumed = pos;
  return State::kNeedMore;
}

void RecordFramer::make_room() {
  // Room for the whole fragment at once: one allocation (or the spare)
  // instead of geometric regrowth that copies a large record repeatedly.
  // Storage past filled_ is scratch: a recycled buffer is not zeroed again.
  size_t whole = filled_ + frag_left_;
  if (whole <= record_.size()) return;
  if (whole > kSpareMin && filled_ == 0 && spare_.capacity() >= whole) {
    record_.swap(spare_);
    spare_ = {};
  } else if (whole <= kSpareMin && filled_ == 0 && record_.capacity() == 0 &&
             small_spare_.capacity() >= whole) {
    record_.swap(small_spare_);
    small_spare_ = {};
  }
  if (whole > record_.capacity()) {
    record_.reserve(whole <= kSpareMin ? std::max(whole, kSmallCapacity) : whole);
  }
  if (whole > record_.size()) record_.resize(whole);
}

bool RecordFramer::advance(size_t n) {
  filled_ += n;
  frag_left_ -= static_cast<uint32_t>(n);
  if (frag_left_ != 0) return false;
  in_fragment_ = false;
  if (!last_fragment_) return false;
  ready_ = true;
  return true;
}

std::span<uint8_t> RecordFramer::direct_buffer(size_t min) {
  if (too_large_ || ready_ || !in_fragment_ || frag_left_ < std::max<size_t>(min, 1)) return {};
  return {record_.data() + filled_, frag_left_};
}

RecordFramer::State RecordFramer::commit_direct(size_t n) {
  n = std::min<size_t>(n, frag_left_);
  return advance(n) ? State::kRecord : State::kNeedMore;
}

std::vector<uint8_t> RecordFramer::take_record() {
  if (!ready_) return {};
  ready_ = false;
  record_.resize(filled_);  // shrinking: nothing is zeroed
  filled_ = 0;
  std::vector<uint8_t> out = std::move(record_);
  record_ = {};
  return out;
}

void RecordFramer::put_header(uint8_t* out, uint32_t len) {
  uint32_t h = kLastFragment | len;
  out[0] = uint8_t(h >> 24);
  out[1] = uint8_t(h >> 16);
  out[2] = uint8_t(h >> 8);
  out[3] = uint8_t(h);
}

}  // namespace pnfsgw::rpc
