// fattr4 codec: wire bytes of each attribute, reply masks, SETATTR decoding
// (values, owners, error precedence, malformed input) and VERIFY comparison.
// Expected bytes are built by hand (Wire below), not with XdrEncoder.
#include "gateway/nfs4/attrs.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace pnfsgw::nfs4 {
namespace {

using backend::Attr;
using backend::FileType;
using backend::FsStat;
using backend::SetAttr;
using Bytes = std::vector<uint8_t>;

// Big-endian bytes assembled by hand.
struct Wire {
  Bytes b;
  Wire& u32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
    return *this;
  }
  Wire& u64(uint64_t v) { return u32(uint32_t(v >> 32)).u32(uint32_t(v)); }
  Wire& str(const std::string& s) {
    u32(uint32_t(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    while (b.size() % 4) b.push_back(0);
    return *this;
  }
  Wire& raw(const Bytes& r) {
    b.insert(b.end(), r.begin(), r.end());
    return *this;
  }
};

AttrBitmap bits(std::initializer_list<uint32_t> nums) {
  AttrBitmap m;
  for (uint32_t n : nums) m.set(n);
  return m;
}

// A fattr4 as a client would send it: attrmask words + attr_vals.
Bytes fattr4_words(std::initializer_list<uint32_t> words, const Bytes& vals) {
  Wire w;
  w.u32(uint32_t(words.size()));
  for (uint32_t x : words) w.u32(x);
  w.u32(uint32_t(vals.size())).raw(vals);
  while (w.b.size() % 4) w.b.push_back(0);
  return w.b;
}

Bytes fattr4(const AttrBitmap& m, const Bytes& vals) {
  Wire w;
  uint32_t n = 3;
  while (n && !m.w[n - 1]) n--;
  w.u32(n);
  for (uint32_t i = 0; i < n; i++) w.u32(m.w[i]);
  w.u32(uint32_t(vals.size())).raw(vals);
  return w.b;
}

class AttrsTest : public ::testing::Test {
 protected:
  AttrsTest() {
    attr_.ino = 0x0102030405060708ull;
    attr_.type = FileType::kRegular;
    attr_.mode = 0100000 | 04755;  // type bits must be masked off
    attr_.nlink = 3;
    attr_.uid = 1000;
    attr_.gid = 100;
    attr_.size = 0x1122334455ull;
    attr_.space_used = 8192;
    attr_.rdev_major = 8;
    attr_.rdev_minor = 17;
    attr_.atime = {-1, 500000000};
    attr_.mtime = {1700000000, 123};
    attr_.ctime = {1700000001, 999999999};
    attr_.change = 0xAABBCCDDEEFF0011ull;
    fs_.bytes_total = 1000000;
    fs_.bytes_free = 600000;
    fs_.bytes_avail = 500000;
    fs_.files_total = 7000;
    fs_.files_free = 6000;
    fs_.files_avail = 5000;
    src_.attr = &attr_;
    src_.fsstat = &fs_;
    src_.fh = fh_;
    src_.fsid_major = 0x10;
    src_.fsid_minor = 0x20;
    src_.lease_time = 90;
    src_.minor_version = 1;
    src_.mounted_on_fileid = 0;
    src_.max_read = 1 << 20;
    src_.max_write = 512 * 1024;
    src_.rdattr_error = NFS4ERR_ACCESS;
  }

  // encode_fattr's output split into mask and values; checks the framing.
  Bytes encode(const AttrBitmap& req, AttrBitmap* mask_out = nullptr) {
    xdr::XdrEncoder enc;
    encode_fattr(req, src_, enc);
    xdr::XdrDecoder dec(enc.buffer().data(), enc.size());
    AttrBitmap mask;
    mask.decode(dec);
    auto vals = dec.var_opaque(1 << 20);
    EXPECT_TRUE(dec.ok());
    EXPECT_EQ(dec.remaining(), 0u);
    if (mask_out) *mask_out = mask;
    return Bytes(vals.begin(), vals.end());
  }

  nfsstat4 settable(const Bytes& in, SetAttr* sa, AttrBitmap* mask) {
    xdr::XdrDecoder dec(in.data(), in.size());
    return decode_settable(dec, sa, mask);
  }

  nfsstat4 settable(const Bytes& in) {
    SetAttr sa;
    AttrBitmap mask;
    return settable(in, &sa, &mask);
  }

  nfsstat4 compare(const Bytes& in) {
    xdr::XdrDecoder dec(in.data(), in.size());
    return compare_fattr(dec, src_);
  }

  Attr attr_;
  FsStat fs_;
  Bytes fh_ = {0xde, 0xad, 0xbe, 0xef, 0x01};  // 5 bytes: exercises padding
  AttrSource src_;
};

// --- AttrBitmap -------------------------------------------------------------

TEST(AttrBitmapTest, EncodeTrimsTrailingZeroWords) {
  xdr::XdrEncoder e0, e1, e2;
  AttrBitmap{}.encode(e0);
  bits({FATTR4_TYPE}).encode(e1);
  bits({FATTR4_SUPPATTR_EXCLCREAT}).encode(e2);
  EXPECT_EQ(e0.buffer(), Wire().u32(0).b);
  EXPECT_EQ(e1.buffer(), Wire().u32(1).u32(1u << 1).b);
  EXPECT_EQ(e2.buffer(), Wire().u32(3).u32(0).u32(0).u32(1u << 11).b);
}

TEST(AttrBitmapTest, DecodeKeepsThreeWordsAndFlagsBitsBeyondThem) {
  Bytes in = Wire().u32(5).u32(1).u32(2).u32(3).u32(0).u32(0x80).b;
  xdr::XdrDecoder dec(in.data(), in.size());
  AttrBitmap m;
  m.decode(dec);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(m.w[0], 1u);
  EXPECT_EQ(m.w[1], 2u);
  EXPECT_EQ(m.w[2], 3u);
  EXPECT_TRUE(m.high_bits);
  EXPECT_EQ(dec.remaining(), 0u);
}

TEST(AttrBitmapTest, ZeroWordsBeyondTheThirdAreNotHighBits) {
  Bytes in = Wire().u32(4).u32(1).u32(0).u32(0).u32(0).b;
  xdr::XdrDecoder dec(in.data(), in.size());
  AttrBitmap m;
  m.decode(dec);
  ASSERT_TRUE(dec.ok());
  EXPECT_FALSE(m.high_bits);
  EXPECT_EQ(m, bits({0}));
}

TEST(AttrBitmapTest, HugeWordCountFailsWithoutReadingOrAllocating) {
  Bytes in = Wire().u32(0xFFFFFFFFu).b;
  xdr::XdrDecoder dec(in.data(), in.size());
  AttrBitmap m;
  m.decode(dec);
  EXPECT_FALSE(dec.ok());
  EXPECT_TRUE(m.empty());
}

TEST(AttrBitmapTest, MoreThanMaxWireWordsFailsEvenWhenPresent) {
  Wire w;
  w.u32(AttrBitmap::kMaxWireWords + 1);
  for (uint32_t i = 0; i <= AttrBitmap::kMaxWireWords; i++) w.u32(0);
  xdr::XdrDecoder dec(w.b.data(), w.b.size());
  AttrBitmap m;
  m.decode(dec);
  EXPECT_FALSE(dec.ok());
}

TEST(AttrBitmapTest, TruncatedBitmapFails) {
  Bytes in = Wire().u32(2).u32(1).b;
  xdr::XdrDecoder dec(in.data(), in.size());
  AttrBitmap m;
  m.decode(dec);
  EXPECT_FALSE(dec.ok());
  EXPECT_TRUE(m.empty());
}

// --- supported / settable sets ---------------------------------------------

const std::initializer_list<uint32_t> kExpectedMinor1 = {
    FATTR4_SUPPORTED_ATTRS,
    FATTR4_TYPE,
    FATTR4_FH_EXPIRE_TYPE,
    FATTR4_CHANGE,
    FATTR4_SIZE,
    FATTR4_LINK_SUPPORT,
    FATTR4_SYMLINK_SUPPORT,
    FATTR4_NAMED_ATTR,
    FATTR4_FSID,
    FATTR4_UNIQUE_HANDLES,
    FATTR4_LEASE_TIME,
    FATTR4_RDATTR_ERROR,
    FATTR4_ACLSUPPORT,
    FATTR4_CANSETTIME,
    FATTR4_CASE_INSENSITIVE,
    FATTR4_CASE_PRESERVING,
    FATTR4_CHOWN_RESTRICTED,
    FATTR4_FILEHANDLE,
    FATTR4_FILEID,
    FATTR4_FILES_AVAIL,
    FATTR4_FILES_FREE,
    FATTR4_FILES_TOTAL,
    FATTR4_HOMOGENEOUS,
    FATTR4_MAXFILESIZE,
    FATTR4_MAXLINK,
    FATTR4_MAXNAME,
    FATTR4_MAXREAD,
    FATTR4_MAXWRITE,
    FATTR4_MODE,
    FATTR4_NO_TRUNC,
    FATTR4_NUMLINKS,
    FATTR4_OWNER,
    FATTR4_OWNER_GROUP,
    FATTR4_RAWDEV,
    FATTR4_SPACE_AVAIL,
    FATTR4_SPACE_FREE,
    FATTR4_SPACE_TOTAL,
    FATTR4_SPACE_USED,
    FATTR4_TIME_ACCESS,
    FATTR4_TIME_ACCESS_SET,
    FATTR4_TIME_DELTA,
    FATTR4_TIME_METADATA,
    FATTR4_TIME_MODIFY,
    FATTR4_TIME_MODIFY_SET,
    FATTR4_MOUNTED_ON_FILEID,
    FATTR4_SUPPATTR_EXCLCREAT,
};

TEST(SupportedAttrsTest, Minor1IsExactlyTheKernelClientSetWithoutAcl) {
  EXPECT_EQ(supported_attrs(1), bits(kExpectedMinor1));
  EXPECT_FALSE(supported_attrs(1).test(FATTR4_ACL));
}

TEST(SupportedAttrsTest, Minor2AddsChangeAttrTypeAndXattrSupportOnly) {
  AttrBitmap m1 = supported_attrs(1), m2 = supported_attrs(2);
  EXPECT_EQ(m2 & m1, m1);
  AttrBitmap added;
  for (uint32_t n = 0; n < 96; n++)
    if (m2.test(n) && !m1.test(n)) added.set(n);
  EXPECT_EQ(added, bits({FATTR4_CHANGE_ATTR_TYPE, FATTR4_XATTR_SUPPORT}));
}

TEST(SupportedAttrsTest, Minor0LacksSuppattrExclcreat) {
  AttrBitmap m0 = supported_attrs(0);
  EXPECT_FALSE(m0.test(FATTR4_SUPPATTR_EXCLCREAT));
  m0.set(FATTR4_SUPPATTR_EXCLCREAT);
  EXPECT_EQ(m0, supported_attrs(1));
}

TEST(SupportedAttrsTest, LayoutCloneAndModeUmaskAreNotSupportedYet) {
  for (uint32_t n : {FATTR4_FS_LAYOUT_TYPES, FATTR4_LAYOUT_BLKSIZE, FATTR4_CLONE_BLKSIZE,
                     FATTR4_MODE_UMASK, FATTR4_SEC_LABEL})
    EXPECT_FALSE(supported_attrs(2).test(n)) << n;
}

TEST(SupportedAttrsTest, SettableAreSizeModeOwnersAndTimeSets) {
  EXPECT_EQ(settable_attrs(), bits({FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP,
                                    FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET}));
  EXPECT_EQ(settable_attrs() & supported_attrs(1), settable_attrs());
}

TEST(SupportedAttrsTest, ExclcreatLeavesTheTimesFreeForTheVerifier) {
  EXPECT_EQ(exclcreat_attrs(), bits({FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP}));
}

TEST(SupportedAttrsTest, WriteOnlyAreTheTimeSets) {
  EXPECT_EQ(writeonly_attrs(), bits({FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET}));
}

TEST(SupportedAttrsTest, NeedsFsstatOnlyForFilesAndSpaceCounters) {
  for (uint32_t n : {FATTR4_FILES_AVAIL, FATTR4_FILES_FREE, FATTR4_FILES_TOTAL, FATTR4_SPACE_AVAIL,
                     FATTR4_SPACE_FREE, FATTR4_SPACE_TOTAL})
    EXPECT_TRUE(needs_fsstat(bits({FATTR4_TYPE, n}))) << n;
  AttrBitmap others = supported_attrs(2);
  for (uint32_t n : {FATTR4_FILES_AVAIL, FATTR4_FILES_FREE, FATTR4_FILES_TOTAL, FATTR4_SPACE_AVAIL,
                     FATTR4_SPACE_FREE, FATTR4_SPACE_TOTAL})
    others.clear(n);
  EXPECT_FALSE(needs_fsstat(others));
}

// --- encode_fattr: one attribute at a time ----------------------------------

TEST_F(AttrsTest, EachAttributeEncodesToItsRfcType) {
  struct Case {
    uint32_t num;
    Bytes want;
  };
  const Case cases[] = {
      {FATTR4_TYPE, Wire().u32(NF4REG).b},
      {FATTR4_FH_EXPIRE_TYPE, Wire().u32(0).b},
      {FATTR4_CHANGE, Wire().u64(0xAABBCCDDEEFF0011ull).b},
      {FATTR4_SIZE, Wire().u64(0x1122334455ull).b},
      {FATTR4_LINK_SUPPORT, Wire().u32(1).b},
      {FATTR4_SYMLINK_SUPPORT, Wire().u32(1).b},
      {FATTR4_NAMED_ATTR, Wire().u32(0).b},
      {FATTR4_FSID, Wire().u64(0x10).u64(0x20).b},
      {FATTR4_UNIQUE_HANDLES, Wire().u32(1).b},
      {FATTR4_LEASE_TIME, Wire().u32(90).b},
      {FATTR4_RDATTR_ERROR, Wire().u32(NFS4ERR_ACCESS).b},
      {FATTR4_ACLSUPPORT, Wire().u32(0).b},
      {FATTR4_CANSETTIME, Wire().u32(1).b},
      {FATTR4_CASE_INSENSITIVE, Wire().u32(0).b},
      {FATTR4_CASE_PRESERVING, Wire().u32(1).b},
      {FATTR4_CHOWN_RESTRICTED, Wire().u32(1).b},
      {FATTR4_FILEHANDLE, Wire().u32(5).raw({0xde, 0xad, 0xbe, 0xef, 0x01, 0, 0, 0}).b},
      {FATTR4_FILEID, Wire().u64(0x0102030405060708ull).b},
      {FATTR4_FILES_AVAIL, Wire().u64(5000).b},
      {FATTR4_FILES_FREE, Wire().u64(6000).b},
      {FATTR4_FILES_TOTAL, Wire().u64(7000).b},
      {FATTR4_HOMOGENEOUS, Wire().u32(1).b},
      {FATTR4_MAXFILESIZE, Wire().u64(0x7FFFFFFFFFFFFFFFull).b},
      {FATTR4_MAXLINK, Wire().u32(65000).b},
      {FATTR4_MAXNAME, Wire().u32(255).b},
      {FATTR4_MAXREAD, Wire().u64(1 << 20).b},
      {FATTR4_MAXWRITE, Wire().u64(512 * 1024).b},
      {FATTR4_MODE, Wire().u32(04755).b},
      {FATTR4_NO_TRUNC, Wire().u32(1).b},
      {FATTR4_NUMLINKS, Wire().u32(3).b},
      {FATTR4_OWNER, Wire().u32(4).raw({'1', '0', '0', '0'}).b},
      {FATTR4_OWNER_GROUP, Wire().u32(3).raw({'1', '0', '0', 0}).b},
      {FATTR4_RAWDEV, Wire().u32(8).u32(17).b},
      {FATTR4_SPACE_AVAIL, Wire().u64(500000).b},
      {FATTR4_SPACE_FREE, Wire().u64(600000).b},
      {FATTR4_SPACE_TOTAL, Wire().u64(1000000).b},
      {FATTR4_SPACE_USED, Wire().u64(8192).b},
      {FATTR4_TIME_ACCESS, Wire().u64(0xFFFFFFFFFFFFFFFFull).u32(500000000).b},
      {FATTR4_TIME_DELTA, Wire().u64(0).u32(1).b},
      {FATTR4_TIME_METADATA, Wire().u64(1700000001).u32(999999999).b},
      {FATTR4_TIME_MODIFY, Wire().u64(1700000000).u32(123).b},
      {FATTR4_MOUNTED_ON_FILEID, Wire().u64(0x0102030405060708ull).b},
      // size 4 | mode 33, owner 36, owner_group 37
      {FATTR4_SUPPATTR_EXCLCREAT,
       Wire().u32(2).u32(1u << 4).u32((1u << 1) | (1u << 4) | (1u << 5)).b},
  };
  for (const Case& c : cases) {
    AttrBitmap mask;
    EXPECT_EQ(encode(bits({c.num}), &mask), c.want) << "attribute " << c.num;
    EXPECT_EQ(mask, bits({c.num})) << "attribute " << c.num;
  }
}

TEST_F(AttrsTest, SupportedAttrsEncodesTheMinorVersionsBitmap) {
  Wire want;
  uint32_t w[3] = {0, 0, 0};
  for (uint32_t n : kExpectedMinor1) w[n / 32] |= 1u << (n % 32);
  want.u32(3).u32(w[0]).u32(w[1]).u32(w[2]);
  EXPECT_EQ(encode(bits({FATTR4_SUPPORTED_ATTRS})), want.b);
}

TEST_F(AttrsTest, Minor2EncodesChangeAttrTypeUndefinedAndNoXattrSupport) {
  src_.minor_version = 2;
  EXPECT_EQ(encode(bits({FATTR4_CHANGE_ATTR_TYPE})), Wire().u32(4).b);
  EXPECT_EQ(encode(bits({FATTR4_XATTR_SUPPORT})), Wire().u32(0).b);
}

TEST_F(AttrsTest, Minor2AttributesAreLeftOutOnMinor1) {
  AttrBitmap mask;
  EXPECT_TRUE(encode(bits({FATTR4_CHANGE_ATTR_TYPE, FATTR4_XATTR_SUPPORT}), &mask).empty());
  EXPECT_TRUE(mask.empty());
}

TEST_F(AttrsTest, MountedOnFileidUsesTheGivenValueWhenSet) {
  src_.mounted_on_fileid = 2;
  EXPECT_EQ(encode(bits({FATTR4_MOUNTED_ON_FILEID})), Wire().u64(2).b);
}

TEST_F(AttrsTest, TypeFollowsTheBackendFileType) {
  attr_.type = FileType::kDirectory;
  EXPECT_EQ(encode(bits({FATTR4_TYPE})), Wire().u32(NF4DIR).b);
  EXPECT_EQ(to_nfs_type(FileType::kRegular), NF4REG);
  EXPECT_EQ(to_nfs_type(FileType::kDirectory), NF4DIR);
  EXPECT_EQ(to_nfs_type(FileType::kBlock), NF4BLK);
  EXPECT_EQ(to_nfs_type(FileType::kChar), NF4CHR);
  EXPECT_EQ(to_nfs_type(FileType::kSymlink), NF4LNK);
  EXPECT_EQ(to_nfs_type(FileType::kSocket), NF4SOCK);
  EXPECT_EQ(to_nfs_type(FileType::kFifo), NF4FIFO);
}

// --- encode_fattr: framing and masks ----------------------------------------

TEST_F(AttrsTest, ValuesFollowAscendingBitOrderNotRequestOrder) {
  Bytes want = Wire().u32(NF4REG).u64(0x1122334455ull).str("1000").b;
  EXPECT_EQ(encode(bits({FATTR4_OWNER, FATTR4_SIZE, FATTR4_TYPE})), want);
}

TEST_F(AttrsTest, AttrmaskHoldsOnlyRequestedSupportedReadableAttrs) {
  AttrBitmap mask;
  encode(bits({FATTR4_TYPE, FATTR4_ACL, FATTR4_ARCHIVE, FATTR4_QUOTA_USED, FATTR4_TIME_MODIFY_SET,
               FATTR4_LAYOUT_BLKSIZE, FATTR4_XATTR_SUPPORT, 95}),
         &mask);
  EXPECT_EQ(mask, bits({FATTR4_TYPE}));
}

TEST_F(AttrsTest, WholeFattrIsMaskThenLengthPrefixedValues) {
  xdr::XdrEncoder enc;
  enc.u32(0x77777777);  // something already in the reply
  encode_fattr(bits({FATTR4_SIZE, FATTR4_MODE}), src_, enc);
  Bytes want = Wire()
                   .u32(0x77777777)
                   .u32(2)
                   .u32(1u << 4)
                   .u32(1u << 1)  // mode is bit 33
                   .u32(12)
                   .u64(0x1122334455ull)
                   .u32(04755)
                   .b;
  EXPECT_EQ(enc.buffer(), want);
}

TEST_F(AttrsTest, EmptyRequestEncodesEmptyMaskAndValues) {
  xdr::XdrEncoder enc;
  encode_fattr(AttrBitmap{}, src_, enc);
  EXPECT_EQ(enc.buffer(), Wire().u32(0).u32(0).b);
}

// --- decode_settable ----------------------------------------------------------

TEST_F(AttrsTest, SettableSizeIsDecoded) {
  SetAttr sa;
  AttrBitmap mask;
  ASSERT_EQ(settable(fattr4(bits({FATTR4_SIZE}), Wire().u64(1ull << 40).b), &sa, &mask), NFS4_OK);
  EXPECT_EQ(sa.size, 1ull << 40);
  EXPECT_FALSE(sa.mode || sa.uid || sa.gid);
  EXPECT_EQ(mask, bits({FATTR4_SIZE}));
}

TEST_F(AttrsTest, SettableModeIsDecoded) {
  SetAttr sa;
  AttrBitmap mask;
  ASSERT_EQ(settable(fattr4(bits({FATTR4_MODE}), Wire().u32(07777).b), &sa, &mask), NFS4_OK);
  EXPECT_EQ(sa.mode, 07777u);
  EXPECT_EQ(mask, bits({FATTR4_MODE}));
}

TEST_F(AttrsTest, ModeAbove07777IsInval) {
  EXPECT_EQ(settable(fattr4(bits({FATTR4_MODE}), Wire().u32(010000).b)), NFS4ERR_INVAL);
  EXPECT_EQ(settable(fattr4(bits({FATTR4_MODE}), Wire().u32(0100644).b)), NFS4ERR_INVAL);
}

struct OwnerCase {
  const char* text;
  nfsstat4 status;
  uint32_t id;
};

TEST_F(AttrsTest, OwnerFormats) {
  const OwnerCase cases[] = {
      {"1000", NFS4_OK, 1000},
      {"0", NFS4_OK, 0},
      {"1000@localdomain", NFS4_OK, 1000},
      {"root", NFS4_OK, 0},
      {"root@example.com", NFS4_OK, 0},
      {"4294967294", NFS4_OK, 4294967294u},
      {"nosuchuser", NFS4ERR_BADOWNER, 0},
      {"nosuchuser@localdomain", NFS4ERR_BADOWNER, 0},
      {"", NFS4ERR_BADOWNER, 0},
      {"@localdomain", NFS4ERR_BADOWNER, 0},
      {"1000@", NFS4ERR_BADOWNER, 0},
      {"-1", NFS4ERR_BADOWNER, 0},
      {"+5", NFS4ERR_BADOWNER, 0},
      {"4294967295", NFS4ERR_BADOWNER, 0},  // (uid_t)-1: chown's "no change"
      {"99999999999", NFS4ERR_BADOWNER, 0},
      {" 1000", NFS4ERR_BADOWNER, 0},
  };
  for (const OwnerCase& c : cases) {
    for (uint32_t attr : {FATTR4_OWNER, FATTR4_OWNER_GROUP}) {
      SetAttr sa;
      AttrBitmap mask;
      nfsstat4 st = settable(fattr4(bits({attr}), Wire().str(c.text).b), &sa, &mask);
      EXPECT_EQ(st, c.status) << "'" << c.text << "' as " << attr;
      if (st != NFS4_OK) continue;
      if (attr == FATTR4_OWNER) {
        EXPECT_EQ(sa.uid, c.id) << c.text;
        EXPECT_FALSE(sa.gid);
      } else {
        EXPECT_EQ(sa.gid, c.id) << c.text;
        EXPECT_FALSE(sa.uid);
      }
    }
  }
}

TEST_F(AttrsTest, OwnerWithEmbeddedNulIsBadowner) {
  std::string s("root\0x", 6);
  EXPECT_EQ(settable(fattr4(bits({FATTR4_OWNER}), Wire().str(s).b)), NFS4ERR_BADOWNER);
}

TEST_F(AttrsTest, TimeSetToServerTime) {
  SetAttr sa;
  AttrBitmap mask;
  ASSERT_EQ(settable(fattr4(bits({FATTR4_TIME_ACCESS_SET}), Wire().u32(SET_TO_SERVER_TIME4).b), &sa,
                     &mask),
            NFS4_OK);
  EXPECT_EQ(sa.atime_how, SetAttr::TimeHow::kServerNow);
  EXPECT_EQ(sa.mtime_how, SetAttr::TimeHow::kKeep);
  EXPECT_EQ(mask, bits({FATTR4_TIME_ACCESS_SET}));
}

TEST_F(AttrsTest, TimeSetToClientTimeCarriesNfstime4) {
  SetAttr sa;
  AttrBitmap mask;
  Bytes vals = Wire().u32(SET_TO_CLIENT_TIME4).u64(uint64_t(-5)).u32(999999999).b;
  ASSERT_EQ(settable(fattr4(bits({FATTR4_TIME_MODIFY_SET}), vals), &sa, &mask), NFS4_OK);
  EXPECT_EQ(sa.mtime_how, SetAttr::TimeHow::kGiven);
  EXPECT_EQ(sa.mtime.sec, -5);
  EXPECT_EQ(sa.mtime.nsec, 999999999u);
  EXPECT_EQ(sa.atime_how, SetAttr::TimeHow::kKeep);
}

TEST_F(AttrsTest, ClientTimeWithASecondOfNanosecondsIsInval) {
  Bytes vals = Wire().u32(SET_TO_CLIENT_TIME4).u64(1).u32(1000000000).b;
  EXPECT_EQ(settable(fattr4(bits({FATTR4_TIME_MODIFY_SET}), vals)), NFS4ERR_INVAL);
}

TEST_F(AttrsTest, UnknownTimeHowIsBadxdr) {
  EXPECT_EQ(settable(fattr4(bits({FATTR4_TIME_ACCESS_SET}), Wire().u32(2).b)), NFS4ERR_BADXDR);
}

TEST_F(AttrsTest, AllSettableAttributesTogether) {
  Bytes vals = Wire()
                   .u64(42)                   // size (4)
                   .u32(0640)                 // mode (33)
                   .str("1000")               // owner (36)
                   .str("root")               // owner_group (37)
                   .u32(SET_TO_SERVER_TIME4)  // time_access_set (48)
                   .u32(SET_TO_CLIENT_TIME4)
                   .u64(1234)
                   .u32(5678)  // time_modify_set (54)
                   .b;
  SetAttr sa;
  AttrBitmap mask;
  ASSERT_EQ(settable(fattr4(settable_attrs(), vals), &sa, &mask), NFS4_OK);
  EXPECT_EQ(mask, settable_attrs());
  EXPECT_EQ(sa.size, 42u);
  EXPECT_EQ(sa.mode, 0640u);
  EXPECT_EQ(sa.uid, 1000u);
  EXPECT_EQ(sa.gid, 0u);
  EXPECT_EQ(sa.atime_how, SetAttr::TimeHow::kServerNow);
  EXPECT_EQ(sa.mtime_how, SetAttr::TimeHow::kGiven);
  EXPECT_EQ(sa.mtime, (backend::Timespec{1234, 5678}));
}

TEST_F(AttrsTest, EmptyMaskSetsNothing) {
  SetAttr sa;
  AttrBitmap mask = bits({1});
  ASSERT_EQ(settable(fattr4(AttrBitmap{}, {}), &sa, &mask), NFS4_OK);
  EXPECT_TRUE(sa.empty());
  EXPECT_TRUE(mask.empty());
}

TEST_F(AttrsTest, UnsupportedBitIsAttrnotsupp) {
  EXPECT_EQ(settable(fattr4(bits({FATTR4_ACL}), Wire().u32(0).b)), NFS4ERR_ATTRNOTSUPP);
  EXPECT_EQ(settable(fattr4(bits({FATTR4_MODE_UMASK}), Wire().u32(0).u32(0).b)),
            NFS4ERR_ATTRNOTSUPP);
}

TEST_F(AttrsTest, BitBeyondWord3IsAttrnotsupp) {
  EXPECT_EQ(settable(fattr4_words({0, 0, 0, 1}, {})), NFS4ERR_ATTRNOTSUPP);
}

TEST_F(AttrsTest, SupportedReadOnlyAttrIsInval) {
  EXPECT_EQ(settable(fattr4(bits({FATTR4_TYPE}), Wire().u32(NF4REG).b)), NFS4ERR_INVAL);
  EXPECT_EQ(settable(fattr4(bits({FATTR4_FILEID}), Wire().u64(1).b)), NFS4ERR_INVAL);
  EXPECT_EQ(settable(fattr4(bits({FATTR4_TIME_MODIFY}), Wire().u64(1).u32(0).b)), NFS4ERR_INVAL);
}

TEST_F(AttrsTest, UnsupportedOutranksReadOnly) {
  EXPECT_EQ(settable(fattr4(bits({FATTR4_TYPE, FATTR4_ACL}), {})), NFS4ERR_ATTRNOTSUPP);
}

TEST_F(AttrsTest, TruncatedAttrlistIsBadxdr) {
  EXPECT_EQ(settable(fattr4(bits({FATTR4_SIZE}), Wire().u32(1).b)), NFS4ERR_BADXDR);
  EXPECT_EQ(settable(fattr4(bits({FATTR4_SIZE, FATTR4_MODE}), Wire().u64(1).b)), NFS4ERR_BADXDR);
}

TEST_F(AttrsTest, TrailingBytesInAttrlistAreBadxdr) {
  EXPECT_EQ(settable(fattr4(bits({FATTR4_MODE}), Wire().u32(0644).u32(0).b)), NFS4ERR_BADXDR);
  EXPECT_EQ(settable(fattr4(AttrBitmap{}, Wire().u32(0).b)), NFS4ERR_BADXDR);
}

TEST_F(AttrsTest, BadXdrOutranksABadValue) {
  // mode is out of range, and the list is also short for the owner.
  EXPECT_EQ(settable(fattr4(bits({FATTR4_MODE, FATTR4_OWNER}), Wire().u32(077777).b)),
            NFS4ERR_BADXDR);
}

TEST_F(AttrsTest, AttrlistLongerThanTheMessageIsBadxdr) {
  Bytes in = Wire().u32(1).u32(1u << 4).u32(0x7FFFFFF0).u64(1).b;
  EXPECT_EQ(settable(in), NFS4ERR_BADXDR);
}

TEST_F(AttrsTest, HugeBitmapWordCountIsBadxdr) {
  EXPECT_EQ(settable(Wire().u32(0xFFFFFFFFu).u32(0).b), NFS4ERR_BADXDR);
}

TEST_F(AttrsTest, EveryTruncationOfAValidFattrIsBadxdr) {
  Bytes full = fattr4(bits({FATTR4_SIZE, FATTR4_OWNER, FATTR4_TIME_MODIFY_SET}),
                      Wire().u64(7).str("12345").u32(SET_TO_CLIENT_TIME4).u64(9).u32(9).b);
  ASSERT_EQ(settable(full), NFS4_OK);
  for (size_t n = 0; n < full.size(); n++)
    EXPECT_EQ(settable(Bytes(full.begin(), full.begin() + n)), NFS4ERR_BADXDR) << n << " bytes";
}

TEST_F(AttrsTest, DecodeConsumesExactlyOneFattr) {
  Bytes in = fattr4(bits({FATTR4_MODE}), Wire().u32(0600).b);
  in.insert(in.end(), {0xAA, 0xBB, 0xCC, 0xDD});
  xdr::XdrDecoder dec(in.data(), in.size());
  SetAttr sa;
  AttrBitmap mask;
  ASSERT_EQ(decode_settable(dec, &sa, &mask), NFS4_OK);
  EXPECT_EQ(dec.remaining(), 4u);
  EXPECT_EQ(dec.u32(), 0xAABBCCDDu);
}

TEST_F(AttrsTest, ErrorLeavesSetAttrAloneAndClearsMask) {
  SetAttr sa;
  sa.mode = 0111;
  AttrBitmap mask = bits({FATTR4_MODE});
  ASSERT_EQ(
      settable(fattr4(bits({FATTR4_MODE, FATTR4_OWNER}), Wire().u32(0600).str("nosuchuser").b), &sa,
               &mask),
      NFS4ERR_BADOWNER);
  EXPECT_EQ(sa.mode, 0111u);
  EXPECT_TRUE(mask.empty());
}

// --- compare_fattr (VERIFY / NVERIFY) ----------------------------------------

TEST_F(AttrsTest, CompareIsSameWhenValuesMatch) {
  Bytes vals = Wire().u64(0x1122334455ull).u32(04755).str("1000").b;
  EXPECT_EQ(compare(fattr4(bits({FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER}), vals)), NFS4ERR_SAME);
}

TEST_F(AttrsTest, CompareIsNotSameWhenAValueDiffers) {
  Bytes vals = Wire().u64(0x1122334456ull).u32(04755).b;
  EXPECT_EQ(compare(fattr4(bits({FATTR4_SIZE, FATTR4_MODE}), vals)), NFS4ERR_NOT_SAME);
}

TEST_F(AttrsTest, CompareIsNotSameWhenLengthsDiffer) {
  EXPECT_EQ(compare(fattr4(bits({FATTR4_OWNER}), Wire().str("10000").b)), NFS4ERR_NOT_SAME);
  EXPECT_EQ(compare(fattr4(bits({FATTR4_SIZE}), Wire().u64(0x1122334455ull).u32(0).b)),
            NFS4ERR_NOT_SAME);
}

TEST_F(AttrsTest, CompareChangeAloneGuardsASetattr) {
  EXPECT_EQ(compare(fattr4(bits({FATTR4_CHANGE}), Wire().u64(0xAABBCCDDEEFF0011ull).b)),
            NFS4ERR_SAME);
  attr_.change++;
  EXPECT_EQ(compare(fattr4(bits({FATTR4_CHANGE}), Wire().u64(0xAABBCCDDEEFF0011ull).b)),
            NFS4ERR_NOT_SAME);
}

TEST_F(AttrsTest, CompareOfOurOwnEncodingIsSame) {
  AttrBitmap all = supported_attrs(1);
  all.clear(FATTR4_RDATTR_ERROR);  // not comparable
  xdr::XdrEncoder enc;
  encode_fattr(all, src_, enc);
  xdr::XdrDecoder dec(enc.buffer().data(), enc.size());
  EXPECT_EQ(compare_fattr(dec, src_), NFS4ERR_SAME);
}

TEST_F(AttrsTest, CompareEmptyMaskIsSame) {
  EXPECT_EQ(compare(fattr4(AttrBitmap{}, {})), NFS4ERR_SAME);
}

TEST_F(AttrsTest, CompareRdattrErrorIsInval) {
  EXPECT_EQ(compare(fattr4(bits({FATTR4_RDATTR_ERROR}), Wire().u32(NFS4ERR_ACCESS).b)),
            NFS4ERR_INVAL);
}

TEST_F(AttrsTest, CompareSetOnlyAttrIsInval) {
  EXPECT_EQ(compare(fattr4(bits({FATTR4_TIME_MODIFY_SET}), Wire().u32(0).b)), NFS4ERR_INVAL);
}

TEST_F(AttrsTest, CompareUnsupportedAttrIsAttrnotsupp) {
  EXPECT_EQ(compare(fattr4(bits({FATTR4_ACL}), Wire().u32(0).b)), NFS4ERR_ATTRNOTSUPP);
  EXPECT_EQ(compare(fattr4_words({0, 0, 0, 1}, {})), NFS4ERR_ATTRNOTSUPP);
  // 4.2-only attribute on a 4.1 compound.
  EXPECT_EQ(compare(fattr4(bits({FATTR4_XATTR_SUPPORT}), Wire().u32(0).b)), NFS4ERR_ATTRNOTSUPP);
  src_.minor_version = 2;
  EXPECT_EQ(compare(fattr4(bits({FATTR4_XATTR_SUPPORT}), Wire().u32(0).b)), NFS4ERR_SAME);
}

TEST_F(AttrsTest, CompareMalformedFattrIsBadxdr) {
  EXPECT_EQ(compare(Wire().u32(1).u32(1u << 4).u32(8).u32(0).b), NFS4ERR_BADXDR);
  EXPECT_EQ(compare(Wire().u32(9).b), NFS4ERR_BADXDR);
}

}  // namespace
}  // namespace pnfsgw::nfs4
