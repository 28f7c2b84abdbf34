// Sessions against the real server: setup, SEQUENCE slots and the reply
// cache, extra connections, the backchannel, teardown.
#include <atomic>
#include <thread>

#include "tests/integration/client/client_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace std::chrono_literals;
using namespace nfs4;

using SessionTest = ClientTest;

TEST_F(SessionTest, MountEstablishesASessionAndTheRootIsADirectory) {
  EXPECT_TRUE(client_->has_session());
  EXPECT_NE(client_->clientid(), 0u);
  EXPECT_GT(client_->fore_attrs().maxrequests, 0u);
  EXPECT_GT(client_->fore_attrs().maxoperations, 1u);
  EXPECT_GT(client_->back_attrs().maxrequests, 0u);
  EXPECT_OK(client_->null_call());
  auto attrs = client_->getattr(root_);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->type, NF4DIR);
  EXPECT_TRUE(attrs->fileid.has_value());
  EXPECT_TRUE(attrs->change.has_value());
}

TEST_F(SessionTest, ReplayOfASlotAndSeqidReturnsTheCachedReplyByteForByte) {
  SlotTable* slots = client_->slots();
  auto slot = slots->acquire(5s);
  ASSERT_OK(slot);
  SequenceArgs seq{client_->sessionid(), slot->sequenceid, slot->slotid, slot->highest_slotid,
                   /*cachethis=*/true};
  SetAttrs mode;
  mode.mode = 0755;
  // A non-idempotent op: a replay executed again would answer NFS4ERR_EXIST.
  CompoundBuilder b("replay", 1);
  b.sequence(seq).putfh(root_).create_dir("replayed", mode).getfh();
  std::vector<uint8_t> args = b.encode();
  auto first = client_->send_raw(args);
  ASSERT_OK(first);
  auto second = client_->send_raw(args);
  ASSERT_OK(second);
  auto parsed = CompoundReply::parse(first->record, first->results_offset, b.ops());
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->status(), NFS4_OK) << err_name(parsed->status());
  EXPECT_TRUE(std::equal(first->results().begin(), first->results().end(),
                         second->results().begin(), second->results().end()))
      << "replayed reply differs from the original";

  // seqid + 2 skips one: misordered, and nothing runs.
  SequenceArgs skip = seq;
  skip.sequenceid += 2;
  CompoundBuilder m("misordered", 1);
  m.sequence(skip).putrootfh();
  auto mis = client_->send_compound(m);
  ASSERT_OK(mis);
  EXPECT_EQ(mis->status(), NFS4ERR_SEQ_MISORDERED) << err_name(mis->status());
  ASSERT_GE(mis->size(), 1u);
  EXPECT_EQ(mis->at(0).status, NFS4ERR_SEQ_MISORDERED);

  // seqid - 1 (older than the cached one) is misordered too.
  SequenceArgs old = seq;
  old.sequenceid -= 1;
  CompoundBuilder o("old", 1);
  o.sequence(old).putrootfh();
  auto stale = client_->send_compound(o);
  ASSERT_OK(stale);
  EXPECT_EQ(stale->status(), NFS4ERR_SEQ_MISORDERED) << err_name(stale->status());

  slots->release(slot->slotid, /*advance=*/true);
  // The slot goes on with seqid + 1 through the normal path.
  for (int i = 0; i < 2 * static_cast<int>(slots->size()); i++) {
    ASSERT_OK(client_->getattr(root_));
  }
  ASSERT_OK(client_->lookup(root_, "replayed"));
}

TEST_F(SessionTest, SecondConnectionBoundWithBindConnToSessionCarriesCompounds) {
  auto idx = client_->add_connection("127.0.0.1", server_.port(), CDFC4_FORE_OR_BOTH);
  ASSERT_OK(idx);
  CompoundBuilder b;
  b.putrootfh().getfh();
  auto r = client_->compound_on(*idx, b);
  ASSERT_OK(r);
  auto fh = r->get<GetfhRes>(2);
  ASSERT_OK(fh);
  EXPECT_EQ(fh->fh, root_);
  // The first connection still works.
  ASSERT_OK(client_->compound(b));
}

TEST_F(SessionTest, ServerProbesTheBackchannelAfterCreateSession) {
  CallbackService& cb = client_->callbacks();
  bool probed = cb.wait_for([](const CbCounters& c) { return c.cb_sequence_ok >= 1; }, 5s);
  CbCounters c = cb.counters();
  EXPECT_TRUE(probed) << "no CB_COMPOUND(CB_SEQUENCE) within 5 s: cb_null=" << c.cb_null
                      << " cb_compound=" << c.cb_compound << " cb_sequence=" << c.cb_sequence;
  EXPECT_GE(c.cb_null, 1u);
  // After a good probe SEQUENCE does not report the callback path down.
  ASSERT_OK(client_->getattr(root_));
  EXPECT_EQ(client_->last_sequence_flags() &
                (SEQ4_STATUS_CB_PATH_DOWN | SEQ4_STATUS_CB_PATH_DOWN_SESSION),
            0u);
}

TEST_F(SessionTest, ManyThreadsShareTheSlotTable) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; i++) {
        if (!client_->getattr(root_)) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(SessionTest, DestroySessionMakesItsIdBad) {
  SessionId old = client_->sessionid();
  ASSERT_OK(client_->destroy_session());
  EXPECT_EQ(client_->getattr(root_).err(), ENOTCONN);
  CompoundBuilder b;
  b.sequence(SequenceArgs{old, 1, 0, 0, false}).putrootfh();
  auto r = client_->send_compound(b);
  ASSERT_OK(r);
  EXPECT_EQ(r->status(), NFS4ERR_BADSESSION) << err_name(r->status());
  EXPECT_OK(client_->destroy_clientid());
}

TEST_F(SessionTest, TwoClientsGetDistinctClientIds) {
  auto other = new_client("other");
  ASSERT_TRUE(other);
  EXPECT_NE(other->clientid(), client_->clientid());
  EXPECT_NE(other->sessionid(), client_->sessionid());
  other->shutdown();
}

}  // namespace
}  // namespace pnfsgw::client::test

namespace pnfsgw::client::test {
namespace {

// Callbacks of a 4.2 session carry minor version 2; a client that checks
// (Linux does) drops any other, and the backchannel would never come up.
TEST_F(SessionTest, ANfsV42SessionsBackchannelComesUp) {
  Nfs4ClientOptions o;
  o.minorversion = 2;
  auto c = new_client("v42", o);
  ASSERT_TRUE(c);
  bool probed = c->callbacks().wait_for([](const CbCounters& k) { return k.cb_sequence_ok >= 1; }, 5s);
  EXPECT_TRUE(probed) << "no accepted CB_SEQUENCE for the 4.2 session within 5 s";
  auto root = c->root_fh();
  ASSERT_OK(root);
  EXPECT_EQ(c->last_sequence_flags() & (SEQ4_STATUS_CB_PATH_DOWN | SEQ4_STATUS_CB_PATH_DOWN_SESSION), 0u);
  c->shutdown();
}

}  // namespace
}  // namespace pnfsgw::client::test
