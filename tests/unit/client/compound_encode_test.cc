// COMPOUND4args encoding matches bytes written out by hand from RFC 5662.
#include <gtest/gtest.h>

#include "client/compound.h"
#include "tests/unit/client/wire_util.h"

namespace pnfsgw::client {
namespace {
using namespace nfs4;
using test::Wire;

Fh make_fh(std::initializer_list<uint8_t> b) { return Fh{std::vector<uint8_t>(b)}; }

TEST(CompoundEncode, PutfhGetattrMatchesHandBuiltBytes) {
  CompoundBuilder b("t", 1);
  b.putfh(make_fh({1, 2, 3, 4, 5})).getattr(Bitmap4{FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE});
  Wire w;
  w.str("t").u32(1).u32(2);
  w.u32(OP_PUTFH).u32(5).fixed({1, 2, 3, 4, 5});
  w.u32(OP_GETATTR).u32(2).u32((1u << 1) | (1u << 4)).u32(1u << 1);
  EXPECT_EQ(b.encode(), w.bytes());
  EXPECT_EQ(b.ops(), (std::vector<uint32_t>{OP_PUTFH, OP_GETATTR}));
}

TEST(CompoundEncode, SequenceIsPrependedAndCounted) {
  CompoundBuilder b("", 1);
  b.putrootfh().getfh();
  SequenceArgs seq;
  for (size_t i = 0; i < seq.sessionid.size(); i++) seq.sessionid[i] = static_cast<uint8_t>(i);
  seq.sequenceid = 7;
  seq.slotid = 2;
  seq.highest_slotid = 3;
  seq.cachethis = true;
  Wire w;
  w.str("").u32(1).u32(3);
  w.u32(OP_SEQUENCE).fixed({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  w.words({7, 2, 3, 1});
  w.u32(OP_PUTROOTFH).u32(OP_GETFH);
  EXPECT_EQ(b.encode_with_sequence(seq), w.bytes());
  // The builder itself is unchanged by the prefix.
  EXPECT_EQ(b.op_count(), 2u);
}

TEST(CompoundEncode, OpenCreateUncheckedWithMode) {
  OpenArgs a;
  a.share_access = OPEN4_SHARE_ACCESS_BOTH;
  a.share_deny = OPEN4_SHARE_DENY_NONE;
  a.clientid = 0x0102030405060708ull;
  a.owner = "own";
  a.create = true;
  a.createmode = UNCHECKED4;
  a.attrs.mode = 0644;
  a.claim = CLAIM_NULL;
  a.name = "file";
  CompoundBuilder b("", 1);
  b.open(a);
  Wire w;
  w.str("").u32(1).u32(1);
  w.u32(OP_OPEN).u32(0).u32(3).u32(0);  // seqid, access, deny
  w.u64(0x0102030405060708ull).str("own");
  w.u32(OPEN4_CREATE).u32(UNCHECKED4);
  w.u32(2).u32(0).u32(1u << (FATTR4_MODE - 32));  // attrmask
  w.u32(4).u32(0644);                             // attr_vals
  w.u32(CLAIM_NULL).str("file");
  EXPECT_EQ(b.encode(), w.bytes());
}

TEST(CompoundEncode, OpenExclusive41CarriesVerifierThenAttrs) {
  OpenArgs a;
  a.create = true;
  a.createmode = EXCLUSIVE4_1;
  a.verf = Verifier{1, 2, 3, 4, 5, 6, 7, 8};
  a.owner = "o";
  a.name = "x";
  CompoundBuilder b("", 1);
  b.open(a);
  Wire w;
  w.str("").u32(1).u32(1);
  w.u32(OP_OPEN).u32(0).u32(3).u32(0).u64(0).str("o");
  w.u32(OPEN4_CREATE).u32(EXCLUSIVE4_1).fixed({1, 2, 3, 4, 5, 6, 7, 8});
  w.u32(0).u32(0);  // empty fattr4
  w.u32(CLAIM_NULL).str("x");
  EXPECT_EQ(b.encode(), w.bytes());
}

TEST(CompoundEncode, LockNewOwnerThenExistingOwner) {
  Stateid open_sid;
  open_sid.seqid = 1;
  open_sid.other = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
  LockerArgs fresh;
  fresh.new_lock_owner = true;
  fresh.open_stateid = open_sid;
  fresh.clientid = 5;
  fresh.owner = "lo";
  LockerArgs existing;
  existing.new_lock_owner = false;
  existing.lock_stateid = open_sid;
  existing.lock_seqid = 0;

  CompoundBuilder b("", 1);
  b.lock(WRITE_LT, false, 10, 20, fresh).lock(READ_LT, false, 0, ~0ull, existing);
  Wire w;
  w.str("").u32(1).u32(2);
  w.u32(OP_LOCK).u32(WRITE_LT).u32(0).u64(10).u64(20);
  w.u32(1).u32(0).u32(1).fixed({9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}).u32(0).u64(5).str("lo");
  w.u32(OP_LOCK).u32(READ_LT).u32(0).u64(0).u64(~0ull);
  w.u32(0).u32(1).fixed({9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}).u32(0);
  EXPECT_EQ(b.encode(), w.bytes());
}

TEST(CompoundEncode, WriteDataIsPaddedToFourBytes) {
  std::vector<uint8_t> data{0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  CompoundBuilder b("", 1);
  b.write(Stateid{}, 4096, FILE_SYNC4, data);
  Wire w;
  w.str("").u32(1).u32(1);
  w.u32(OP_WRITE).u32(0).fixed({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  w.u64(4096).u32(FILE_SYNC4).u32(5).fixed({0xaa, 0xbb, 0xcc, 0xdd, 0xee});
  EXPECT_EQ(b.encode(), w.bytes());
}

// The borrowed WRITE's data goes out as its own piece, between the ops
// before it and its padding plus the ops after it; joined, the pieces are
// the bytes write() encodes.
TEST(CompoundEncode, BorrowedWriteDataIsAPieceOfItsOwnAndJoinsToTheCopiedEncoding) {
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{4}, size_t{5}, size_t{4097}}) {
    std::vector<uint8_t> data(n);
    for (size_t i = 0; i < n; i++) data[i] = static_cast<uint8_t>(i * 7 + 1);
    Fh fh;
    fh.data = {1, 2, 3, 4, 5, 6, 7, 8};
    SequenceArgs seq;
    seq.sequenceid = 9;
    CompoundBuilder copied("t", 1), borrowed("t", 1);
    copied.putfh(fh).write(Stateid{}, 4096, UNSTABLE4, data).getattr(Bitmap4{FATTR4_SIZE});
    borrowed.putfh(fh)
        .write_borrowed(Stateid{}, 4096, UNSTABLE4, data)
        .getattr(Bitmap4{FATTR4_SIZE});
    EXPECT_EQ(borrowed.encode(), copied.encode()) << n;
    EXPECT_EQ(borrowed.encode_with_sequence(seq), copied.encode_with_sequence(seq)) << n;

    CompoundParts parts;
    borrowed.encode_parts(1, &seq, &parts);
    bool data_is_a_view = false;
    for (std::span<const uint8_t> p : parts.spans()) {
      EXPECT_FALSE(p.empty());
      data_is_a_view |= p.data() == data.data() && p.size() == n;
    }
    EXPECT_TRUE(data_is_a_view) << n << ": the data was copied";
    EXPECT_EQ(parts.size(), copied.encode_with_sequence(seq).size()) << n;
  }
}

TEST(CompoundEncode, CreateSessionWithAuthSysCallbackCredentials) {
  rpc::AuthSysParams sys;
  sys.stamp = 3;
  sys.machine = "m";
  sys.uid = 1000;
  sys.gid = 100;
  sys.gids = {4, 5};
  CreateSessionArgs a;
  a.clientid = 0x11;
  a.sequenceid = 1;
  a.flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
  a.fore = ChannelAttrs{0, 1000, 2000, 300, 16, 8};
  a.back = ChannelAttrs{0, 400, 500, 0, 2, 1};
  a.cb_program = 0x40000000;
  a.cb_sys = &sys;
  CompoundBuilder b("", 1);
  b.create_session(a);
  Wire w;
  w.str("").u32(1).u32(1);
  w.u32(OP_CREATE_SESSION).u64(0x11).u32(1).u32(CREATE_SESSION4_FLAG_CONN_BACK_CHAN);
  w.words({0, 1000, 2000, 300, 16, 8, 0});
  w.words({0, 400, 500, 0, 2, 1, 0});
  w.u32(0x40000000).u32(1).u32(rpc::AUTH_SYS);
  w.u32(3).str("m").u32(1000).u32(100).words({2, 4, 5});
  EXPECT_EQ(b.encode(), w.bytes());
}

TEST(CompoundEncode, SetattrSizeModeAndServerMtime) {
  SetAttrs s;
  s.size = 0x100000000ull;
  s.mode = 0600;
  s.set_mtime_now = true;
  CompoundBuilder b("", 1);
  b.setattr(Stateid{}, s);
  Wire w;
  w.str("").u32(1).u32(1);
  w.u32(OP_SETATTR).u32(0).fixed({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  w.u32(2)
      .u32(1u << FATTR4_SIZE)
      .u32((1u << (FATTR4_MODE - 32)) | (1u << (FATTR4_TIME_MODIFY_SET - 32)));
  w.u32(16).u64(0x100000000ull).u32(0600).u32(SET_TO_SERVER_TIME4);
  EXPECT_EQ(b.encode(), w.bytes());
}

TEST(CompoundEncode, RenameAndReaddir) {
  CompoundBuilder b("", 1);
  Verifier v{};
  b.rename("a", "bb").readdir(7, v, 100, 200, Bitmap4{FATTR4_FILEID});
  Wire w;
  w.str("").u32(1).u32(2);
  w.u32(OP_RENAME).str("a").str("bb");
  w.u32(OP_READDIR).u64(7).fixed({0, 0, 0, 0, 0, 0, 0, 0}).u32(100).u32(200);
  w.u32(1).u32(1u << FATTR4_FILEID);
  EXPECT_EQ(b.encode(), w.bytes());
}

}  // namespace
}  // namespace pnfsgw::client
