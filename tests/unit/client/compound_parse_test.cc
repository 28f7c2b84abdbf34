// COMPOUND4res parsing of canned server replies, including truncated and
// garbage ones: every malformed reply is an error value, never a crash.
#include <gtest/gtest.h>

#include <random>

#include "client/compound.h"
#include "client/rpc_client.h"
#include "tests/unit/client/wire_util.h"

namespace pnfsgw::client {
namespace {
using namespace nfs4;
using test::Wire;

void sequence_ok(Wire& w) {
  w.u32(OP_SEQUENCE).u32(NFS4_OK);
  w.fixed({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  w.words({5, 0, 15, 15, SEQ4_STATUS_CB_PATH_DOWN});
}

// fattr4 with type, size, mode, owner.
void fattr(Wire& w) {
  w.u32(2).u32((1u << FATTR4_TYPE) | (1u << FATTR4_SIZE));
  w.u32((1u << (FATTR4_MODE - 32)) | (1u << (FATTR4_OWNER - 32)));
  Wire vals;
  vals.u32(NF4REG).u64(12345).u32(0640).str("1000");
  w.u32(static_cast<uint32_t>(vals.size())).raw(vals.bytes());
}

std::vector<uint8_t> good_getattr_reply() {
  Wire w;
  w.u32(NFS4_OK).str("tag").u32(3);
  sequence_ok(w);
  w.u32(OP_PUTFH).u32(NFS4_OK);
  w.u32(OP_GETATTR).u32(NFS4_OK);
  fattr(w);
  return w.bytes();
}

const std::vector<uint32_t> kSent{OP_SEQUENCE, OP_PUTFH, OP_GETATTR};

TEST(CompoundParse, DecodesSequencePutfhGetattr) {
  auto r = CompoundReply::parse(good_getattr_reply(), 0, kSent);
  ASSERT_TRUE(r) << status_name(r.err());
  EXPECT_EQ(r->status(), NFS4_OK);
  EXPECT_EQ(r->tag(), "tag");
  ASSERT_EQ(r->size(), 3u);
  auto seq = r->get<SequenceRes>(0);
  ASSERT_TRUE(seq);
  EXPECT_EQ(seq->sequenceid, 5u);
  EXPECT_EQ(seq->highest_slotid, 15u);
  EXPECT_EQ(seq->status_flags, SEQ4_STATUS_CB_PATH_DOWN);
  auto ga = r->get<GetattrRes>(2);
  ASSERT_TRUE(ga);
  EXPECT_EQ(ga->attrs.type, NF4REG);
  EXPECT_EQ(ga->attrs.size, 12345u);
  EXPECT_EQ(ga->attrs.mode, 0640u);
  EXPECT_EQ(ga->attrs.owner, "1000");
  EXPECT_FALSE(ga->attrs.fileid.has_value());
  EXPECT_FALSE(ga->attrs.undecoded.has_value());
}

TEST(CompoundParse, AskingForTheWrongResultTypeIsAnError) {
  auto r = CompoundReply::parse(good_getattr_reply(), 0, kSent);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get<GetfhRes>(2).err(), EBADMSG);
  EXPECT_EQ(r->get<GetattrRes>(7).err(), EBADMSG);
  EXPECT_EQ(r->find<GetattrRes>().err(), 0);
}

TEST(CompoundParse, EveryTruncationIsAnErrorNotACrash) {
  std::vector<uint8_t> full = good_getattr_reply();
  for (size_t len = 0; len < full.size(); len++) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + len);
    auto r = CompoundReply::parse(std::move(cut), 0, kSent);
    EXPECT_FALSE(r) << "prefix of " << len << " bytes parsed";
    EXPECT_EQ(r.err(), EBADMSG);
  }
}

TEST(CompoundParse, RandomGarbageNeverCrashes) {
  std::mt19937 rng(42);
  std::vector<uint8_t> base = good_getattr_reply();
  for (int iter = 0; iter < 20000; iter++) {
    std::vector<uint8_t> buf = base;
    // Flip a few bytes, sometimes truncate, sometimes pure noise.
    if (iter % 3 == 0) {
      buf.resize(rng() % 256);
      for (auto& b : buf) b = static_cast<uint8_t>(rng());
    } else {
      int flips = 1 + rng() % 4;
      for (int i = 0; i < flips; i++) buf[rng() % buf.size()] = static_cast<uint8_t>(rng());
    }
    auto r = CompoundReply::parse(std::move(buf), 0, kSent);
    if (r) {
      for (size_t i = 0; i < r->size(); i++) {
        (void)r->body<SequenceRes>(i);
        (void)r->body<GetattrRes>(i);
      }
    }
  }
}

TEST(CompoundParse, HugeArrayCountsAreRejectedWithoutAllocating) {
  Wire w;
  w.u32(NFS4_OK).str("").u32(0xffffffffu);
  EXPECT_EQ(CompoundReply::parse(w.bytes(), 0).err(), EBADMSG);

  Wire w2;
  w2.u32(NFS4_OK).str("").u32(2);
  sequence_ok(w2);
  w2.u32(OP_READ).u32(NFS4_OK).u32(0).u32(0x7fffffffu);  // data<> longer than the record
  EXPECT_EQ(CompoundReply::parse(w2.bytes(), 0).err(), EBADMSG);
}

TEST(CompoundParse, FailedOpEndsTheResultsAndIsReported) {
  Wire w;
  w.u32(NFS4ERR_STALE).str("").u32(2);
  sequence_ok(w);
  w.u32(OP_PUTFH).u32(NFS4ERR_STALE);
  auto r = CompoundReply::parse(w.bytes(), 0, kSent);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status(), NFS4ERR_STALE);
  EXPECT_EQ(r->get<GetattrRes>(2).err(), NFS4ERR_STALE);
  EXPECT_EQ(r->ok_status().err(), NFS4ERR_STALE);
}

TEST(CompoundParse, ResultsMustAnswerTheOpsSentInOrder) {
  Wire w;
  w.u32(NFS4_OK).str("").u32(3);
  sequence_ok(w);
  w.u32(OP_PUTROOTFH).u32(NFS4_OK);  // we sent PUTFH
  w.u32(OP_GETATTR).u32(NFS4_OK);
  fattr(w);
  EXPECT_EQ(CompoundReply::parse(w.bytes(), 0, kSent).err(), EBADMSG);
  // Without a sent list the same bytes parse.
  EXPECT_TRUE(CompoundReply::parse(w.bytes(), 0));
}

TEST(CompoundParse, InconsistentStatusesAreRejected) {
  Wire ok_but_short;  // status OK, but only 2 of 3 results
  ok_but_short.u32(NFS4_OK).str("").u32(2);
  sequence_ok(ok_but_short);
  ok_but_short.u32(OP_PUTFH).u32(NFS4_OK);
  EXPECT_EQ(CompoundReply::parse(ok_but_short.bytes(), 0, kSent).err(), EBADMSG);

  Wire mismatch;  // compound status differs from the last op's
  mismatch.u32(NFS4ERR_IO).str("").u32(2);
  sequence_ok(mismatch);
  mismatch.u32(OP_PUTFH).u32(NFS4ERR_STALE);
  EXPECT_EQ(CompoundReply::parse(mismatch.bytes(), 0, kSent).err(), EBADMSG);
}

TEST(CompoundParse, LockDeniedCarriesTheConflictingLock) {
  Wire w;
  w.u32(NFS4ERR_DENIED).str("").u32(3);
  sequence_ok(w);
  w.u32(OP_PUTFH).u32(NFS4_OK);
  w.u32(OP_LOCK).u32(NFS4ERR_DENIED).u64(100).u64(50).u32(WRITE_LT).u64(77).str("other");
  auto r =
      CompoundReply::parse(w.bytes(), 0, std::vector<uint32_t>{OP_SEQUENCE, OP_PUTFH, OP_LOCK});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get<LockRes>(2).err(), NFS4ERR_DENIED);
  auto body = r->body<LockRes>(2);
  ASSERT_TRUE(body);
  ASSERT_TRUE(body->denied);
  EXPECT_EQ(body->denied->offset, 100u);
  EXPECT_EQ(body->denied->length, 50u);
  EXPECT_EQ(body->denied->clientid, 77u);
  EXPECT_EQ(std::string(body->denied->owner.begin(), body->denied->owner.end()), "other");
}

TEST(CompoundParse, ReaddirEntriesAndEof) {
  Wire w;
  w.u32(NFS4_OK).str("").u32(3);
  sequence_ok(w);
  w.u32(OP_PUTFH).u32(NFS4_OK);
  w.u32(OP_READDIR).u32(NFS4_OK).fixed({1, 1, 1, 1, 1, 1, 1, 1});
  for (int i = 0; i < 3; i++) {
    w.u32(1).u64(10 + i).str("name" + std::to_string(i));
    w.u32(1).u32(1u << FATTR4_FILEID).u32(8).u64(500 + i);
  }
  w.u32(0).u32(1);  // no more entries, eof
  auto r =
      CompoundReply::parse(w.bytes(), 0, std::vector<uint32_t>{OP_SEQUENCE, OP_PUTFH, OP_READDIR});
  ASSERT_TRUE(r);
  auto rd = r->get<ReaddirRes>(2);
  ASSERT_TRUE(rd);
  ASSERT_EQ(rd->entries.size(), 3u);
  EXPECT_EQ(rd->entries[2].name, "name2");
  EXPECT_EQ(rd->entries[2].cookie, 12u);
  EXPECT_EQ(rd->entries[2].attrs.fileid, 502u);
  EXPECT_TRUE(rd->eof);
}

std::vector<uint8_t> read_reply(const std::vector<uint8_t>& data, bool eof) {
  Wire w;
  w.u32(NFS4_OK).str("").u32(3);
  sequence_ok(w);
  w.u32(OP_PUTFH).u32(NFS4_OK);
  w.u32(OP_READ).u32(NFS4_OK).u32(eof ? 1 : 0).u32(static_cast<uint32_t>(data.size())).raw(data);
  while (w.size() % 4) w.raw({0});
  return w.bytes();
}

const std::vector<uint32_t> kSentRead{OP_SEQUENCE, OP_PUTFH, OP_READ};

TEST(CompoundParse, ReadViewPointsIntoTheReplyAndMatchesReadRes) {
  std::vector<uint8_t> data(1001);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 7);
  auto r = CompoundReply::parse(read_reply(data, true), 0, kSentRead);
  ASSERT_TRUE(r) << status_name(r.err());
  auto view = r->get<ReadView>(2);
  auto copy = r->get<ReadRes>(2);
  ASSERT_TRUE(view);
  ASSERT_TRUE(copy);
  EXPECT_TRUE(view->eof);
  EXPECT_TRUE(copy->eof);
  EXPECT_EQ(std::vector<uint8_t>(view->data.begin(), view->data.end()), data);
  EXPECT_EQ(copy->data, data);
  auto bytes = r->bytes();
  EXPECT_GE(view->data.data(), bytes.data());
  EXPECT_LE(view->data.data() + view->data.size(), bytes.data() + bytes.size());
}

TEST(CompoundParse, ReleasedBufferIsTheRecordAndLeavesNoResults) {
  std::vector<uint8_t> raw = read_reply({1, 2, 3}, false);
  const uint8_t* at = raw.data();
  auto r = CompoundReply::parse(std::move(raw), 0, kSentRead);
  ASSERT_TRUE(r);
  std::vector<uint8_t> buf = r->release_buffer();
  EXPECT_EQ(buf.data(), at);
  EXPECT_EQ(r->size(), 0u);
  EXPECT_EQ(r->get<ReadView>(2).err(), EBADMSG);  // the compound's status was OK
  EXPECT_TRUE(r->bytes().empty());
}

// parse() walks a fattr4 without decoding its values; a value that does not
// decode is an error when the result is asked for.
TEST(CompoundParse, BadAttributeValuesFailTheResultNotTheWalk) {
  Wire w;
  w.u32(NFS4_OK).str("").u32(3);
  sequence_ok(w);
  w.u32(OP_PUTFH).u32(NFS4_OK);
  w.u32(OP_GETATTR).u32(NFS4_OK);
  w.u32(1).u32((1u << FATTR4_TYPE) | (1u << FATTR4_SIZE));
  w.u32(4).u32(NF4REG);  // size missing from attr_vals
  auto r = CompoundReply::parse(w.bytes(), 0, kSent);
  ASSERT_TRUE(r) << status_name(r.err());
  EXPECT_EQ(r->get<GetattrRes>(2).err(), EBADMSG);
}

TEST(CompoundParse, ManyReaddirEntriesAcrossBitmapWords) {
  Wire w;
  w.u32(NFS4_OK).str("").u32(3);
  sequence_ok(w);
  w.u32(OP_PUTFH).u32(NFS4_OK);
  w.u32(OP_READDIR).u32(NFS4_OK).fixed({1, 1, 1, 1, 1, 1, 1, 1});
  constexpr int kEntries = 1000;
  for (int i = 0; i < kEntries; i++) {
    w.u32(1).u64(100 + i).str("e" + std::to_string(i));
    // type (word 0), mode and owner (word 1), mounted_on_fileid (word 1).
    w.u32(2).u32(1u << FATTR4_TYPE);
    w.u32((1u << (FATTR4_MODE - 32)) | (1u << (FATTR4_OWNER - 32)) |
          (1u << (FATTR4_MOUNTED_ON_FILEID - 32)));
    Wire vals;
    vals.u32(NF4REG).u32(0600 + i % 8).str("u" + std::to_string(i)).u64(9000 + i);
    w.u32(static_cast<uint32_t>(vals.size())).raw(vals.bytes());
  }
  w.u32(0).u32(0);  // no more entries, not eof
  auto r =
      CompoundReply::parse(w.bytes(), 0, std::vector<uint32_t>{OP_SEQUENCE, OP_PUTFH, OP_READDIR});
  ASSERT_TRUE(r);
  auto rd = r->get<ReaddirRes>(2);
  ASSERT_TRUE(rd);
  ASSERT_EQ(rd->entries.size(), static_cast<size_t>(kEntries));
  EXPECT_FALSE(rd->eof);
  const DirEntry& e = rd->entries[kEntries - 1];
  EXPECT_EQ(e.cookie, 100u + kEntries - 1);
  EXPECT_EQ(e.name, "e999");
  EXPECT_EQ(e.attrs.type, NF4REG);
  EXPECT_EQ(e.attrs.mode, 0600u + 999 % 8);
  EXPECT_EQ(e.attrs.owner, "u999");
  EXPECT_EQ(e.attrs.mounted_on_fileid, 9999u);
  EXPECT_FALSE(e.attrs.undecoded.has_value());
}

TEST(CompoundParse, UnknownOpIsAcceptedOnlyAsTheLastResult) {
  Wire last;
  last.u32(NFS4_OK).str("").u32(2);
  sequence_ok(last);
  last.u32(9999).u32(NFS4_OK).u32(1).u32(2);
  auto r = CompoundReply::parse(last.bytes(), 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at(1).body_size, 8u);

  Wire middle;
  middle.u32(NFS4_OK).str("").u32(3);
  middle.u32(9999).u32(NFS4_OK).u32(1);
  middle.u32(OP_PUTFH).u32(NFS4_OK);
  EXPECT_EQ(CompoundReply::parse(middle.bytes(), 0).err(), EBADMSG);
}

TEST(CompoundParse, OpenResultWithNoneExtDelegation) {
  Wire w;
  w.u32(NFS4_OK).str("").u32(1);
  w.u32(OP_OPEN).u32(NFS4_OK);
  w.u32(1).fixed({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});  // stateid
  w.u32(1).u64(1).u64(2);                                   // cinfo
  w.u32(OPEN4_RESULT_LOCKTYPE_POSIX).u32(0);                // rflags, attrset
  w.u32(OPEN_DELEGATE_NONE_EXT).u32(WND4_CONTENTION).u32(0);
  auto r = CompoundReply::parse(w.bytes(), 0);
  ASSERT_TRUE(r);
  auto open = r->get<OpenRes>(0);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->stateid.seqid, 1u);
  EXPECT_EQ(open->stateid.other[11], 12);
  EXPECT_EQ(open->delegation_type, OPEN_DELEGATE_NONE_EXT);
  EXPECT_EQ(open->why_no_delegation, WND4_CONTENTION);
}

TEST(RpcReplyParse, AcceptedSuccessPointsAtResults) {
  Wire w;
  w.words({77, rpc::REPLY, rpc::MSG_ACCEPTED, rpc::AUTH_NONE, 0, rpc::SUCCESS, 0xabcd});
  uint32_t xid = 0;
  auto off = parse_rpc_reply(w.bytes(), &xid);
  ASSERT_TRUE(off);
  EXPECT_EQ(*off, 24u);
  EXPECT_EQ(xid, 77u);
}

TEST(RpcReplyParse, RejectionsMapToErrnos) {
  Wire denied;
  denied.words({1, rpc::REPLY, rpc::MSG_DENIED, rpc::AUTH_ERROR, rpc::AUTH_TOOWEAK});
  EXPECT_EQ(parse_rpc_reply(denied.bytes()).err(), EACCES);
  Wire unavail;
  unavail.words({1, rpc::REPLY, rpc::MSG_ACCEPTED, 0, 0, rpc::PROG_UNAVAIL});
  EXPECT_EQ(parse_rpc_reply(unavail.bytes()).err(), EPROTO);
  Wire call;
  call.words({1, rpc::CALL, 2});
  EXPECT_EQ(parse_rpc_reply(call.bytes()).err(), EBADMSG);
  Wire good;
  good.words({1, rpc::REPLY, rpc::MSG_ACCEPTED, 0, 0, rpc::SUCCESS});
  for (size_t len = 0; len < good.size(); len++) {
    std::span<const uint8_t> cut(good.bytes().data(), len);
    EXPECT_FALSE(parse_rpc_reply(cut)) << len;
  }
}

}  // namespace
}  // namespace pnfsgw::client

namespace pnfsgw::client {
namespace {

// Every result decoder in the op table survives random bodies, with the
// statuses that carry bodies and with plain success.
TEST(OpTable, EveryResultDecoderSurvivesRandomBodies) {
  std::mt19937 rng(1234);
  const uint32_t statuses[] = {nfs4::NFS4_OK, nfs4::NFS4ERR_DENIED, nfs4::NFS4ERR_LAYOUTTRYLATER,
                               nfs4::NFS4ERR_TOOSMALL, nfs4::NFS4ERR_CLID_INUSE};
  for (const OpInfo& info : op_table()) {
    for (int iter = 0; iter < 500; iter++) {
      std::vector<uint8_t> buf(rng() % 96);
      for (auto& b : buf) b = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : rng() % 3);
      for (uint32_t st : statuses) {
        XdrDecoder dec(buf.data(), buf.size());
        info.skip(dec, st);
        EXPECT_LE(dec.remaining(), buf.size()) << info.name;
      }
    }
  }
}

TEST(OpTable, NamesAndLookups) {
  EXPECT_EQ(op_name(nfs4::OP_OPEN), "OPEN");
  EXPECT_EQ(op_name(nfs4::OP_SEQUENCE), "SEQUENCE");
  EXPECT_EQ(op_name(4242), "OP_4242");
  EXPECT_STREQ(status_name(nfs4::NFS4ERR_SEQ_MISORDERED), "NFS4ERR_SEQ_MISORDERED");
  EXPECT_STREQ(status_name(ETIMEDOUT), "ETIMEDOUT");
  for (const OpInfo& info : op_table()) EXPECT_EQ(find_op(info.op), &info);
  for (uint32_t op : {0u, 1u, 2u, 127u, 128u, 4242u}) EXPECT_EQ(find_op(op), nullptr) << op;
}

}  // namespace
}  // namespace pnfsgw::client
