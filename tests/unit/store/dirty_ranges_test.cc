// DirtyRanges against a flat model: every byte written, and which bytes are.
#include "backend/store/dirty_ranges.h"

#include <gtest/gtest.h>

#include <random>

namespace pnfsgw::store {
namespace {

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(seed + i * 13);
  return v;
}

TEST(DirtyRanges, LaterWritesWinAndPiecesNeverOverlap) {
  constexpr uint64_t kSpan = 64 * 1024;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; round++) {
    DirtyRanges d;
    std::vector<uint8_t> model(kSpan, 0);
    std::vector<bool> dirty(kSpan, false);
    for (int i = 0; i < 200; i++) {
      uint64_t off = rng() % kSpan;
      // Appends right after a piece and tiny writes inside one, too.
      if (i % 5 == 0 && !d.empty()) off = std::min(kSpan - 1, d.end());
      size_t len = 1 + rng() % std::min<uint64_t>(kSpan - off, i % 3 == 0 ? 16 : 9000);
      auto data = bytes(len, static_cast<uint8_t>(i));
      d.write(off, data);
      std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(off));
      std::fill(dirty.begin() + static_cast<long>(off), dirty.begin() + static_cast<long>(off + len), true);

      uint64_t want_bytes = 0, want_end = 0;
      for (uint64_t b = 0; b < kSpan; b++)
        if (dirty[b]) want_bytes++, want_end = b + 1;
      ASSERT_EQ(d.bytes(), want_bytes) << "round " << round << " write " << i;
      ASSERT_EQ(d.end(), want_end);
      uint64_t last_end = 0, sum = 0;
      for (const auto& [o, p] : d.pieces()) {
        ASSERT_GE(o, last_end) << "pieces overlap";
        ASSERT_FALSE(p.empty());
        last_end = o + p.size();
        sum += p.size();
        for (size_t k = 0; k < p.size(); k++) ASSERT_EQ(p[k], model[o + k]) << "byte " << o + k;
      }
      ASSERT_EQ(sum, want_bytes);
      // overlay() lays exactly the dirty bytes over what is there.
      uint64_t q = rng() % kSpan, qlen = 1 + rng() % (kSpan - q);
      std::vector<uint8_t> buf(qlen, 0xEE);
      d.overlay(q, buf);
      bool any = false;
      for (uint64_t k = 0; k < qlen; k++) {
        ASSERT_EQ(buf[k], dirty[q + k] ? model[q + k] : 0xEE) << "overlay byte " << q + k;
        any |= dirty[q + k];
      }
      ASSERT_EQ(d.overlaps(q, qlen), any);
    }
  }
}

TEST(DirtyRanges, SequentialWritesGrowOnePieceUpToTheAppendLimit) {
  DirtyRanges d;
  auto chunk = bytes(64 * 1024, 1);
  for (uint64_t off = 0; off < 4 * DirtyRanges::kMaxAppend; off += chunk.size()) d.write(off, chunk);
  EXPECT_EQ(d.count(), 4u);
  EXPECT_EQ(d.bytes(), 4 * DirtyRanges::kMaxAppend);
}

}  // namespace
}  // namespace pnfsgw::store
