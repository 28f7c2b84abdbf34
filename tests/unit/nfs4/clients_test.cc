// Session slot and reply-cache rules (RFC 8881 2.10.6), client ID
// confirmation (18.35, 18.36), and lease expiry on a controlled clock.
#include <gtest/gtest.h>

#include "gateway/nfs4/clients.h"

namespace pnfsgw::nfs4 {
namespace {

class FakeConn : public rpc::RpcConnection {
 public:
  uint64_t id() const override { return 1; }
  bool is_open() const override { return open; }
  std::string peer() const override { return "test"; }
  void send_call(uint32_t, uint32_t, uint32_t, const rpc::AuthSysParams*, std::vector<uint8_t>,
                 std::chrono::milliseconds, ReplyHandler done) override {
    done(Result<std::vector<uint8_t>>::error(ECONNRESET));
  }
  void close() override { open = false; }
  bool open = true;
};

ChannelAttrs attrs(uint32_t slots) {
  ChannelAttrs a;
  a.maxrequestsize = a.maxresponsesize = 1 << 20;
  a.maxresponsesize_cached = 4096;
  a.maxoperations = 16;
  a.maxrequests = slots;
  return a;
}

struct Fixture : ::testing::Test {
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  ClientTable table{[this] {
    ClientTable::Options o;
    o.lease = std::chrono::seconds(90);
    o.max_slots = 8;
    o.now = [this] { return now; };
    return o;
  }()};
  std::shared_ptr<FakeConn> conn = std::make_shared<FakeConn>();

  uint64_t new_client(const std::string& owner, uint8_t verf = 1) {
    ExchangeIdResult r;
    Verifier v{};
    v[0] = verf;
    EXPECT_EQ(table.exchange_id(owner, v, 0, 0, &r), NFS4_OK);
    return r.clientid;
  }
  std::shared_ptr<Session> new_session(uint64_t clientid, uint32_t seq = 1, uint32_t slots = 4) {
    std::shared_ptr<Session> s;
    std::vector<uint8_t> cached;
    std::vector<uint64_t> replaced;
    EXPECT_EQ(table.create_session(clientid, seq, CREATE_SESSION4_FLAG_CONN_BACK_CHAN, attrs(slots),
                                   attrs(1), 0x40000000, nullptr, conn, &s, &cached, &replaced),
              NFS4_OK);
    return s;
  }
};

TEST_F(Fixture, NewRequestThenRetryReturnsTheCachedReplyByteForByte) {
  auto s = new_session(new_client("a"));
  SequenceResult r = table.sequence(s->id, 1, 0, 0, conn);
  ASSERT_EQ(r.status, NFS4_OK);
  EXPECT_FALSE(r.replay);
  std::vector<uint8_t> reply = {1, 2, 3, 4};
  table.finish_slot(*s, 0, true, reply);
  SequenceResult again = table.sequence(s->id, 1, 0, 0, conn);
  ASSERT_EQ(again.status, NFS4_OK);
  EXPECT_TRUE(again.replay);
  EXPECT_EQ(again.reply, reply);
}

TEST_F(Fixture, RetryWhileTheOriginalRunsAnswersDelay) {
  auto s = new_session(new_client("a"));
  ASSERT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4_OK);
  EXPECT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4ERR_DELAY);
}

TEST_F(Fixture, RetryOfAnUncachedReplyAnswersRetryUncachedRep) {
  auto s = new_session(new_client("a"));
  ASSERT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4_OK);
  table.finish_slot(*s, 0, false, {});
  EXPECT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4ERR_RETRY_UNCACHED_REP);
}

// A COMPOUND begun on an event loop that goes on to the pool gives its slot
// back: its SEQUENCE then runs again as the same new request, and a retry
// of the request before still gets that one's reply.
TEST_F(Fixture, AnAbandonedSlotTakesTheSameSeqidAgainAndKeepsTheReplyBefore) {
  auto s = new_session(new_client("a"));
  ASSERT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4_OK);
  table.finish_slot(*s, 0, true, {7, 7});
  ASSERT_EQ(table.sequence(s->id, 2, 0, 0, conn).status, NFS4_OK);
  table.abandon_slot(*s, 0);
  SequenceResult before = table.sequence(s->id, 1, 0, 0, conn);
  ASSERT_EQ(before.status, NFS4_OK);
  EXPECT_TRUE(before.replay);
  EXPECT_EQ(before.reply, (std::vector<uint8_t>{7, 7}));
  SequenceResult again = table.sequence(s->id, 2, 0, 0, conn);
  ASSERT_EQ(again.status, NFS4_OK);
  EXPECT_FALSE(again.replay);
  table.finish_slot(*s, 0, true, {8});
  EXPECT_EQ(table.sequence(s->id, 2, 0, 0, conn).reply, (std::vector<uint8_t>{8}));
  // On a slot never used, abandoning leaves it unused.
  ASSERT_EQ(table.sequence(s->id, 1, 1, 1, conn).status, NFS4_OK);
  table.abandon_slot(*s, 1);
  EXPECT_EQ(table.sequence(s->id, 1, 1, 1, conn).status, NFS4_OK);
}

TEST_F(Fixture, SeqidsOtherThanSameOrNextAreMisordered) {
  auto s = new_session(new_client("a"));
  EXPECT_EQ(table.sequence(s->id, 2, 0, 0, conn).status, NFS4ERR_SEQ_MISORDERED);
  EXPECT_EQ(table.sequence(s->id, 0, 0, 0, conn).status, NFS4ERR_SEQ_MISORDERED);
  ASSERT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4_OK);
  table.finish_slot(*s, 0, true, {9});
  EXPECT_EQ(table.sequence(s->id, 3, 0, 0, conn).status, NFS4ERR_SEQ_MISORDERED);
  EXPECT_EQ(table.sequence(s->id, 2, 0, 0, conn).status, NFS4_OK);
}

TEST_F(Fixture, SlotsAreIndependent) {
  auto s = new_session(new_client("a"));
  ASSERT_EQ(table.sequence(s->id, 1, 0, 3, conn).status, NFS4_OK);
  ASSERT_EQ(table.sequence(s->id, 1, 3, 3, conn).status, NFS4_OK);
  EXPECT_EQ(table.sequence(s->id, 1, 4, 3, conn).status, NFS4ERR_BADSLOT);
}

TEST_F(Fixture, SlotCountIsBoundedByTheServer) {
  auto s = new_session(new_client("a"), 1, 1000);
  EXPECT_EQ(s->slots.size(), 8u);
}

TEST_F(Fixture, UnknownOrDestroyedSessionIsBadSession) {
  auto s = new_session(new_client("a"));
  SessionId other{};
  EXPECT_EQ(table.sequence(other, 1, 0, 0, conn).status, NFS4ERR_BADSESSION);
  EXPECT_EQ(table.destroy_session(s->id, conn.get()), NFS4_OK);
  EXPECT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4ERR_BADSESSION);
  EXPECT_EQ(table.destroy_session(s->id, conn.get()), NFS4ERR_BADSESSION);
}

TEST_F(Fixture, CreateSessionReplayReturnsTheCachedResultAndMisorderIsRejected) {
  uint64_t id = new_client("a");
  new_session(id, 1);
  table.cache_create_session_reply(id, {7, 7, 7, 7});
  std::shared_ptr<Session> s;
  std::vector<uint8_t> cached;
  std::vector<uint64_t> replaced;
  EXPECT_EQ(table.create_session(id, 1, 0, attrs(4), attrs(1), 0, nullptr, conn, &s, &cached,
                                 &replaced),
            NFS4_OK);
  EXPECT_EQ(cached, (std::vector<uint8_t>{7, 7, 7, 7}));
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(table.create_session(id, 5, 0, attrs(4), attrs(1), 0, nullptr, conn, &s, &cached,
                                 &replaced),
            NFS4ERR_SEQ_MISORDERED);
}

TEST_F(Fixture, CreateSessionForUnknownClientIsStaleClientid) {
  std::shared_ptr<Session> s;
  std::vector<uint8_t> cached;
  std::vector<uint64_t> replaced;
  EXPECT_EQ(table.create_session(12345, 1, 0, attrs(4), attrs(1), 0, nullptr, conn, &s, &cached,
                                 &replaced),
            NFS4ERR_STALE_CLIENTID);
}

TEST_F(Fixture, ExchangeIdOfAConfirmedClientReturnsItsIdWithConfirmedFlag) {
  uint64_t id = new_client("a");
  new_session(id);
  ExchangeIdResult r;
  Verifier v{};
  v[0] = 1;
  ASSERT_EQ(table.exchange_id("a", v, 0, 0, &r), NFS4_OK);
  EXPECT_EQ(r.clientid, id);
  EXPECT_TRUE(r.flags & EXCHGID4_FLAG_CONFIRMED_R);
}

TEST_F(Fixture, ARebootedClientGetsANewIdAndItsOldRecordGoesWhenConfirmed) {
  uint64_t old_id = new_client("a", 1);
  auto old_session = new_session(old_id);
  uint64_t new_id = new_client("a", 2);
  EXPECT_NE(new_id, old_id);
  // Until confirmed, the old client still works.
  EXPECT_EQ(table.sequence(old_session->id, 1, 0, 0, conn).status, NFS4_OK);
  table.finish_slot(*old_session, 0, true, {});
  std::shared_ptr<Session> s;
  std::vector<uint8_t> cached;
  std::vector<uint64_t> replaced;
  ASSERT_EQ(table.create_session(new_id, 1, 0, attrs(4), attrs(1), 0, nullptr, conn, &s, &cached,
                                 &replaced),
            NFS4_OK);
  EXPECT_EQ(replaced, std::vector<uint64_t>{old_id});
  EXPECT_EQ(table.sequence(old_session->id, 2, 0, 0, conn).status, NFS4ERR_BADSESSION);
}

TEST_F(Fixture, DestroyClientidWithSessionsIsBusy) {
  uint64_t id = new_client("a");
  auto s = new_session(id);
  EXPECT_EQ(table.destroy_clientid(id), NFS4ERR_CLIENTID_BUSY);
  table.destroy_session(s->id, conn.get());
  EXPECT_EQ(table.destroy_clientid(id), NFS4_OK);
  EXPECT_EQ(table.destroy_clientid(id), NFS4ERR_STALE_CLIENTID);
}

TEST_F(Fixture, ClientsExpireAfterTheLeaseUnlessRenewedBySequence) {
  uint64_t a = new_client("a");
  auto sa = new_session(a);
  uint64_t b = new_client("b");
  new_session(b);
  now += std::chrono::seconds(60);
  ASSERT_EQ(table.sequence(sa->id, 1, 0, 0, conn).status, NFS4_OK);  // renews a
  table.finish_slot(*sa, 0, true, {});
  now += std::chrono::seconds(60);
  auto expired = table.expire_idle();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].first, b);
  EXPECT_EQ(expired[0].second, "b");
  EXPECT_EQ(table.check_client(a, 1), NFS4_OK);
  EXPECT_EQ(table.check_client(b, 1), NFS4ERR_STALE_CLIENTID);
}

TEST_F(Fixture, AClientWithARequestInProgressDoesNotExpire) {
  uint64_t a = new_client("a");
  auto s = new_session(a);
  ASSERT_EQ(table.sequence(s->id, 1, 0, 0, conn).status, NFS4_OK);
  now += std::chrono::seconds(500);
  EXPECT_TRUE(table.expire_idle().empty());
}

TEST_F(Fixture, SequenceReportsCallbackPathDownWhenTheBackchannelIsClosed) {
  auto s = new_session(new_client("a"));
  SequenceResult r = table.sequence(s->id, 1, 0, 0, conn);
  EXPECT_EQ(r.status_flags & SEQ4_STATUS_CB_PATH_DOWN, 0u);
  table.finish_slot(*s, 0, true, {});
  conn->open = false;
  r = table.sequence(s->id, 2, 0, 0, conn);
  EXPECT_NE(r.status_flags & SEQ4_STATUS_CB_PATH_DOWN_SESSION, 0u);
}

TEST_F(Fixture, SetclientidNeedsTheRightConfirmVerifier) {
  uint64_t id = 0;
  Verifier v{}, confirm{};
  ASSERT_EQ(table.setclientid("v40", v, 0, &id, &confirm), NFS4_OK);
  EXPECT_EQ(table.check_client(id, 0), NFS4ERR_STALE_CLIENTID);  // not confirmed
  Verifier wrong = confirm;
  wrong[0] ^= 1;
  std::vector<uint64_t> replaced;
  EXPECT_EQ(table.setclientid_confirm(id, wrong, &replaced), NFS4ERR_STALE_CLIENTID);
  EXPECT_EQ(table.setclientid_confirm(id, confirm, &replaced), NFS4_OK);
  EXPECT_EQ(table.renew(id), NFS4_OK);
}

}  // namespace
}  // namespace pnfsgw::nfs4
