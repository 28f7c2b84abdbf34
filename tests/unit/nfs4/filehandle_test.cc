// Filehandles: round trip, stable across a "restart" (same key file), and
// every forgery rejected.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "gateway/nfs4/filehandle.h"

namespace pnfsgw::nfs4 {
namespace {

std::array<uint8_t, 32> key(uint8_t fill) {
  std::array<uint8_t, 32> k;
  k.fill(fill);
  return k;
}

const std::vector<uint8_t> kLayer = {1, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 0x10, 0x20, 0x30, 0x40};

TEST(FhCodec, RoundTripsExportInodeAndLayerHandle) {
  FhCodec c(key(1));
  auto fh = c.encode(7, 0x1122334455667788ull, kLayer);
  ASSERT_TRUE(fh);
  EXPECT_LE(fh->size(), 128u);
  FhCodec::Decoded d;
  ASSERT_TRUE(c.decode(*fh, &d));
  EXPECT_EQ(d.export_id, 7u);
  EXPECT_EQ(d.ino, 0x1122334455667788ull);
  EXPECT_EQ(std::vector<uint8_t>(d.layer_handle.begin(), d.layer_handle.end()), kLayer);
}

TEST(FhCodec, FlippingAnyBitOfAHandleIsRejected) {
  FhCodec c(key(1));
  auto fh = *c.encode(7, 99, kLayer);
  for (size_t i = 0; i < fh.size(); i++)
    for (int bit = 0; bit < 8; bit++) {
      auto forged = fh;
      forged[i] ^= uint8_t(1u << bit);
      FhCodec::Decoded d;
      EXPECT_FALSE(c.decode(forged, &d)) << "byte " << i << " bit " << bit;
    }
}

TEST(FhCodec, AfterAHandleVerifiedFlippingAnyBitOfItIsStillRejected) {
  // Verified handles are remembered; only the very same bytes may skip the MAC.
  FhCodec c(key(1));
  auto fh = *c.encode(7, 99, kLayer);
  FhCodec::Decoded d;
  ASSERT_TRUE(c.decode(fh, &d));
  for (size_t i = 0; i < fh.size(); i++)
    for (int bit = 0; bit < 8; bit++) {
      auto forged = fh;
      forged[i] ^= uint8_t(1u << bit);
      EXPECT_FALSE(c.decode(forged, &d)) << "byte " << i << " bit " << bit;
      ASSERT_TRUE(c.decode(fh, &d));
      EXPECT_EQ(d.ino, 99u);
      EXPECT_EQ(std::vector<uint8_t>(d.layer_handle.begin(), d.layer_handle.end()), kLayer);
    }
  auto longer = fh;
  longer.push_back(0);
  EXPECT_FALSE(c.decode(longer, &d));
  EXPECT_FALSE(c.decode(std::span<const uint8_t>(fh.data(), fh.size() - 1), &d));
  EXPECT_FALSE(FhCodec(key(2)).decode(fh, &d));
}

TEST(FhCodec, ManyHandlesVerifiedInTurnAllDecodeToTheirOwnInode) {
  // More handles than the cache has slots: evictions never mix them up.
  FhCodec c(key(3));
  std::vector<std::vector<uint8_t>> fhs;
  for (uint64_t ino = 1; ino <= 3000; ino++) fhs.push_back(*c.encode(1, ino, kLayer));
  for (int round = 0; round < 2; round++)
    for (uint64_t ino = 1; ino <= 3000; ino++) {
      FhCodec::Decoded d;
      ASSERT_TRUE(c.decode(fhs[ino - 1], &d));
      EXPECT_EQ(d.ino, ino);
    }
}

TEST(FhCodec, HandlesFromAnotherKeyAreRejected) {
  auto fh = *FhCodec(key(1)).encode(7, 99, kLayer);
  FhCodec::Decoded d;
  EXPECT_FALSE(FhCodec(key(2)).decode(fh, &d));
}

TEST(FhCodec, TruncatedExtendedAndEmptyHandlesAreRejected) {
  FhCodec c(key(1));
  auto fh = *c.encode(7, 99, kLayer);
  FhCodec::Decoded d;
  for (size_t n = 0; n < fh.size(); n++)
    EXPECT_FALSE(c.decode(std::span<const uint8_t>(fh.data(), n), &d)) << n;
  auto longer = fh;
  longer.push_back(0);
  EXPECT_FALSE(c.decode(longer, &d));
}

TEST(FhCodec, OversizedLayerHandleCannotBeEncoded) {
  FhCodec c(key(1));
  std::vector<uint8_t> big(FhCodec::kMaxLayerHandle + 1, 1);
  EXPECT_FALSE(c.encode(1, 1, big));
  std::vector<uint8_t> max(FhCodec::kMaxLayerHandle, 1);
  auto fh = c.encode(1, 1, max);
  ASSERT_TRUE(fh);
  EXPECT_EQ(fh->size(), 128u);
}

// Handles clients already hold must stay valid: the MAC is plain
// HMAC-SHA256 truncated to 16 bytes, whichever way it is computed (one
// block past the pad for short handles, Update/Final for long ones).
TEST(FhCodec, MacIsTruncatedHmacSha256ForEveryLayerHandleLength) {
  std::array<uint8_t, 32> k;
  for (size_t i = 0; i < k.size(); i++) k[i] = uint8_t(i * 7 + 3);
  FhCodec c(k);
  for (size_t n = 0; n <= FhCodec::kMaxLayerHandle; n++) {
    std::vector<uint8_t> layer(n);
    for (size_t i = 0; i < n; i++) layer[i] = uint8_t(i * 13 + n);
    auto fh = c.encode(0x01020304, 0x1122334455667788ull, layer);
    ASSERT_TRUE(fh);
    size_t body = FhCodec::kHeader + n;
    ASSERT_EQ(fh->size(), body + FhCodec::kMacLen);
    uint8_t want[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), k.data(), k.size(), fh->data(), body, want, &len);
    EXPECT_EQ(0, memcmp(want, fh->data() + body, FhCodec::kMacLen)) << "layer handle of " << n;
  }
}

TEST(FhCodec, EncodeToWritesTheBytesEncodeReturns) {
  FhCodec c(key(1));
  uint8_t buf[FhCodec::kMaxSize];
  auto n = c.encode_to(7, 99, kLayer, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + *n), *c.encode(7, 99, kLayer));
}

TEST(FhCodec, KeyFileIsCreatedOnceAndReusedSoHandlesSurviveRestart) {
  char dir[] = "/tmp/pnfsgw-fhkey-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/fh.key";
  std::vector<uint8_t> fh;
  {
    auto c = FhCodec::load_or_create(path);
    ASSERT_TRUE(c);
    fh = *(*c)->encode(3, 5, kLayer);
  }
  auto again = FhCodec::load_or_create(path);
  ASSERT_TRUE(again);
  FhCodec::Decoded d;
  EXPECT_TRUE((*again)->decode(fh, &d));
  // A damaged key file is an error, never silently replaced.
  std::ofstream(path, std::ios::trunc) << "short";
  auto bad = FhCodec::load_or_create(path);
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.err(), EINVAL);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace pnfsgw::nfs4
