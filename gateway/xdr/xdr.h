// XDR (RFC 4506) codecs over memory buffers. They never touch a socket.
//
// XdrDecoder reads from a borrowed byte range and checks every field against
// the bytes left; any short or malformed field sets a sticky failure flag and
// returns zero values, so callers decode a whole structure and check ok()
// once. Variable-length fields are bounded by the caller's maximum and by the
// bytes actually present, so a hostile length never causes a large allocation.
//
// XdrEncoder appends to an owned, growable buffer. Not thread-safe; one
// instance per request.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pnfsgw::xdr {

class XdrDecoder {
 public:
  XdrDecoder() = default;
  XdrDecoder(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  explicit XdrDecoder(std::span<const uint8_t> s) : XdrDecoder(s.data(), s.size()) {}

  bool ok() const { return ok_; }
  void fail() { ok_ = false; p_ = end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* position() const { return p_; }

  uint32_t u32();
  int32_t i32() { return static_cast<int32_t>(u32()); }
  uint64_t u64();
  int64_t i64() { return static_cast<int64_t>(u64()); }
  bool boolean();  // anything but 0 or 1 fails the decode
  // Fixed-length opaque: n bytes plus padding to 4.
  std::span<const uint8_t> fixed_opaque(size_t n);
  // Variable-length opaque<max>: length, bytes, padding. Views into the input.
  std::span<const uint8_t> var_opaque(size_t max);
  std::string_view string(size_t max);
  // Array length bounded by max and by the bytes left (each element takes at
  // least min_elem_size bytes on the wire).
  uint32_t array_len(size_t max, size_t min_elem_size = 4);
  void skip(size_t n);

 private:
  bool need(size_t n);
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  bool ok_ = true;
};

class XdrEncoder {
 public:
  XdrEncoder() { buf_.reserve(256); }
  explicit XdrEncoder(std::vector<uint8_t> reuse) : buf_(std::move(reuse)) { buf_.clear(); }

  void u32(uint32_t v);
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void u64(uint64_t v);
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void boolean(bool v) { u32(v ? 1 : 0); }
  void fixed_opaque(const void* data, size_t n);
  void var_opaque(const void* data, size_t n);
  void var_opaque(std::span<const uint8_t> s) { var_opaque(s.data(), s.size()); }
  void string(std::string_view s) { var_opaque(s.data(), s.size()); }

  // Reserve a 4-byte slot to fill in later (e.g. a count or status known only
  // after the body is encoded). Returns its offset.
  size_t reserve_u32();
  void patch_u32(size_t offset, uint32_t v);
  // Zero-filled space of n bytes (plus padding) for a caller to fill in place,
  // e.g. READ data. Returns the offset of the first byte.
  size_t append_space(size_t n);
  void truncate(size_t size) { buf_.resize(size); }

  size_t size() const { return buf_.size(); }
  uint8_t* data() { return buf_.data(); }
  const std::vector<uint8_t>& buffer() const { return buf_; }
  std::vector<uint8_t> take() { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
};

inline size_t pad4(size_t n) { return (n + 3) & ~size_t{3}; }

}  // namespace pnfsgw::xdr
