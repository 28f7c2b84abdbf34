// The backchannel handler answers canned CB_COMPOUNDs as RFC 8881 20 says.
#include "client/callback_service.h"

#include <gtest/gtest.h>

#include "tests/unit/client/wire_util.h"

namespace pnfsgw::client {
namespace {
using namespace nfs4;
using test::Wire;

constexpr uint32_t kProg = 0x40000123;
const SessionId kSid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

void sid(Wire& w, const SessionId& s = kSid) {
  w.fixed({s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], s[12], s[13],
           s[14], s[15]});
}

// CB_COMPOUND header + CB_SEQUENCE(seqid, slot) + extra ops appended by the caller.
Wire cb_compound(uint32_t nops, uint32_t seqid, uint32_t slot, const SessionId& s = kSid) {
  Wire w;
  w.str("cbtag").u32(1).u32(0).u32(nops);
  w.u32(OP_CB_SEQUENCE);
  sid(w, s);
  w.u32(seqid).u32(slot).u32(0).u32(0).u32(0);  // highest, cachethis, no referring lists
  return w;
}

std::vector<uint8_t> run(CallbackService& svc, const Wire& args) {
  XdrDecoder dec(args.bytes().data(), args.size());
  XdrEncoder out;
  EXPECT_EQ(svc.handle_compound(dec, out), rpc::SUCCESS);
  return out.take();
}

class CallbackServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { svc_.set_session(kSid, 2); }
  CallbackService svc_{kProg};
};

TEST_F(CallbackServiceTest, CbSequenceIsAnsweredWithSessionSeqidAndSlot) {
  std::vector<uint8_t> reply = run(svc_, cb_compound(1, 1, 1));
  Wire want;
  want.u32(NFS4_OK).str("cbtag").u32(1);
  want.u32(OP_CB_SEQUENCE).u32(NFS4_OK);
  sid(want);
  want.u32(1).u32(1).u32(1).u32(1);  // seqid, slot, highest, target highest
  EXPECT_EQ(reply, want.bytes());
  CbCounters c = svc_.counters();
  EXPECT_EQ(c.cb_compound, 1u);
  EXPECT_EQ(c.cb_sequence, 1u);
  EXPECT_EQ(c.cb_sequence_ok, 1u);
}

TEST_F(CallbackServiceTest, RetryOfTheSameSeqidGetsTheCachedReplyByteForByte) {
  std::vector<uint8_t> first = run(svc_, cb_compound(1, 1, 0));
  std::vector<uint8_t> again = run(svc_, cb_compound(1, 1, 0));
  EXPECT_EQ(first, again);
  EXPECT_EQ(svc_.counters().cb_sequence_replays, 1u);
  // The next seqid is a new request.
  std::vector<uint8_t> next = run(svc_, cb_compound(1, 2, 0));
  XdrDecoder dec(next.data(), next.size());
  EXPECT_EQ(dec.u32(), NFS4_OK);
}

uint32_t first_op_status(const std::vector<uint8_t>& reply, uint32_t* op = nullptr) {
  XdrDecoder dec(reply.data(), reply.size());
  dec.u32();
  dec.string(1024);
  if (dec.u32() == 0) return 0xffffffffu;
  uint32_t o = dec.u32();
  if (op) *op = o;
  return dec.u32();
}

TEST_F(CallbackServiceTest, MisorderedSeqidBadSlotAndBadSessionAreRefused) {
  EXPECT_EQ(first_op_status(run(svc_, cb_compound(1, 5, 0))), NFS4ERR_SEQ_MISORDERED);
  EXPECT_EQ(first_op_status(run(svc_, cb_compound(1, 1, 2))), NFS4ERR_BADSLOT);
  SessionId other = kSid;
  other[0] ^= 0xff;
  EXPECT_EQ(first_op_status(run(svc_, cb_compound(1, 1, 0, other))), NFS4ERR_BADSESSION);
  // A never-used slot retried at seqid 0 has nothing cached.
  EXPECT_EQ(first_op_status(run(svc_, cb_compound(1, 0, 0))), NFS4ERR_RETRY_UNCACHED_REP);
}

TEST_F(CallbackServiceTest, OpWithoutCbSequenceFirstIsNotInSession) {
  Wire w;
  w.str("").u32(1).u32(0).u32(1).u32(OP_CB_RECALL_ANY).u32(0).u32(0);
  uint32_t op = 0;
  EXPECT_EQ(first_op_status(run(svc_, w), &op), NFS4ERR_OP_NOT_IN_SESSION);
  EXPECT_EQ(op, OP_CB_RECALL_ANY);
}

TEST_F(CallbackServiceTest, UnknownValidOpIsNotsuppAndIllegalOpIsOpIllegal) {
  Wire w = cb_compound(2, 1, 0);
  w.u32(OP_CB_RECALL_ANY).u32(0).u32(0);
  std::vector<uint8_t> reply = run(svc_, w);
  XdrDecoder dec(reply.data(), reply.size());
  EXPECT_EQ(dec.u32(), NFS4ERR_NOTSUPP);
  dec.string(1024);
  EXPECT_EQ(dec.u32(), 2u);
  EXPECT_EQ(dec.u32(), OP_CB_SEQUENCE);
  EXPECT_EQ(dec.u32(), NFS4_OK);
  dec.skip(16 + 16);
  EXPECT_EQ(dec.u32(), OP_CB_RECALL_ANY);
  EXPECT_EQ(dec.u32(), NFS4ERR_NOTSUPP);
  EXPECT_EQ(dec.remaining(), 0u);

  Wire bad = cb_compound(2, 2, 0);
  bad.u32(99);
  reply = run(svc_, bad);
  XdrDecoder d2(reply.data(), reply.size());
  EXPECT_EQ(d2.u32(), NFS4ERR_OP_ILLEGAL);
  d2.string(1024);
  EXPECT_EQ(d2.u32(), 2u);
  d2.skip(8 + 32);
  EXPECT_EQ(d2.u32(), OP_CB_ILLEGAL);
  EXPECT_EQ(d2.u32(), NFS4ERR_OP_ILLEGAL);
}

TEST_F(CallbackServiceTest, HookSeesLayoutRecallArguments) {
  CbLayoutRecall seen;
  svc_.set_op_hook([&](uint32_t op, XdrDecoder& args, XdrEncoder&) -> uint32_t {
    if (op != OP_CB_LAYOUTRECALL) return NFS4ERR_NOTSUPP;
    return seen.decode(args) ? NFS4_OK : NFS4ERR_BADXDR;
  });
  Wire w = cb_compound(2, 1, 0);
  w.u32(OP_CB_LAYOUTRECALL).u32(3 /*block*/).u32(2 /*RW*/).u32(1);
  w.u32(1).u32(4).fixed({0xde, 0xad, 0xbe, 0xef}).u64(4096).u64(8192);
  w.u32(2).fixed({7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7});
  std::vector<uint8_t> reply = run(svc_, w);
  XdrDecoder dec(reply.data(), reply.size());
  EXPECT_EQ(dec.u32(), NFS4_OK);
  EXPECT_EQ(seen.layout_type, 3u);
  EXPECT_EQ(seen.recall_type, 1u);
  EXPECT_EQ(seen.fh.data, (std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}));
  EXPECT_EQ(seen.offset, 4096u);
  EXPECT_EQ(seen.length, 8192u);
  EXPECT_EQ(seen.stateid.seqid, 2u);
  EXPECT_EQ(svc_.counters().ops.at(OP_CB_LAYOUTRECALL), 1u);
}

TEST_F(CallbackServiceTest, TruncatedArgumentsAreGarbageOrBadXdrNeverACrash) {
  Wire full = cb_compound(1, 1, 0);
  for (size_t len = 0; len < full.size(); len++) {
    CallbackService svc(kProg);
    svc.set_session(kSid, 1);
    XdrDecoder dec(full.bytes().data(), len);
    XdrEncoder out;
    rpc::AcceptStat st = svc.handle_compound(dec, out);
    if (st == rpc::SUCCESS) {
      XdrDecoder rd(out.data(), out.size());
      EXPECT_NE(rd.u32(), NFS4_OK) << len;
    }
  }
}

TEST_F(CallbackServiceTest, CbNullAndProgramChecks) {
  rpc::CallHeader hdr;
  hdr.prog = kProg;
  hdr.vers = 1;
  hdr.proc = kCbProcNull;
  XdrDecoder none;
  XdrEncoder out;
  EXPECT_EQ(svc_.handle_call(hdr, none, out), rpc::SUCCESS);
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(svc_.counters().cb_null, 1u);
  hdr.vers = 4;
  EXPECT_EQ(svc_.handle_call(hdr, none, out), rpc::PROG_MISMATCH);
  hdr.vers = 1;
  hdr.prog = kNfsProgram;
  EXPECT_EQ(svc_.handle_call(hdr, none, out), rpc::PROG_UNAVAIL);
  hdr.prog = kProg;
  hdr.proc = 9;
  EXPECT_EQ(svc_.handle_call(hdr, none, out), rpc::PROC_UNAVAIL);
}

TEST_F(CallbackServiceTest, MinorVersionThreeIsAMismatchWithNoResults) {
  Wire w;
  w.str("x").u32(3).u32(0).u32(0);
  std::vector<uint8_t> reply = run(svc_, w);
  Wire want;
  want.u32(NFS4ERR_MINOR_VERS_MISMATCH).str("x").u32(0);
  EXPECT_EQ(reply, want.bytes());
}

}  // namespace
}  // namespace pnfsgw::client
