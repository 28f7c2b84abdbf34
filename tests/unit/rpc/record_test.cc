// RPC record marking (RFC 5531 11): the framer at every split point.
#include "gateway/rpc/record.h"

#include <gtest/gtest.h>

namespace pnfsgw::rpc {
namespace {

using State = RecordFramer::State;

std::vector<uint8_t> fragment(std::span<const uint8_t> body, bool last) {
  std::vector<uint8_t> out(4 + body.size());
  uint32_t h = static_cast<uint32_t>(body.size()) | (last ? 0x80000000u : 0);
  out[0] = uint8_t(h >> 24);
  out[1] = uint8_t(h >> 16);
  out[2] = uint8_t(h >> 8);
  out[3] = uint8_t(h);
  std::copy(body.begin(), body.end(), out.begin() + 4);
  return out;
}

std::vector<uint8_t> payload(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// Feeds all of in, collecting records. Fails the test on kTooLarge.
std::vector<std::vector<uint8_t>> feed_all(RecordFramer& f, std::span<const uint8_t> in) {
  std::vector<std::vector<uint8_t>> out;
  while (!in.empty()) {
    size_t used = 0;
    State st = f.feed(in, &used);
    EXPECT_NE(st, State::kTooLarge);
    EXPECT_LE(used, in.size());
    in = in.subspan(used);
    if (st == State::kRecord) out.push_back(f.take_record());
    if (st != State::kRecord) {
      EXPECT_TRUE(in.empty());
    }
  }
  return out;
}

TEST(RecordFramer, PutHeaderMarksASingleLastFragment) {
  uint8_t h[4];
  RecordFramer::put_header(h, 0x123456);
  EXPECT_EQ(h[0], 0x80);
  EXPECT_EQ(h[1], 0x12);
  EXPECT_EQ(h[2], 0x34);
  EXPECT_EQ(h[3], 0x56);
}

TEST(RecordFramer, OneRecordSplitAtEveryBytePositionIsReassembled) {
  auto body = payload(37, 1);
  auto wire = fragment(body, true);
  for (size_t split = 0; split <= wire.size(); ++split) {
    RecordFramer f(1024);
    auto recs = feed_all(f, std::span(wire).first(split));
    auto more = feed_all(f, std::span(wire).subspan(split));
    recs.insert(recs.end(), more.begin(), more.end());
    ASSERT_EQ(recs.size(), 1u) << "split at " << split;
    EXPECT_EQ(recs[0], body) << "split at " << split;
  }
}

TEST(RecordFramer, MultiFragmentRecordSplitAtEveryBytePositionIsReassembled) {
  auto a = payload(5, 10), b = payload(8, 20), c = payload(3, 30);
  std::vector<uint8_t> wire;
  for (auto& frag : {fragment(a, false), fragment(b, false), fragment(c, true)}) {
    wire.insert(wire.end(), frag.begin(), frag.end());
  }
  std::vector<uint8_t> expect = a;
  expect.insert(expect.end(), b.begin(), b.end());
  expect.insert(expect.end(), c.begin(), c.end());
  for (size_t split = 0; split <= wire.size(); ++split) {
    RecordFramer f(1024);
    auto recs = feed_all(f, std::span(wire).first(split));
    auto more = feed_all(f, std::span(wire).subspan(split));
    recs.insert(recs.end(), more.begin(), more.end());
    ASSERT_EQ(recs.size(), 1u) << "split at " << split;
    EXPECT_EQ(recs[0], expect);
  }
}

TEST(RecordFramer, ByteAtATimeFeedingYieldsTheRecord) {
  auto body = payload(64, 3);
  auto wire = fragment(body, true);
  RecordFramer f(1024);
  std::vector<std::vector<uint8_t>> recs;
  for (uint8_t byte : wire) {
    auto r = feed_all(f, std::span(&byte, 1));
    recs.insert(recs.end(), r.begin(), r.end());
  }
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], body);
}

TEST(RecordFramer, SeveralRecordsInOneFeedComeOutOneAtATime) {
  std::vector<std::vector<uint8_t>> bodies{payload(4, 1), payload(0, 0), payload(9, 2),
                                           payload(100, 3)};
  std::vector<uint8_t> wire;
  for (auto& b : bodies) {
    auto frag = fragment(b, true);
    wire.insert(wire.end(), frag.begin(), frag.end());
  }
  RecordFramer f(1024);
  size_t used = 0;
  EXPECT_EQ(f.feed(wire, &used), State::kRecord);
  EXPECT_EQ(used, 8u);  // stops at the end of the first record
  // Untaken record: nothing more is consumed.
  size_t again = 99;
  EXPECT_EQ(f.feed(std::span(wire).subspan(used), &again), State::kRecord);
  EXPECT_EQ(again, 0u);
  EXPECT_EQ(f.take_record(), bodies[0]);
  auto rest = feed_all(f, std::span(wire).subspan(used));
  ASSERT_EQ(rest.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(rest[i], bodies[i + 1]);
}

TEST(RecordFramer, ZeroLengthFragmentsAreAllowedAnywhere) {
  auto a = payload(6, 1);
  std::vector<uint8_t> wire;
  for (auto& frag :
       {fragment({}, false), fragment(a, false), fragment({}, false), fragment({}, true)}) {
    wire.insert(wire.end(), frag.begin(), frag.end());
  }
  for (size_t split = 0; split <= wire.size(); ++split) {
    RecordFramer f(64);
    auto recs = feed_all(f, std::span(wire).first(split));
    auto more = feed_all(f, std::span(wire).subspan(split));
    recs.insert(recs.end(), more.begin(), more.end());
    ASSERT_EQ(recs.size(), 1u) << split;
    EXPECT_EQ(recs[0], a);
  }
}

TEST(RecordFramer, EmptyRecordIsARecord) {
  auto wire = fragment({}, true);
  RecordFramer f(64);
  auto recs = feed_all(f, wire);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_TRUE(recs[0].empty());
}

TEST(RecordFramer, RecordOfExactlyMaxIsAccepted) {
  auto body = payload(64, 9);
  RecordFramer f(64);
  auto recs = feed_all(f, fragment(body, true));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], body);
}

TEST(RecordFramer, FragmentOverMaxIsTooLargeBeforeItsBytesArrive) {
  uint8_t hdr[4] = {0xFF, 0xFF, 0xFF, 0xFF};  // last fragment, 0x7FFFFFFF bytes
  RecordFramer f(4u << 20);
  size_t used = 0;
  EXPECT_EQ(f.feed(hdr, &used), State::kTooLarge);
  EXPECT_EQ(used, 4u);
  // Sticky: the stream cannot be resynchronised.
  uint8_t more[4] = {0x80, 0, 0, 0};
  EXPECT_EQ(f.feed(more, &used), State::kTooLarge);
  EXPECT_EQ(used, 0u);
}

TEST(RecordFramer, FragmentsThatTogetherExceedMaxAreTooLarge) {
  RecordFramer f(100);
  auto first = fragment(payload(60, 1), false);
  auto second = fragment(payload(41, 2), true);
  size_t used = 0;
  EXPECT_EQ(f.feed(first, &used), State::kNeedMore);
  EXPECT_EQ(used, first.size());
  EXPECT_EQ(f.feed(second, &used), State::kTooLarge);
}

TEST(RecordFramer, ManyEmptyNonLastFragmentsDoNotGrowMemory) {
  RecordFramer f(16);
  std::vector<uint8_t> wire;
  for (int i = 0; i < 1000; ++i) {
    auto frag = fragment({}, false);
    wire.insert(wire.end(), frag.begin(), frag.end());
  }
  size_t used = 0;
  EXPECT_EQ(f.feed(wire, &used), State::kNeedMore);
  EXPECT_EQ(used, wire.size());
}

TEST(RecordFramer, TakeRecordWithoutAReadyRecordIsEmpty) {
  RecordFramer f(64);
  auto partial = fragment(payload(8, 1), true);
  size_t used = 0;
  EXPECT_EQ(f.feed(std::span(partial).first(6), &used), State::kNeedMore);
  EXPECT_TRUE(f.take_record().empty());
  EXPECT_EQ(f.feed(std::span(partial).subspan(6), &used), State::kRecord);
  EXPECT_EQ(f.take_record(), payload(8, 1));
}

}  // namespace
}  // namespace pnfsgw::rpc

namespace pnfsgw::rpc {
namespace {

// Feeds wire through the framer the way the server's reader does: whenever
// a fragment has at least min bytes to come, they are "read" straight into
// direct_buffer() in chunks of at most chunk bytes; otherwise fed normally.
std::vector<std::vector<uint8_t>> read_like_server(RecordFramer& f, std::span<const uint8_t> wire,
                                                   size_t min, size_t chunk) {
  std::vector<std::vector<uint8_t>> out;
  while (!wire.empty()) {
    if (auto direct = f.direct_buffer(min); !direct.empty()) {
      size_t n = std::min({direct.size(), chunk, wire.size()});
      std::copy_n(wire.begin(), n, direct.begin());
      wire = wire.subspan(n);
      if (f.commit_direct(n) == State::kRecord) out.push_back(f.take_record());
      continue;
    }
    size_t used = 0;
    State st = f.feed(wire.first(std::min(chunk, wire.size())), &used);
    EXPECT_NE(st, State::kTooLarge);
    wire = wire.subspan(used);
    if (st == State::kRecord) out.push_back(f.take_record());
  }
  return out;
}

TEST(RecordFramer, DirectReadsIntoTheRecordReassembleAtEveryChunkSize) {
  auto a = payload(3000, 3), b = payload(10, 9), c1 = payload(2500, 5), c2 = payload(700, 6);
  std::vector<uint8_t> wire = fragment(a, true);
  auto fb = fragment(b, true), fc1 = fragment(c1, false), fc2 = fragment(c2, true);
  wire.insert(wire.end(), fb.begin(), fb.end());
  wire.insert(wire.end(), fc1.begin(), fc1.end());
  wire.insert(wire.end(), fc2.begin(), fc2.end());
  std::vector<uint8_t> c = c1;
  c.insert(c.end(), c2.begin(), c2.end());
  for (size_t chunk : {1u, 3u, 100u, 1000u, 4096u, 100000u}) {
    RecordFramer f(1 << 20);
    auto recs = read_like_server(f, wire, 16, chunk);
    ASSERT_EQ(recs.size(), 3u) << "chunk " << chunk;
    EXPECT_EQ(recs[0], a) << "chunk " << chunk;
    EXPECT_EQ(recs[1], b) << "chunk " << chunk;
    EXPECT_EQ(recs[2], c) << "chunk " << chunk;
  }
}

TEST(RecordFramer, RecycledSpareWithOldBytesYieldsOnlyTheNewRecord) {
  RecordFramer f(1 << 20);
  f.give_spare(std::vector<uint8_t>(200000, 0xEE));  // scratch left by an earlier use
  auto body = payload(RecordFramer::kSpareMin + 1000, 4);
  auto recs = read_like_server(f, fragment(body, true), 16, 8192);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], body);
  EXPECT_FALSE(f.has_spare());  // it became the record
}

TEST(RecordFramer, RecycledSmallSpareHoldsTheNextSmallRecordWithOnlyItsBytes) {
  RecordFramer f(1 << 20);
  std::vector<uint8_t> spare(5000, 0xEE);  // a longer record's bytes left in it
  spare.reserve(RecordFramer::kSmallCapacity);
  const uint8_t* mem = spare.data();
  f.give_small_spare(std::move(spare));
  auto body = payload(4200, 9);
  auto multi = fragment(std::span(body).first(100), false);
  auto rest = fragment(std::span(body).subspan(100), true);
  multi.insert(multi.end(), rest.begin(), rest.end());
  auto recs = feed_all(f, multi);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], body);
  EXPECT_EQ(recs[0].data(), mem);  // the spare became the record
  EXPECT_FALSE(f.has_small_spare());
  // Without a spare a small record still gets room to be recycled later;
  // a spare too small for the record is left alone.
  f.give_small_spare(std::vector<uint8_t>(10));
  auto big = payload(6000, 3);
  recs = feed_all(f, fragment(big, true));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0], big);
  EXPECT_GE(recs[0].capacity(), RecordFramer::kSmallCapacity);
  EXPECT_TRUE(f.has_small_spare());
}

TEST(RecordFramer, NoDirectBufferBetweenRecordsOrBelowTheMinimum) {
  RecordFramer f(1024);
  EXPECT_TRUE(f.direct_buffer(1).empty());  // no fragment started
  auto body = payload(40, 2);
  auto wire = fragment(body, true);
  size_t used = 0;
  EXPECT_EQ(f.feed(std::span(wire).first(10), &used), State::kNeedMore);  // 34 bytes to come
  EXPECT_TRUE(f.direct_buffer(35).empty());
  auto direct = f.direct_buffer(34);
  ASSERT_EQ(direct.size(), 34u);
  std::copy(wire.begin() + 10, wire.end(), direct.begin());
  EXPECT_EQ(f.commit_direct(34), State::kRecord);
  EXPECT_EQ(f.take_record(), body);
}

}  // namespace
}  // namespace pnfsgw::rpc
