// The duplicate request cache: alone, with a fake clock, and in front of the
// NFSv3 program (a retransmitted REMOVE gets the original reply).
#include "gateway/rpc/drc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/nfs3/nfs3_test_util.h"

namespace pnfsgw::nfs3::testing {
namespace {

using rpc::DuplicateRequestCache;
using Lookup = DuplicateRequestCache::Lookup;
using Bytes = std::vector<uint8_t>;

// A connection that only has a peer address.
class PeerOnlyConnection final : public rpc::RpcConnection {
 public:
  explicit PeerOnlyConnection(std::string peer) : peer_(std::move(peer)) {}
  uint64_t id() const override { return 1; }
  bool is_open() const override { return true; }
  std::string peer() const override { return peer_; }
  void send_call(uint32_t, uint32_t, uint32_t, const rpc::AuthSysParams*, std::vector<uint8_t>,
                 std::chrono::milliseconds, ReplyHandler done) override {
    done(Result<std::vector<uint8_t>>::error(ECONNRESET));
  }
  void close() override {}

 private:
  std::string peer_;
};

rpc::CallContext call_from(const std::string& peer, uint32_t xid, uint32_t proc = NFSPROC3_REMOVE,
                           uint32_t uid = 1000) {
  rpc::CallContext c;
  c.hdr.xid = xid;
  c.hdr.prog = NFS_PROGRAM;
  c.hdr.vers = NFS_V3;
  c.hdr.proc = proc;
  c.hdr.flavor = rpc::AUTH_SYS;
  c.hdr.sys.uid = uid;
  c.hdr.sys.gid = uid;
  c.conn = std::make_shared<PeerOnlyConnection>(peer);
  return c;
}

const Bytes kArgs{0, 0, 0, 4, 'f', 'i', 'l', 'e'};
const Bytes kResults{0, 0, 0, 0, 0, 0, 0, 1};

class DrcTest : public ::testing::Test {
 protected:
  DrcTest() {
    opts_.max_entries = 8;
    opts_.max_age = std::chrono::seconds(120);
    opts_.now = [this] { return now_; };
  }

  DuplicateRequestCache& cache() {
    if (!cache_) cache_ = std::make_unique<DuplicateRequestCache>(opts_);
    return *cache_;
  }

  // Runs a call through the cache to completion with the given results.
  void answer(const rpc::CallContext& c, const Bytes& args = kArgs,
              const Bytes& results = kResults) {
    auto claim = cache().begin(c, args);
    ASSERT_EQ(claim.lookup(), Lookup::kNew);
    claim.complete(rpc::SUCCESS, results);
  }

  Lookup lookup(const rpc::CallContext& c, const Bytes& args = kArgs) {
    return cache().begin(c, args).lookup();  // a kNew claim is abandoned at once
  }

  DuplicateRequestCache::Options opts_;
  DuplicateRequestCache::Clock::time_point now_{std::chrono::hours(1)};
  std::unique_ptr<DuplicateRequestCache> cache_;
};

TEST_F(DrcTest, FirstCallIsNewAndItsRetransmitReplaysTheSameResults) {
  auto c = call_from("10.0.0.1:800", 42);
  answer(c);
  auto again = cache().begin(c, kArgs);
  EXPECT_EQ(again.lookup(), Lookup::kReplay);
  EXPECT_EQ(again.stat(), rpc::SUCCESS);
  EXPECT_EQ(again.results(), kResults);
  EXPECT_EQ(cache().stats().misses, 1u);
  EXPECT_EQ(cache().stats().replays, 1u);
}

TEST_F(DrcTest, RetransmitWhileTheOriginalRunsIsInProgress) {
  auto c = call_from("10.0.0.1:800", 42);
  auto original = cache().begin(c, kArgs);
  ASSERT_EQ(original.lookup(), Lookup::kNew);
  EXPECT_EQ(lookup(c), Lookup::kInProgress);
  original.complete(rpc::SUCCESS, kResults);
  EXPECT_EQ(lookup(c), Lookup::kReplay);
  EXPECT_EQ(cache().stats().in_progress_drops, 1u);
}

TEST_F(DrcTest, ClaimDroppedWithoutAReplyLetsTheRetransmitRun) {
  auto c = call_from("10.0.0.1:800", 42);
  { auto abandoned = cache().begin(c, kArgs); }
  EXPECT_EQ(cache().size(), 0u);
  EXPECT_EQ(lookup(c), Lookup::kNew);
}

TEST_F(DrcTest, RetransmitFromANewPortOfTheSameAddressReplays) {
  answer(call_from("10.0.0.1:800", 42));
  EXPECT_EQ(lookup(call_from("10.0.0.1:951", 42)), Lookup::kReplay);
  answer(call_from("[fd00::1]:800", 42));
  EXPECT_EQ(lookup(call_from("[fd00::1]:951", 42)), Lookup::kReplay);
}

TEST_F(DrcTest, SameXidFromAnotherClientIsNew) {
  answer(call_from("10.0.0.1:800", 42));
  EXPECT_EQ(lookup(call_from("10.0.0.2:800", 42)), Lookup::kNew);
}

TEST_F(DrcTest, SameXidWithOtherArgumentsProcedureOrCredentialIsNew) {
  answer(call_from("10.0.0.1:800", 42));
  Bytes other = kArgs;
  other.back() = 'g';
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 42), other), Lookup::kNew);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 42), Bytes(kArgs.begin(), kArgs.end() - 4)),
            Lookup::kNew);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 42, NFSPROC3_RMDIR)), Lookup::kNew);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 42, NFSPROC3_REMOVE, 1001)), Lookup::kNew);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 43)), Lookup::kNew);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 42)), Lookup::kReplay);
}

TEST_F(DrcTest, AChangeOfAnyChecksummedArgumentByteIsANewRequest) {
  // WRITE-sized arguments: the checksum reads them a word at a time, then
  // the tail bytes; every byte of the first kChecksumBytes counts.
  Bytes args(1500);
  for (size_t i = 0; i < args.size(); i++) args[i] = uint8_t(i * 7);
  answer(call_from("10.0.0.1:800", 42), args);
  const size_t n = DuplicateRequestCache::kChecksumBytes;
  for (size_t at : {size_t{0}, size_t{3}, size_t{7}, size_t{8}, size_t{515}, n - 1}) {
    Bytes other = args;
    other[at] ^= 0x01;
    EXPECT_EQ(lookup(call_from("10.0.0.1:800", 42), other), Lookup::kNew) << "byte " << at;
  }
  for (size_t len : {size_t{13}, size_t{1021}}) {  // short ones end in a partial word
    Bytes a(args.begin(), args.begin() + len), b = a;
    b[len - 1] ^= 0x80;
    answer(call_from("10.0.0.1:800", 100 + len), a);
    EXPECT_EQ(lookup(call_from("10.0.0.1:800", 100 + len), b), Lookup::kNew) << "len " << len;
    EXPECT_EQ(lookup(call_from("10.0.0.1:800", 100 + len), a), Lookup::kReplay) << "len " << len;
  }
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 42), args), Lookup::kReplay);
}

TEST_F(DrcTest, NeverHoldsMoreThanMaxEntriesAndEvictsTheLeastRecentlyUsed) {
  opts_.max_entries = 4;
  for (uint32_t xid = 1; xid <= 4; xid++) answer(call_from("10.0.0.1:800", xid));
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 1)), Lookup::kReplay);  // now the newest
  for (uint32_t xid = 5; xid <= 100; xid++) {
    answer(call_from("10.0.0.1:800", xid));
    ASSERT_LE(cache().size(), 4u);
  }
  EXPECT_EQ(cache().size(), 4u);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 100)), Lookup::kReplay);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 1)), Lookup::kNew);
  EXPECT_GE(cache().stats().evictions, 96u);
}

TEST_F(DrcTest, LeastRecentlyUsedGoesFirst) {
  opts_.max_entries = 2;
  answer(call_from("10.0.0.1:800", 1));
  answer(call_from("10.0.0.1:800", 2));
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 1)), Lookup::kReplay);
  answer(call_from("10.0.0.1:800", 3));  // evicts 2, not the just replayed 1
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 1)), Lookup::kReplay);
  EXPECT_EQ(lookup(call_from("10.0.0.1:800", 2)), Lookup::kNew);
}

TEST_F(DrcTest, EvictedInProgressEntryStoresNothingWhenItsCallEnds) {
  opts_.max_entries = 1;
  auto c = call_from("10.0.0.1:800", 1);
  auto original = cache().begin(c, kArgs);
  answer(call_from("10.0.0.1:800", 2));  // pushes the running call out
  original.complete(rpc::SUCCESS, kResults);
  EXPECT_EQ(cache().size(), 1u);
  EXPECT_EQ(lookup(c), Lookup::kNew);
}

TEST_F(DrcTest, CompletedEntryExpiresAfterMaxAge) {
  auto c = call_from("10.0.0.1:800", 42);
  answer(c);
  now_ += std::chrono::seconds(120);
  EXPECT_EQ(lookup(c), Lookup::kReplay);
  now_ += std::chrono::seconds(1);
  EXPECT_EQ(lookup(c), Lookup::kNew);
}

TEST_F(DrcTest, AgeCountsFromTheReplyNotTheCall) {
  auto c = call_from("10.0.0.1:800", 42);
  auto original = cache().begin(c, kArgs);
  now_ += std::chrono::seconds(300);  // a very slow call is still in progress
  EXPECT_EQ(lookup(c), Lookup::kInProgress);
  original.complete(rpc::SUCCESS, kResults);
  now_ += std::chrono::seconds(60);
  EXPECT_EQ(lookup(c), Lookup::kReplay);
}

TEST_F(DrcTest, ResultsOverMaxReplyAreNotKept) {
  opts_.max_reply = 8;
  auto c = call_from("10.0.0.1:800", 42);
  answer(c, kArgs, Bytes(12, 0));
  EXPECT_EQ(cache().size(), 0u);
  EXPECT_EQ(lookup(c), Lookup::kNew);
}

TEST_F(DrcTest, FailedAcceptStatusIsReplayedWithoutResults) {
  auto c = call_from("10.0.0.1:800", 42);
  auto original = cache().begin(c, kArgs);
  original.complete(rpc::GARBAGE_ARGS, kResults);
  auto again = cache().begin(c, kArgs);
  ASSERT_EQ(again.lookup(), Lookup::kReplay);
  EXPECT_EQ(again.stat(), rpc::GARBAGE_ARGS);
  EXPECT_TRUE(again.results().empty());
}

TEST_F(DrcTest, ServeRunsAConcurrentRetransmitOnlyOnce) {
  auto c = call_from("10.0.0.1:800", 42);
  std::promise<void> started, release;
  std::atomic<int> runs{0};
  auto serve = [&](bool block) {
    xdr::XdrDecoder args(kArgs.data(), kArgs.size());
    xdr::XdrEncoder out;
    out.u32(0xabcd);  // the transport's reply header is already there
    rpc::AcceptStat stat = rpc::SUCCESS;
    auto d = cache().serve(c, args, out, &stat, [&] {
      ++runs;
      if (block) {
        started.set_value();
        release.get_future().wait();
      }
      out.fixed_opaque(kResults.data(), kResults.size());
      return rpc::Disposition::kReply;
    });
    return std::make_pair(d, out.take());
  };
  cache();
  auto original = std::async(std::launch::async, serve, true);
  started.get_future().wait();
  EXPECT_EQ(serve(false).first, rpc::Disposition::kDrop);
  release.set_value();
  auto [d1, bytes1] = original.get();
  auto [d2, bytes2] = serve(false);
  EXPECT_EQ(d1, rpc::Disposition::kReply);
  EXPECT_EQ(d2, rpc::Disposition::kReply);
  EXPECT_EQ(bytes1, bytes2);
  EXPECT_EQ(bytes2.size(), 4 + kResults.size());
  EXPECT_EQ(runs.load(), 1);
}

TEST(DrcAddressTest, AddressOfStripsOnlyThePort) {
  EXPECT_EQ(DuplicateRequestCache::address_of("10.0.0.1:812"), "10.0.0.1");
  EXPECT_EQ(DuplicateRequestCache::address_of("[::1]:812"), "[::1]");
  EXPECT_EQ(DuplicateRequestCache::address_of("[::1]"), "[::1]");
  EXPECT_EQ(DuplicateRequestCache::address_of(""), "");
}

// ---- Through the NFSv3 program ----

class Nfs3DrcTest : public Nfs3ProcTest {
 protected:
  Reply call_xid(uint32_t proc, const xdr::XdrEncoder& args, uint32_t xid,
                 const std::string& peer = "192.0.2.7:901") {
    rpc::CallContext ctx = call_from(peer, xid, proc, 0);
    xdr::XdrDecoder dec(args.buffer().data(), args.buffer().size());
    xdr::XdrEncoder out;
    Reply r;
    EXPECT_EQ(server_->handle(ctx, dec, out, &r.stat), rpc::Disposition::kReply);
    r.bytes = out.take();
    return r;
  }

  static uint32_t status_of(const Reply& r) { return r.dec().u32(); }
};

TEST_F(Nfs3DrcTest, RetransmittedRemoveGetsTheOriginalReplyAndANewXidRunsAgain) {
  create(root_fh_, "f");
  xdr::XdrEncoder a;
  put_dirop(a, root_fh_, "f");
  Reply first = call_xid(NFSPROC3_REMOVE, a, 0x5000);
  Reply retransmit = call_xid(NFSPROC3_REMOVE, a, 0x5000);
  ASSERT_EQ(first.stat, rpc::SUCCESS);
  EXPECT_EQ(status_of(first), NFS3_OK);
  EXPECT_EQ(status_of(retransmit), NFS3_OK);
  EXPECT_EQ(retransmit.bytes, first.bytes);
  EXPECT_EQ(status_of(call_xid(NFSPROC3_REMOVE, a, 0x5001)), NFS3ERR_NOENT);
}

TEST_F(Nfs3DrcTest, RetransmitAfterAReconnectFromANewPortIsReplayed) {
  xdr::XdrEncoder a;
  put_dirop(a, root_fh_, "d");
  put_sattr(a, 0755);
  Reply first = call_xid(NFSPROC3_MKDIR, a, 0x6000, "192.0.2.7:901");
  Reply retransmit = call_xid(NFSPROC3_MKDIR, a, 0x6000, "192.0.2.7:745");
  EXPECT_EQ(status_of(first), NFS3_OK);
  EXPECT_EQ(retransmit.bytes, first.bytes);
  EXPECT_EQ(status_of(call_xid(NFSPROC3_MKDIR, a, 0x6000, "192.0.2.8:901")), NFS3ERR_EXIST);
}

TEST_F(Nfs3DrcTest, IdempotentProceduresAreNotCached) {
  Fh f = create(root_fh_, "f");
  xdr::XdrEncoder a;
  put_fh(a, f);
  Reply before = call_xid(NFSPROC3_GETATTR, a, 0x7000);
  xdr::XdrEncoder w;
  put_fh(w, f);
  w.u64(0);
  w.u32(3);
  w.u32(2);  // FILE_SYNC
  w.var_opaque("abc", 3);
  ASSERT_EQ(status_of(call_xid(NFSPROC3_WRITE, w, 0x7001)), NFS3_OK);
  Reply after = call_xid(NFSPROC3_GETATTR, a, 0x7000);  // same xid, fresh answer
  EXPECT_NE(after.bytes, before.bytes);
  EXPECT_EQ(getattr(f).size, 3u);
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing
