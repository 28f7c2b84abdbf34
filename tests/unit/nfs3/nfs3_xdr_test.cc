// The shared NFSv3 XDR types against bytes built by hand from RFC 1813.
#include "gateway/nfs3/nfs3_xdr.h"

#include <gtest/gtest.h>

namespace pnfsgw::nfs3 {
namespace {

// Big-endian byte builder.
struct Bytes {
  std::vector<uint8_t> v;
  Bytes& u32(uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
    return *this;
  }
  Bytes& u64(uint64_t x) {
    return u32(static_cast<uint32_t>(x >> 32)).u32(static_cast<uint32_t>(x));
  }
  Bytes& raw(std::initializer_list<uint8_t> b) {
    v.insert(v.end(), b);
    return *this;
  }
};

backend::Attr sample_attr() {
  backend::Attr a;
  a.ino = 0x1122334455667788ull;
  a.type = backend::FileType::kChar;
  a.mode = 0104755;  // bits above 07777 must not leak into fattr3.mode
  a.nlink = 3;
  a.uid = 1000;
  a.gid = 100;
  a.size = 0x0000000100000002ull;
  a.space_used = 8192;
  a.rdev_major = 4;
  a.rdev_minor = 64;
  a.atime = {1700000000, 1};
  a.mtime = {1700000001, 2};
  a.ctime = {1700000002, 999999999};
  return a;
}

// fattr3 of sample_attr() with fsid 9, field by field (RFC 1813 2.5).
Bytes sample_fattr3() {
  Bytes b;
  b.u32(NF3CHR).u32(04755).u32(3).u32(1000).u32(100);
  b.u64(0x0000000100000002ull).u64(8192);
  b.u32(4).u32(64);  // rdev: specdata1, specdata2
  b.u64(9).u64(0x1122334455667788ull);
  b.u32(1700000000).u32(1).u32(1700000001).u32(2).u32(1700000002).u32(999999999);
  return b;
}

TEST(Nfs3Xdr, Fattr3HasEveryFieldInRfcOrder) {
  xdr::XdrEncoder enc;
  encode_fattr3(enc, sample_attr(), 9);
  EXPECT_EQ(enc.buffer(), sample_fattr3().v);
  EXPECT_EQ(enc.size(), kFattr3Size);
}

TEST(Nfs3Xdr, PostOpAttrIsAFlagThenTheAttributes) {
  xdr::XdrEncoder with, without;
  encode_post_op_attr(with, sample_attr(), 9);
  encode_post_op_attr(without, std::nullopt, 9);
  Bytes want;
  want.u32(1);
  const std::vector<uint8_t> fattr = sample_fattr3().v;
  want.v.insert(want.v.end(), fattr.begin(), fattr.end());
  EXPECT_EQ(with.buffer(), want.v);
  EXPECT_EQ(without.buffer(), Bytes().u32(0).v);
}

TEST(Nfs3Xdr, WccDataCarriesSizeMtimeCtimeBeforeAndFullAttributesAfter) {
  Wcc w;
  backend::Attr before = sample_attr();
  before.size = 10;
  w.before = before;
  w.after = sample_attr();
  xdr::XdrEncoder enc;
  encode_wcc_data(enc, w, 9);
  Bytes want;
  want.u32(1).u64(10).u32(1700000001).u32(2).u32(1700000002).u32(999999999);
  want.u32(1);
  const std::vector<uint8_t> fattr = sample_fattr3().v;
  want.v.insert(want.v.end(), fattr.begin(), fattr.end());
  EXPECT_EQ(enc.buffer(), want.v);
}

TEST(Nfs3Xdr, WccDataWithNeitherSideIsTwoFalseFlags) {
  xdr::XdrEncoder enc;
  encode_wcc_data(enc, Wcc{}, 9);
  EXPECT_EQ(enc.buffer(), Bytes().u32(0).u32(0).v);
}

TEST(Nfs3Xdr, EntryPlus3WithAttributesAndHandle) {
  xdr::XdrEncoder enc;
  const std::vector<uint8_t> fh{0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  encode_entryplus3(enc, 42, "name1", 77, sample_attr(), 9, fh);
  Bytes want;
  want.u32(1).u64(42).u32(5).raw({'n', 'a', 'm', 'e', '1', 0, 0, 0}).u64(77);
  want.u32(1);
  const std::vector<uint8_t> fattr = sample_fattr3().v;
  want.v.insert(want.v.end(), fattr.begin(), fattr.end());
  want.u32(1).u32(5).raw({0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0, 0, 0});
  EXPECT_EQ(enc.buffer(), want.v);
}

TEST(Nfs3Xdr, EntryPlus3WithoutAttributesOrHandle) {
  xdr::XdrEncoder enc;
  encode_entryplus3(enc, 1, "abcd", 3, std::nullopt, 9, {});
  Bytes want;
  want.u32(1).u64(1).u32(4).raw({'a', 'b', 'c', 'd'}).u64(3).u32(0).u32(0);
  EXPECT_EQ(enc.buffer(), want.v);
}

TEST(Nfs3Xdr, Entry3SizeMatchesTheEncoding) {
  for (const std::string& name :
       std::vector<std::string>{"a", "ab", "abc", "abcd", "abcde", std::string(255, 'x')}) {
    xdr::XdrEncoder enc;
    encode_entry3(enc, 1, name, 2);
    EXPECT_EQ(enc.size(), entry3_size(name.size())) << name.size();
  }
}

TEST(Nfs3Xdr, Sattr3DecodesEveryArm) {
  Bytes b;
  b.u32(1).u32(0100640);                     // mode (file type bits dropped)
  b.u32(1).u32(5).u32(1).u32(6);             // uid, gid
  b.u32(1).u64(1234);                        // size
  b.u32(SET_TO_SERVER_TIME);                 // atime
  b.u32(SET_TO_CLIENT_TIME).u32(99).u32(5);  // mtime
  xdr::XdrDecoder dec(b.v.data(), b.v.size());
  backend::SetAttr sa;
  decode_sattr3(dec, &sa);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec.remaining(), 0u);
  EXPECT_EQ(sa.mode, 0640u);
  EXPECT_EQ(sa.uid, 5u);
  EXPECT_EQ(sa.gid, 6u);
  EXPECT_EQ(sa.size, 1234u);
  EXPECT_EQ(sa.atime_how, backend::SetAttr::TimeHow::kServerNow);
  EXPECT_EQ(sa.mtime_how, backend::SetAttr::TimeHow::kGiven);
  EXPECT_EQ(sa.mtime, (backend::Timespec{99, 5}));
}

TEST(Nfs3Xdr, Sattr3WithNothingSetIsEmpty) {
  Bytes b;
  b.u32(0).u32(0).u32(0).u32(0).u32(DONT_CHANGE).u32(DONT_CHANGE);
  xdr::XdrDecoder dec(b.v.data(), b.v.size());
  backend::SetAttr sa;
  decode_sattr3(dec, &sa);
  ASSERT_TRUE(dec.ok());
  EXPECT_TRUE(sa.empty());
}

TEST(Nfs3Xdr, Sattr3WithAnUnknownTimeHowFails) {
  Bytes b;
  b.u32(0).u32(0).u32(0).u32(0).u32(3).u32(DONT_CHANGE);
  xdr::XdrDecoder dec(b.v.data(), b.v.size());
  backend::SetAttr sa;
  decode_sattr3(dec, &sa);
  EXPECT_FALSE(dec.ok());
}

TEST(Nfs3Xdr, Sattr3TruncatedAtEverySplitFails) {
  Bytes b;
  b.u32(1).u32(0644).u32(0).u32(0).u32(1).u64(1).u32(DONT_CHANGE).u32(SET_TO_CLIENT_TIME);
  b.u32(1).u32(2);
  for (size_t n = 0; n < b.v.size(); n++) {
    xdr::XdrDecoder dec(b.v.data(), n);
    backend::SetAttr sa;
    decode_sattr3(dec, &sa);
    EXPECT_FALSE(dec.ok()) << n;
  }
}

TEST(Nfs3Xdr, FilehandleLongerThan64BytesFails) {
  Bytes b;
  b.u32(65);
  b.v.resize(b.v.size() + 68);
  xdr::XdrDecoder dec(b.v.data(), b.v.size());
  decode_fh3(dec);
  EXPECT_FALSE(dec.ok());
}

}  // namespace
}  // namespace pnfsgw::nfs3
