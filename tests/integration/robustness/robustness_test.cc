// The real server answers or disconnects on malformed RPC records and
// hostile COMPOUNDs, never crashes or hangs, and keeps serving a
// well-behaved client on another connection throughout.
#include <gtest/gtest.h>

#include <random>

#include "client/nfs4_client.h"
#include "gateway/nfs4/nfs4_const.h"
#include "tests/support/pnfsgw_server.h"
#include "tests/unit/rpc/test_client.h"

namespace pnfsgw {
namespace {

using rpc::testing::TestRpcClient;
using namespace std::chrono_literals;
using namespace nfs4;

class Robustness : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(server_.start(&err)) << err;
    ASSERT_TRUE(good_.mount("127.0.0.1", server_.port()).is_ok());
    auto root = good_.root_fh();
    ASSERT_TRUE(root);
    root_ = *root;
  }
  void TearDown() override {
    good_.shutdown();
    EXPECT_EQ(server_.stop(), 0) << server_.log_tail();
  }

  // The well-behaved client can still create, write and read a file.
  void expect_good_client_works(const std::string& name) {
    client::OpenOptions o;
    o.create = true;
    auto op = good_.open(root_, name, o);
    ASSERT_TRUE(op) << "open failed: " << op.err() << "\n" << server_.log_tail();
    std::string data = "still serving " + name;
    auto w = good_.write(op->fh, op->stateid, 0,
                         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()),
                                                  data.size()));
    ASSERT_TRUE(w);
    auto r = good_.read(op->fh, op->stateid, 0, 4096);
    ASSERT_TRUE(r);
    EXPECT_EQ(std::string(r->data.begin(), r->data.end()), data);
    ASSERT_TRUE(good_.close(op->fh, op->stateid));
  }

  // After a bad input the server either answers or closes the connection
  // within a bounded time, never leaves it hanging silently forever.
  void expect_answer_or_close(TestRpcClient& c) {
    auto rec = c.read_record(3s);
    if (rec) return;
    EXPECT_TRUE(c.wait_for_close(3s)) << "server neither answered nor closed";
  }

  test::PnfsgwServer server_{PNFSGW_BINARY};
  client::Nfs4Client good_;
  client::Fh root_;
};

std::vector<uint8_t> u32s(std::initializer_list<uint32_t> words) {
  xdr::XdrEncoder e;
  for (uint32_t w : words) e.u32(w);
  return e.take();
}

TEST_F(Robustness, GarbageTruncatedAndOversizedRecordsAreAnsweredOrDisconnected) {
  std::mt19937 rng(12345);
  // Random bytes, raw (no valid framing).
  for (int i = 0; i < 40; i++) {
    TestRpcClient c(server_.port());
    ASSERT_TRUE(c.connected());
    std::vector<uint8_t> junk(1 + rng() % 300);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    c.send_raw(junk);
    c.shutdown_write();
    expect_answer_or_close(c);
  }
  // Well-framed records holding random bytes.
  for (int i = 0; i < 40; i++) {
    TestRpcClient c(server_.port());
    std::vector<uint8_t> junk(rng() % 200);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    c.send_record(junk);
    expect_answer_or_close(c);
  }
  // A record mark announcing 2 GiB: closed without allocating it.
  {
    TestRpcClient c(server_.port());
    c.send_raw(u32s({0xFFFFFFFFu}));
    EXPECT_TRUE(c.wait_for_close(3s));
  }
  // Fragments that never end, adding up past the limit.
  {
    TestRpcClient c(server_.port());
    std::vector<uint8_t> frag(64 * 1024, 0);
    bool closed = false;
    for (int i = 0; i < 40 && !closed; i++) {
      std::vector<uint8_t> rec = u32s({static_cast<uint32_t>(frag.size())});  // not last
      rec.insert(rec.end(), frag.begin(), frag.end());
      closed = !c.send_raw(rec);
    }
    EXPECT_TRUE(closed || c.wait_for_close(3s));
  }
  // Every truncation of a valid NULL call's header.
  {
    xdr::XdrEncoder call;
    rpc::encode_call(call, 7, kNfsProgram, 4, 0, nullptr);
    for (size_t n = 0; n < call.size(); n++) {
      TestRpcClient c(server_.port());
      c.send_record(std::span<const uint8_t>(call.buffer().data(), n));
      expect_answer_or_close(c);
    }
  }
  expect_good_client_works("after-garbage");
}

// A COMPOUND call whose args are the given bytes; returns the reply's
// COMPOUND status and first op status (or nullopt if the server did not
// send an accepted SUCCESS reply).
struct CompoundOutcome {
  rpc::AcceptStat accept = rpc::SYSTEM_ERR;
  uint32_t status = 0;
  uint32_t nres = 0;
  uint32_t first_op = 0;
};
std::optional<CompoundOutcome> raw_compound(uint16_t port, std::span<const uint8_t> args) {
  TestRpcClient c(port);
  rpc::AuthSysParams cred;
  cred.machine = "robust";
  auto r = c.call(kNfsProgram, 4, kProcCompound, args, &cred);
  if (!r) return std::nullopt;
  CompoundOutcome o;
  o.accept = r->hdr.accept;
  if (o.accept != rpc::SUCCESS) return o;
  xdr::XdrDecoder d(r->body.data(), r->body.size());
  o.status = d.u32();
  d.string(1024);
  o.nres = d.u32();
  if (o.nres) {
    o.first_op = d.u32();
  }
  if (!d.ok()) return std::nullopt;
  return o;
}

std::vector<uint8_t> compound(uint32_t minor, std::initializer_list<uint32_t> body_words,
                              uint32_t nops) {
  xdr::XdrEncoder e;
  e.string("t");
  e.u32(minor);
  e.u32(nops);
  for (uint32_t w : body_words) e.u32(w);
  return e.take();
}

TEST_F(Robustness, MalformedCompoundsGetProtocolErrors) {
  auto check = [&](std::vector<uint8_t> args, rpc::AcceptStat accept, uint32_t status) {
    auto o = raw_compound(server_.port(), args);
    ASSERT_TRUE(o) << "no parseable reply";
    EXPECT_EQ(o->accept, accept);
    if (accept == rpc::SUCCESS) {
      EXPECT_EQ(o->status, status);
    }
  };
  check({}, rpc::GARBAGE_ARGS, 0);                                     // no args at all
  check(u32s({0xFFFFFFF0u}), rpc::GARBAGE_ARGS, 0);                    // tag longer than the record
  check(compound(99, {}, 0), rpc::SUCCESS, NFS4ERR_MINOR_VERS_MISMATCH);
  check(compound(1, {}, 0xFFFFFFFFu), rpc::SUCCESS, NFS4ERR_TOO_MANY_OPS);
  check(compound(0, {}, 0xFFFFFFFFu), rpc::SUCCESS, NFS4ERR_RESOURCE);
  check(compound(1, {OP_PUTROOTFH}, 1), rpc::SUCCESS, NFS4ERR_OP_NOT_IN_SESSION);
  check(compound(1, {OP_PUTROOTFH, OP_GETFH}, 2), rpc::SUCCESS, NFS4ERR_OP_NOT_IN_SESSION);
  check(compound(0, {9999}, 1), rpc::SUCCESS, NFS4ERR_OP_ILLEGAL);
  check(compound(0, {OP_EXCHANGE_ID}, 1), rpc::SUCCESS, NFS4ERR_OP_ILLEGAL);  // 4.1 op in 4.0
  check(compound(0, {OP_GETFH}, 1), rpc::SUCCESS, NFS4ERR_NOFILEHANDLE);
  // LOOKUP whose name length runs past the end of the record.
  check(compound(0, {OP_PUTROOTFH, OP_LOOKUP, 5000}, 2), rpc::SUCCESS, NFS4ERR_BADXDR);
  // PUTFH with a forged handle.
  check(compound(0, {OP_PUTFH, 8, 1, 2}, 1), rpc::SUCCESS, NFS4ERR_BADHANDLE);
  // More ops announced than sent.
  check(compound(0, {OP_PUTROOTFH}, 3), rpc::SUCCESS, NFS4ERR_BADXDR);
  expect_good_client_works("after-malformed");
}

TEST_F(Robustness, RandomOpsWithRandomArgumentsNeverBreakTheServer) {
  std::mt19937 rng(777);
  int answered = 0;
  for (int i = 0; i < 400; i++) {
    xdr::XdrEncoder e;
    e.string("fuzz");
    e.u32(i % 3);  // minor versions 0, 1, 2
    uint32_t nops = 1 + rng() % 6;
    e.u32(nops);
    e.u32(OP_PUTROOTFH);
    for (uint32_t k = 1; k < nops; k++) {
      e.u32(rng() % 80);  // mostly real op numbers
      uint32_t words = rng() % 12;
      for (uint32_t w = 0; w < words; w++)
        e.u32(rng() % 4 == 0 ? static_cast<uint32_t>(rng()) : rng() % 16);
    }
    auto o = raw_compound(server_.port(), e.buffer());
    if (o) answered++;
  }
  // Every call gets a reply (a COMPOUND error or GARBAGE_ARGS); none hangs.
  EXPECT_EQ(answered, 400);
  expect_good_client_works("after-fuzz");
}

}  // namespace
}  // namespace pnfsgw
