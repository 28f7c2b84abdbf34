#include "tests/unit/client/wire_util.h"

namespace pnfsgw::client::test {

Wire& Wire::u32(uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b_.push_back(static_cast<uint8_t>(v >> s));
  return *this;
}

Wire& Wire::u64(uint64_t v) {
  u32(static_cast<uint32_t>(v >> 32));
  return u32(static_cast<uint32_t>(v));
}

Wire& Wire::words(std::initializer_list<uint32_t> ws) {
  for (uint32_t w : ws) u32(w);
  return *this;
}

Wire& Wire::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  b_.insert(b_.end(), s.begin(), s.end());
  while (b_.size() % 4) b_.push_back(0);
  return *this;
}

Wire& Wire::fixed(std::initializer_list<uint8_t> bytes) {
  b_.insert(b_.end(), bytes.begin(), bytes.end());
  while (b_.size() % 4) b_.push_back(0);
  return *this;
}

Wire& Wire::raw(const std::vector<uint8_t>& bytes) {
  b_.insert(b_.end(), bytes.begin(), bytes.end());
  return *this;
}

}  // namespace pnfsgw::client::test
