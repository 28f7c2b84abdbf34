#include "gateway/xdr/xdr.h"

namespace pnfsgw::xdr {

bool XdrDecoder::need(size_t n) {
  if (!ok_ || remaining() < n) {
    fail();
    return false;
  }
  return true;
}

uint32_t XdrDecoder::u32() {
  if (!need(4)) return 0;
  uint32_t v = (uint32_t{p_[0]} << 24) | (uint32_t{p_[1]} << 16) | (uint32_t{p_[2]} << 8) | p_[3];
  p_ += 4;
  return v;
}

uint64_t XdrDecoder::u64() {
  uint64_t hi = u32();
  uint64_t lo = u32();
  return ok_ ? (hi << 32) | lo : 0;
}

bool XdrDecoder::boolean() {
  uint32_t v = u32();
  if (v > 1) fail();
  return v == 1;
}

std::span<const uint8_t> XdrDecoder::fixed_opaque(size_t n) {
  if (n > remaining() || !need(pad4(n))) {
    fail();
    return {};
  }
  std::span<const uint8_t> s(p_, n);
  p_ += pad4(n);
  return s;
}

std::span<const uint8_t> XdrDecoder::var_opaque(size_t max) {
  uint32_t n = u32();
  if (!ok_ || n > max) {
    fail();
    return {};
  }
  return fixed_opaque(n);
}

std::string_view XdrDecoder::string(size_t max) {
  auto s = var_opaque(max);
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

uint32_t XdrDecoder::array_len(size_t max, size_t min_elem_size) {
  uint32_t n = u32();
  if (!ok_ || n > max || (min_elem_size && n > remaining() / min_elem_size)) {
    fail();
    return 0;
  }
  return n;
}

void XdrDecoder::skip(size_t n) {
  if (need(n)) p_ += n;
}

void XdrEncoder::fixed_opaque(const void* data, size_t n) {
  uint8_t* p = grow(pad4(n));
  if (n) std::memcpy(p, data, n);
  std::memset(p + n, 0, pad4(n) - n);
}

void XdrEncoder::var_opaque(const void* data, size_t n) {
  u32(static_cast<uint32_t>(n));
  fixed_opaque(data, n);
}

size_t XdrEncoder::reserve_u32() {
  size_t off = len_;
  std::memset(grow(4), 0, 4);
  return off;
}

void XdrEncoder::patch_u32(size_t offset, uint32_t v) {
  buf_[offset] = uint8_t(v >> 24);
  buf_[offset + 1] = uint8_t(v >> 16);
  buf_[offset + 2] = uint8_t(v >> 8);
  buf_[offset + 3] = uint8_t(v);
}

size_t XdrEncoder::append_space(size_t n) {
  size_t off = len_;
  std::memset(grow(pad4(n)), 0, pad4(n));
  return off;
}

void XdrEncoder::extend(size_t need) {
  // Bounded, so that a large append_uninitialized() (READ data) is not
  // followed by zeroing a doubled capacity it will never use.
  constexpr size_t kZeroAhead = 4096;
  if (need > buf_.capacity()) buf_.reserve(std::max(need, buf_.capacity() * 2));
  buf_.resize(std::min(buf_.capacity(), need + kZeroAhead));
}

size_t XdrEncoder::append_uninitialized(size_t n) {
  size_t off = len_;
  grow(pad4(n));
  return off;
}

}  // namespace pnfsgw::xdr
