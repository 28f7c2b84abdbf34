// Helpers for building expected XDR bytes by hand in client tests.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace pnfsgw::client::test {

// Accumulates XDR words written out by hand, independent of XdrEncoder.
class Wire {
 public:
  Wire& u32(uint32_t v);
  Wire& u64(uint64_t v);
  Wire& words(std::initializer_list<uint32_t> ws);
  Wire& str(std::string_view s);                      // length + bytes + zero padding
  Wire& fixed(std::initializer_list<uint8_t> bytes);  // bytes + zero padding
  Wire& raw(const std::vector<uint8_t>& bytes);
  const std::vector<uint8_t>& bytes() const { return b_; }
  size_t size() const { return b_.size(); }

 private:
  std::vector<uint8_t> b_;
};

}  // namespace pnfsgw::client::test
