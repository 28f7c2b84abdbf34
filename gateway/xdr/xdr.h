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
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pnfsgw::xdr {

inline size_t pad4(size_t n) { return (n + 3) & ~size_t{3}; }

class XdrDecoder {
 public:
  XdrDecoder() = default;
  XdrDecoder(const uint8_t* data, size_t len) : p_(data), end_(data + len) {}
  explicit XdrDecoder(std::span<const uint8_t> s) : XdrDecoder(s.data(), s.size()) {}

  bool ok() const { return ok_; }
  void fail() {
    ok_ = false;
    p_ = end_;
  }
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
  // Encodes into scratch's memory (a recycled buffer). Its old bytes are
  // overwritten as the encoder grows into them, so memory that was already
  // written once is not zeroed again (a 1 MiB READ reply is not memset).
  explicit XdrEncoder(std::vector<uint8_t> scratch) : buf_(std::move(scratch)) {
    if (buf_.capacity() == 0) buf_.reserve(256);
  }

  void u32(uint32_t v) {
    uint8_t* p = grow(4);
    p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void u64(uint64_t v) {
    uint8_t* p = grow(8);
    p[0] = uint8_t(v >> 56), p[1] = uint8_t(v >> 48), p[2] = uint8_t(v >> 40);
    p[3] = uint8_t(v >> 32), p[4] = uint8_t(v >> 24), p[5] = uint8_t(v >> 16);
    p[6] = uint8_t(v >> 8), p[7] = uint8_t(v);
  }
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
  // Zero-filled space of n bytes (plus padding) for a caller to fill in place.
  // Returns the offset of the first byte.
  size_t append_space(size_t n);
  // Like append_space, but the n + padding bytes are unspecified: for data
  // the caller overwrites at once (READ), which must then zero the padding
  // of however many bytes it ends up keeping (see zero_pad).
  size_t append_uninitialized(size_t n);
  // Zeroes the XDR padding after n data bytes at offset off.
  void zero_pad(size_t off, size_t n) { std::memset(buf_.data() + off + n, 0, pad4(n) - n); }
  void truncate(size_t size) {
    if (size <= len_) {
      len_ = size;
    } else {
      std::memset(grow(size - len_), 0, size - len_);
    }
  }

  size_t size() const { return len_; }
  uint8_t* data() { return buf_.data(); }
  const std::vector<uint8_t>& buffer() const {
    buf_.resize(len_);  // drop scratch bytes past the end
    return buf_;
  }
  std::vector<uint8_t> take() {
    buf_.resize(len_);
    len_ = 0;
    return std::move(buf_);
  }
  // The buffer with any scratch bytes past the end left in place (for
  // recycling); *len is the encoded length.
  std::vector<uint8_t> take_scratch(size_t* len) {
    *len = len_;
    len_ = 0;
    return std::move(buf_);
  }

 private:
  // n more bytes at the end; returns where they start. Bytes not written
  // before are zeroed once by the vector, bytes written before are reused.
  uint8_t* grow(size_t n) {
    size_t need = len_ + n;
    if (need > buf_.size()) extend(need);
    uint8_t* p = buf_.data() + len_;
    len_ = need;
    return p;
  }
  // Makes buf_ at least need bytes, zeroing a little ahead (each byte is
  // still zeroed once) so that runs of small writes don't resize each time.
  void extend(size_t need);

  mutable std::vector<uint8_t> buf_;  // [0, len_) encoded; the rest scratch
  size_t len_ = 0;
};

}  // namespace pnfsgw::xdr
