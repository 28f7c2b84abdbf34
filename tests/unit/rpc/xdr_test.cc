// XDR codec (RFC 4506): round trips, truncation and hostile lengths.
#include "gateway/xdr/xdr.h"

#include <gtest/gtest.h>

#include <limits>

namespace pnfsgw::xdr {
namespace {

TEST(Xdr, IntegersRoundTripInBigEndian) {
  XdrEncoder enc;
  enc.u32(0x01020304);
  enc.i32(-2);
  enc.u64(0x0102030405060708ull);
  enc.i64(std::numeric_limits<int64_t>::min());
  enc.u32(0);
  enc.u32(0xFFFFFFFF);
  const std::vector<uint8_t>& b = enc.buffer();
  ASSERT_EQ(b.size(), 4u + 4 + 8 + 8 + 4 + 4);
  EXPECT_EQ(b[0], 0x01);
  EXPECT_EQ(b[3], 0x04);
  EXPECT_EQ(b[8], 0x01);
  EXPECT_EQ(b[15], 0x08);

  XdrDecoder dec(b);
  EXPECT_EQ(dec.u32(), 0x01020304u);
  EXPECT_EQ(dec.i32(), -2);
  EXPECT_EQ(dec.u64(), 0x0102030405060708ull);
  EXPECT_EQ(dec.i64(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(dec.u32(), 0u);
  EXPECT_EQ(dec.u32(), 0xFFFFFFFFu);
  EXPECT_TRUE(dec.ok());
  EXPECT_EQ(dec.remaining(), 0u);
}

TEST(Xdr, BooleansRoundTripAndOtherValuesFail) {
  XdrEncoder enc;
  enc.boolean(true);
  enc.boolean(false);
  XdrDecoder dec(enc.buffer());
  EXPECT_TRUE(dec.boolean());
  EXPECT_FALSE(dec.boolean());
  EXPECT_TRUE(dec.ok());

  XdrEncoder bad;
  bad.u32(2);
  XdrDecoder bd(bad.buffer());
  bd.boolean();
  EXPECT_FALSE(bd.ok());
}

TEST(Xdr, OpaquesAndStringsRoundTripWithPadding) {
  for (size_t len = 0; len <= 9; ++len) {
    std::vector<uint8_t> data(len);
    for (size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(0xA0 + i);
    XdrEncoder enc;
    enc.fixed_opaque(data.data(), data.size());
    enc.var_opaque(data);
    enc.string(std::string(len, 'x'));
    enc.u32(0xDEADBEEF);  // sentinel: padding must keep it aligned
    EXPECT_EQ(enc.size(), pad4(len) + 4 + pad4(len) + 4 + pad4(len) + 4) << len;

    XdrDecoder dec(enc.buffer());
    auto f = dec.fixed_opaque(len);
    auto v = dec.var_opaque(100);
    auto s = dec.string(100);
    EXPECT_EQ(dec.u32(), 0xDEADBEEFu);
    ASSERT_TRUE(dec.ok()) << len;
    EXPECT_EQ(std::vector<uint8_t>(f.begin(), f.end()), data);
    EXPECT_EQ(std::vector<uint8_t>(v.begin(), v.end()), data);
    EXPECT_EQ(s, std::string(len, 'x'));
  }
}

TEST(Xdr, PaddingBytesAreZero) {
  XdrEncoder enc;
  enc.string("abcde");
  const auto& b = enc.buffer();
  ASSERT_EQ(b.size(), 12u);
  EXPECT_EQ(b[9], 0);
  EXPECT_EQ(b[10], 0);
  EXPECT_EQ(b[11], 0);
}

TEST(Xdr, ArrayLengthRoundTripsAndIsBoundedByMaxAndBytesLeft) {
  XdrEncoder enc;
  enc.u32(3);
  for (uint32_t i = 0; i < 3; ++i) enc.u32(i);
  {
    XdrDecoder dec(enc.buffer());
    EXPECT_EQ(dec.array_len(3), 3u);
    EXPECT_TRUE(dec.ok());
  }
  {
    XdrDecoder dec(enc.buffer());
    dec.array_len(2);  // over max
    EXPECT_FALSE(dec.ok());
  }
  {
    XdrDecoder dec(enc.buffer());
    dec.array_len(100, 8);  // 3 elements of 8 bytes do not fit in 12
    EXPECT_FALSE(dec.ok());
  }
}

TEST(Xdr, ReservedSlotIsPatchedInPlace) {
  XdrEncoder enc;
  size_t at = enc.reserve_u32();
  enc.u32(7);
  enc.patch_u32(at, 0xCAFEBABE);
  XdrDecoder dec(enc.buffer());
  EXPECT_EQ(dec.u32(), 0xCAFEBABEu);
  EXPECT_EQ(dec.u32(), 7u);
}

TEST(Xdr, AppendSpaceIsZeroFilledAndPadded) {
  XdrEncoder enc;
  size_t at = enc.append_space(5);
  EXPECT_EQ(at, 0u);
  EXPECT_EQ(enc.size(), 8u);
  for (uint8_t b : enc.buffer()) EXPECT_EQ(b, 0);
  enc.data()[at] = 0x55;
  XdrDecoder dec(enc.buffer());
  EXPECT_EQ(dec.fixed_opaque(5)[0], 0x55);
}

TEST(Xdr, TruncateAndTakeGiveBackTheBuffer) {
  XdrEncoder enc;
  enc.u32(1);
  enc.u32(2);
  enc.truncate(4);
  std::vector<uint8_t> b = enc.take();
  EXPECT_EQ(b, (std::vector<uint8_t>{0, 0, 0, 1}));
  XdrEncoder reuse(std::move(b));
  EXPECT_EQ(reuse.size(), 0u);
}

TEST(Xdr, SkipAdvancesAndFailsPastTheEnd) {
  std::vector<uint8_t> b(8, 0);
  XdrDecoder dec(b);
  dec.skip(4);
  EXPECT_EQ(dec.remaining(), 4u);
  dec.skip(5);
  EXPECT_FALSE(dec.ok());
}

// A structure of every type, cut at every length: decoding fails cleanly.
TEST(Xdr, DecoderFailsOnTruncationAtEveryLength) {
  XdrEncoder enc;
  enc.u32(1);
  enc.u64(2);
  enc.boolean(true);
  enc.string("hello");
  enc.var_opaque(std::vector<uint8_t>{1, 2, 3});
  enc.fixed_opaque("xyz", 3);
  enc.u32(2);
  enc.u32(10);
  enc.u32(11);
  const auto& full = enc.buffer();
  for (size_t cut = 0; cut <= full.size(); ++cut) {
    XdrDecoder dec(full.data(), cut);
    dec.u32();
    dec.u64();
    dec.boolean();
    dec.string(64);
    dec.var_opaque(64);
    dec.fixed_opaque(3);
    uint32_t n = dec.array_len(8);
    for (uint32_t i = 0; i < n; ++i) dec.u32();
    EXPECT_EQ(dec.ok(), cut == full.size()) << "cut at " << cut;
    if (!dec.ok()) {
      EXPECT_EQ(dec.remaining(), 0u);
    }
  }
}

TEST(Xdr, FailureIsStickyAndYieldsZeroValues) {
  std::vector<uint8_t> b{0, 0, 0};
  XdrDecoder dec(b);
  EXPECT_EQ(dec.u32(), 0u);
  EXPECT_FALSE(dec.ok());
  EXPECT_EQ(dec.u64(), 0u);
  EXPECT_TRUE(dec.var_opaque(10).empty());
  EXPECT_FALSE(dec.ok());
}

TEST(Xdr, HostileLengthsFailWithoutAllocating) {
  std::vector<uint8_t> b{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4};
  {
    XdrDecoder dec(b);
    EXPECT_TRUE(dec.var_opaque(std::numeric_limits<size_t>::max()).empty());
    EXPECT_FALSE(dec.ok());
  }
  {
    XdrDecoder dec(b);
    EXPECT_TRUE(dec.string(std::numeric_limits<size_t>::max()).empty());
    EXPECT_FALSE(dec.ok());
  }
  {
    XdrDecoder dec(b);
    EXPECT_EQ(dec.array_len(std::numeric_limits<size_t>::max()), 0u);
    EXPECT_FALSE(dec.ok());
  }
  {
    XdrDecoder dec(b);
    // Lengths whose padding would overflow size_t.
    EXPECT_TRUE(dec.fixed_opaque(std::numeric_limits<size_t>::max()).empty());
    EXPECT_FALSE(dec.ok());
  }
  {
    XdrDecoder dec(b);
    dec.skip(std::numeric_limits<size_t>::max());
    EXPECT_FALSE(dec.ok());
  }
}

TEST(Xdr, StringMaximumIsEnforced) {
  XdrEncoder enc;
  enc.string("12345");
  {
    XdrDecoder dec(enc.buffer());
    EXPECT_EQ(dec.string(5), "12345");
    EXPECT_TRUE(dec.ok());
  }
  {
    XdrDecoder dec(enc.buffer());
    dec.string(4);
    EXPECT_FALSE(dec.ok());
  }
}

TEST(Xdr, DefaultDecoderIsEmptyAndFailsOnRead) {
  XdrDecoder dec;
  EXPECT_EQ(dec.remaining(), 0u);
  dec.u32();
  EXPECT_FALSE(dec.ok());
}

}  // namespace
}  // namespace pnfsgw::xdr
