// Open and lock state transitions (RFC 8881 9, 18.10-18.18).
#include <gtest/gtest.h>

#include <limits>

#include "gateway/nfs4/open_state.h"

namespace pnfsgw::nfs4 {
namespace {

constexpr uint64_t kIno = 42;
constexpr uint64_t kAll = std::numeric_limits<uint64_t>::max();

struct OpenStateTest : ::testing::Test {
  OpenState st{0x1234};
  Stateid4 open(uint64_t client, const char* owner, uint32_t access = OPEN4_SHARE_ACCESS_BOTH,
                uint32_t deny = OPEN4_SHARE_DENY_NONE) {
    Stateid4 s;
    EXPECT_EQ(st.open(client, owner, kIno, access, deny, &s), NFS4_OK);
    return s;
  }
};

TEST_F(OpenStateTest, ShareDenyBlocksConflictingOpensOfOtherOwners) {
  open(1, "a", OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_WRITE);
  Stateid4 s;
  EXPECT_EQ(st.open(2, "b", kIno, OPEN4_SHARE_ACCESS_WRITE, 0, &s), NFS4ERR_SHARE_DENIED);
  EXPECT_EQ(st.open(2, "b", kIno, OPEN4_SHARE_ACCESS_READ, 0, &s), NFS4_OK);
  // And a deny can't be taken over access another owner already has.
  EXPECT_EQ(st.open(3, "c", kIno, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_READ, &s),
            NFS4ERR_SHARE_DENIED);
}

TEST_F(OpenStateTest, ReopenBySameOwnerUpgradesAndBumpsSeqid) {
  Stateid4 a = open(1, "a", OPEN4_SHARE_ACCESS_READ);
  Stateid4 b = open(1, "a", OPEN4_SHARE_ACCESS_WRITE);
  EXPECT_EQ(a.other, b.other);
  EXPECT_EQ(b.seqid, a.seqid + 1);
  EXPECT_EQ(st.check_io(b, kIno, true), NFS4_OK);
  EXPECT_EQ(st.check_io(a, kIno, false), NFS4ERR_OLD_STATEID);
}

TEST_F(OpenStateTest, WriteThroughAReadOnlyOpenIsOpenmode) {
  Stateid4 a = open(1, "a", OPEN4_SHARE_ACCESS_READ);
  EXPECT_EQ(st.check_io(a, kIno, true), NFS4ERR_OPENMODE);
  EXPECT_EQ(st.check_io(a, kIno, false), NFS4_OK);
}

TEST_F(OpenStateTest, StateidsAreBoundToTheirFileAndServerInstance) {
  Stateid4 a = open(1, "a");
  EXPECT_EQ(st.check_io(a, kIno + 1, false), NFS4ERR_BAD_STATEID);
  OpenState rebooted(0x9999);
  EXPECT_EQ(rebooted.check_io(a, kIno, false), NFS4ERR_STALE_STATEID);
  Stateid4 future = a;
  future.seqid += 5;
  EXPECT_EQ(st.check_io(future, kIno, false), NFS4ERR_BAD_STATEID);
  Stateid4 current = a;
  current.seqid = 0;  // "whatever is current"
  EXPECT_EQ(st.check_io(current, kIno, false), NFS4_OK);
}

TEST_F(OpenStateTest, AnonymousIoRespectsShareDeny) {
  Stateid4 anon;
  EXPECT_EQ(st.check_io(anon, kIno, true), NFS4_OK);
  open(1, "a", OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_WRITE);
  EXPECT_EQ(st.check_io(anon, kIno, true), NFS4ERR_LOCKED);
  EXPECT_EQ(st.check_io(anon, kIno, false), NFS4_OK);
}

TEST_F(OpenStateTest, DowngradeMustBeASubsetAndCloseEndsTheState) {
  Stateid4 a = open(1, "a", OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE);
  Stateid4 b;
  EXPECT_EQ(st.open_downgrade(a, kIno, OPEN4_SHARE_ACCESS_BOTH, 0, &b), NFS4ERR_INVAL);
  a = open(1, "a", OPEN4_SHARE_ACCESS_WRITE);
  ASSERT_EQ(st.open_downgrade(a, kIno, OPEN4_SHARE_ACCESS_READ, 0, &b), NFS4_OK);
  EXPECT_EQ(st.check_io(b, kIno, true), NFS4ERR_OPENMODE);
  Stateid4 c;
  ASSERT_EQ(st.close(b, kIno, &c), NFS4_OK);
  EXPECT_EQ(st.check_io(b, kIno, false), NFS4ERR_BAD_STATEID);
  EXPECT_EQ(st.close(b, kIno, &c), NFS4ERR_BAD_STATEID);
}

TEST_F(OpenStateTest, ConflictingLocksAreDeniedWithTheHolder) {
  Stateid4 oa = open(1, "a");
  Stateid4 ob = open(2, "b");
  Stateid4 la, lb;
  LockDenied d;
  ASSERT_EQ(st.lock_new_owner(oa, kIno, "la", WRITE_LT, 100, 50, &la, &d), NFS4_OK);
  EXPECT_EQ(st.lock_new_owner(ob, kIno, "lb", READ_LT, 120, 1, &lb, &d), NFS4ERR_DENIED);
  EXPECT_EQ(d.offset, 100u);
  EXPECT_EQ(d.length, 50u);
  EXPECT_EQ(d.type, static_cast<uint32_t>(WRITE_LT));
  EXPECT_EQ(d.clientid, 1u);
  EXPECT_EQ(d.owner, "la");
  EXPECT_EQ(st.lock_new_owner(ob, kIno, "lb", WRITE_LT, 150, 10, &lb, &d), NFS4_OK);
  EXPECT_EQ(st.lockt(kIno, 2, "lb2", READ_LT, 0, kAll, &d), NFS4ERR_DENIED);
  EXPECT_EQ(st.lockt(kIno, 1, "la", WRITE_LT, 100, 50, &d), NFS4_OK);  // own lock
}

TEST_F(OpenStateTest, ReadLocksShareAndUnlockSplitsRanges) {
  Stateid4 oa = open(1, "a");
  Stateid4 ob = open(2, "b");
  Stateid4 la, lb, out;
  LockDenied d;
  ASSERT_EQ(st.lock_new_owner(oa, kIno, "la", READ_LT, 0, 100, &la, &d), NFS4_OK);
  ASSERT_EQ(st.lock_new_owner(ob, kIno, "lb", READ_LT, 50, 100, &lb, &d), NFS4_OK);
  ASSERT_EQ(st.locku(lb, kIno, 50, 100, &out), NFS4_OK);
  // a's lock [0,100): unlock the middle, the ends stay.
  ASSERT_EQ(st.locku(la, kIno, 40, 20, &out), NFS4_OK);
  EXPECT_EQ(st.lockt(kIno, 2, "x", WRITE_LT, 45, 10, &d), NFS4_OK);
  EXPECT_EQ(st.lockt(kIno, 2, "x", WRITE_LT, 0, 40, &d), NFS4ERR_DENIED);
  EXPECT_EQ(st.lockt(kIno, 2, "x", WRITE_LT, 60, 40, &d), NFS4ERR_DENIED);
  EXPECT_EQ(st.lockt(kIno, 2, "x", WRITE_LT, 100, kAll, &d), NFS4_OK);
}

TEST_F(OpenStateTest, ZeroLengthOrOverflowingRangesAreInvalid) {
  Stateid4 oa = open(1, "a");
  Stateid4 la;
  LockDenied d;
  EXPECT_EQ(st.lock_new_owner(oa, kIno, "la", WRITE_LT, 0, 0, &la, &d), NFS4ERR_INVAL);
  EXPECT_EQ(st.lock_new_owner(oa, kIno, "la", WRITE_LT, kAll - 1, 10, &la, &d), NFS4ERR_INVAL);
  EXPECT_EQ(st.lock_new_owner(oa, kIno, "la", WRITE_LT, kAll - 1, kAll, &la, &d), NFS4_OK);
}

TEST_F(OpenStateTest, WriteLockNeedsAnOpenForWriting) {
  Stateid4 oa = open(1, "a", OPEN4_SHARE_ACCESS_READ);
  Stateid4 la;
  LockDenied d;
  EXPECT_EQ(st.lock_new_owner(oa, kIno, "la", WRITE_LT, 0, 1, &la, &d), NFS4ERR_OPENMODE);
  EXPECT_EQ(st.lock_new_owner(oa, kIno, "la", READ_LT, 0, 1, &la, &d), NFS4_OK);
}

TEST_F(OpenStateTest, CloseWithLocksHeldIsRefusedAndFreeStateidToo) {
  Stateid4 oa = open(1, "a");
  Stateid4 la, out;
  LockDenied d;
  ASSERT_EQ(st.lock_new_owner(oa, kIno, "la", WRITE_LT, 0, 10, &la, &d), NFS4_OK);
  EXPECT_EQ(st.close(oa, kIno, &out), NFS4ERR_LOCKS_HELD);
  EXPECT_EQ(st.free_stateid(la), NFS4ERR_LOCKS_HELD);
  EXPECT_EQ(st.free_stateid(oa), NFS4ERR_LOCKS_HELD);
  ASSERT_EQ(st.locku(la, kIno, 0, 10, &out), NFS4_OK);
  EXPECT_EQ(st.free_stateid(out), NFS4_OK);
  EXPECT_EQ(st.test_stateid(1, out), NFS4ERR_BAD_STATEID);
  EXPECT_EQ(st.close(oa, kIno, &out), NFS4_OK);
}

TEST_F(OpenStateTest, TestStateidReportsPerStateidStatus) {
  Stateid4 oa = open(1, "a");
  EXPECT_EQ(st.test_stateid(1, oa), NFS4_OK);
  EXPECT_EQ(st.test_stateid(2, oa), NFS4ERR_BAD_STATEID);  // another client's
  Stateid4 old = oa;
  open(1, "a");
  EXPECT_EQ(st.test_stateid(1, old), NFS4ERR_OLD_STATEID);
  EXPECT_EQ(st.test_stateid(1, Stateid4{}), NFS4ERR_BAD_STATEID);
}

TEST_F(OpenStateTest, ReleasingAClientDropsItsOpensAndLocks) {
  Stateid4 oa = open(1, "a", OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_BOTH);
  Stateid4 la;
  LockDenied d;
  ASSERT_EQ(st.lock_new_owner(oa, kIno, "la", WRITE_LT, 0, kAll, &la, &d), NFS4_OK);
  st.release_client(1);
  EXPECT_EQ(st.check_io(oa, kIno, false), NFS4ERR_BAD_STATEID);
  Stateid4 ob = open(2, "b");
  Stateid4 lb;
  EXPECT_EQ(st.lock_new_owner(ob, kIno, "lb", WRITE_LT, 0, kAll, &lb, &d), NFS4_OK);
}

TEST_F(OpenStateTest, V40OwnerSeqidReplaysTheLastReplyAndRejectsGaps) {
  std::vector<uint8_t> reply;
  EXPECT_EQ(st.check_seqid(1, "o", false, 7, &reply), OpenState::SeqCheck::kNew);
  st.record_seqid(1, "o", false, 7, {0, 0, 0, 0, 9});
  EXPECT_EQ(st.check_seqid(1, "o", false, 7, &reply), OpenState::SeqCheck::kReplay);
  EXPECT_EQ(reply, (std::vector<uint8_t>{0, 0, 0, 0, 9}));
  EXPECT_EQ(st.check_seqid(1, "o", false, 8, &reply), OpenState::SeqCheck::kNew);
  EXPECT_EQ(st.check_seqid(1, "o", false, 10, &reply), OpenState::SeqCheck::kBad);
  EXPECT_EQ(st.check_seqid(1, "o", true, 10, &reply), OpenState::SeqCheck::kNew);  // lock owner
}

}  // namespace
}  // namespace pnfsgw::nfs4
