// RPC record marking over TCP (RFC 5531 11): each record is one or more
// fragments, each prefixed by a 4-byte header (high bit = last fragment,
// low 31 bits = length). The framer is a pure codec: feed it bytes, it says
// how many it consumed and hands out complete records. Not thread-safe.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace pnfsgw::rpc {

class RecordFramer {
 public:
  enum class State { kNeedMore, kRecord, kTooLarge };
  explicit RecordFramer(size_t max_record) : max_record_(max_record) {}

  // Consumes bytes from in up to the end of the next complete record (or all
  // of in). *consumed says how many. Returns kRecord when a record is ready
  // (take it with take_record()), kTooLarge when the record would exceed
  // max_record (the connection should be closed; no memory was committed
  // beyond max_record).
  // A ready record must be taken before more bytes are consumed; until then
  // feed() returns kRecord with *consumed == 0.
  State feed(std::span<const uint8_t> in, size_t* consumed);
  std::vector<uint8_t> take_record();

  // A recycled buffer the framer may use for the next large record instead
  // of allocating one (a 1 MiB WRITE would otherwise fault in fresh pages
  // every time). Records up to kSpareMin bytes never use it.
  static constexpr size_t kSpareMin = 64 * 1024;
  bool has_spare() const { return spare_.capacity() != 0; }
  void give_spare(std::vector<uint8_t> buf) { spare_ = std::move(buf); }
  // The same for records up to kSpareMin bytes: a recycled record buffer,
  // whose bytes up to its size are not zeroed again. Records are given at
  // least kSmallCapacity bytes of capacity so that they can be recycled.
  static constexpr size_t kSmallCapacity = 8 * 1024;
  bool has_small_spare() const { return small_spare_.capacity() != 0; }
  void give_small_spare(std::vector<uint8_t> buf) { small_spare_ = std::move(buf); }

  // Reading straight into the record: while a fragment has at least min
  // bytes still to come, the space for exactly those bytes (else empty).
  // The caller reads into it and reports how many arrived with
  // commit_direct(), which returns kRecord when that completed the record.
  // Saves copying a 1 MiB WRITE out of a small read buffer.
  std::span<uint8_t> direct_buffer(size_t min);
  State commit_direct(size_t n);

  // Writes the record-marking header for a single-fragment record of len
  // bytes at out[0..4).
  static void put_header(uint8_t* out, uint32_t len);

 private:
  size_t max_record_;
  void make_room();              // storage for the current fragment
  bool advance(size_t n);        // n more bytes in; true when the record is ready
  std::vector<uint8_t> record_;  // [0, filled_) received; the rest scratch
  size_t filled_ = 0;
  std::vector<uint8_t> spare_;
  std::vector<uint8_t> small_spare_;
  uint8_t hdr_[4] = {};
  size_t hdr_have_ = 0;
  uint32_t frag_left_ = 0;
  bool in_fragment_ = false;
  bool last_fragment_ = false;
  bool ready_ = false;
  bool too_large_ = false;  // sticky: the stream cannot be resynchronised
};

}  // namespace pnfsgw::rpc
