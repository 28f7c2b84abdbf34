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
      // Invariant: record_.size() <= max_record_, so this cannot underflow.
      if (frag_left_ > max_record_ - record_.size()) {
        too_large_ = true;
        record_ = {};
        *consumed = pos;
        return State::kTooLarge;
      }
      in_fragment_ = true;
      // Room for the whole fragment at once: one allocation (or the spare)
      // instead of geometric regrowth that copies a large record repeatedly.
      size_t whole = record_.size() + frag_left_;
      if (whole > record_.capacity()) {
        if (whole > kSpareMin && record_.empty() && spare_.capacity() >= whole) {
          record_.swap(spare_);
          record_.clear();
          spare_ = {};
        } else {
          record_.reserve(whole);
        }
      }
    }
    // A fragment's bytes (possibly none: zero-length fragments are legal).
    size_t n = std::min<size_t>(frag_left_, in.size() - pos);
    record_.insert(record_.end(), in.data() + pos, in.data() + pos + n);
    pos += n;
    frag_left_ -= static_cast<uint32_t>(n);
    if (frag_left_ == 0) {
      in_fragment_ = false;
      if (last_fragment_) {
        ready_ = true;
        *consumed = pos;
        return State::kRecord;
      }
    }
  }
  *consumed = pos;
  return State::kNeedMore;
}

std::vector<uint8_t> RecordFramer::take_record() {
  if (!ready_) return {};
  ready_ = false;
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
