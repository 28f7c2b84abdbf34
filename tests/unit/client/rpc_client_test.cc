// RpcClientConnection against a scripted peer on a socketpair: xid
// matching, timeouts, bad replies, connection loss and backchannel calls.
#include "client/rpc_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "gateway/rpc/record.h"
#include "tests/unit/client/wire_util.h"

namespace pnfsgw::client {
namespace {
using namespace std::chrono_literals;
using test::Wire;

// The server end of the socketpair, driven by the test.
class FakePeer {
 public:
  explicit FakePeer(int fd) : fd_(fd) {}
  ~FakePeer() { close_now(); }
  void close_now() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Next record from the client (blocking); empty on EOF.
  std::vector<uint8_t> read_record() {
    for (;;) {
      if (!pending_.empty()) {
        size_t used = 0;
        auto st = framer_.feed(pending_, &used);
        pending_.erase(pending_.begin(), pending_.begin() + used);
        if (st == rpc::RecordFramer::State::kRecord) return framer_.take_record();
        if (used > 0) continue;
      }
      uint8_t buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return {};
      pending_.insert(pending_.end(), buf, buf + n);
    }
  }
  void write_record(const std::vector<uint8_t>& body) {
    std::vector<uint8_t> rec(4 + body.size());
    rpc::RecordFramer::put_header(rec.data(), static_cast<uint32_t>(body.size()));
    std::copy(body.begin(), body.end(), rec.begin() + 4);
    ASSERT_EQ(::send(fd_, rec.data(), rec.size(), MSG_NOSIGNAL), static_cast<ssize_t>(rec.size()));
  }
  void write_raw(const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

 private:
  int fd_;
  rpc::RecordFramer framer_{1 << 20};
  std::vector<uint8_t> pending_;
};

uint32_t xid_of(const std::vector<uint8_t>& rec) {
  xdr::XdrDecoder d(rec.data(), rec.size());
  return d.u32();
}

std::vector<uint8_t> success_reply(uint32_t xid, std::initializer_list<uint32_t> results) {
  Wire w;
  w.words({xid, rpc::REPLY, rpc::MSG_ACCEPTED, rpc::AUTH_NONE, 0, rpc::SUCCESS});
  w.words(results);
  return w.bytes();
}

class RpcClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    RpcClientOptions opts;
    opts.max_record = 64 * 1024;
    conn_ = RpcClientConnection::adopt(sv[0], opts);
    peer_ = std::make_unique<FakePeer>(sv[1]);
  }
  Result<RpcReply> call(std::chrono::milliseconds timeout = 5s) {
    std::vector<uint8_t> args{0, 0, 0, 42};
    return conn_->call(100003, 4, 1, nullptr, args, timeout);
  }
  std::unique_ptr<RpcClientConnection> conn_;
  std::unique_ptr<FakePeer> peer_;
};

TEST_F(RpcClientTest, ConcurrentCallsGetTheirOwnRepliesWhateverTheOrder) {
  auto a = std::async(std::launch::async, [&] { return call(); });
  auto rec1 = peer_->read_record();
  auto b = std::async(std::launch::async, [&] { return call(); });
  auto rec2 = peer_->read_record();
  ASSERT_FALSE(rec1.empty());
  ASSERT_FALSE(rec2.empty());
  // Answer in reverse order; each answer carries its own xid as result.
  peer_->write_record(success_reply(xid_of(rec2), {xid_of(rec2)}));
  peer_->write_record(success_reply(xid_of(rec1), {xid_of(rec1)}));
  for (auto* f : {&a, &b}) {
    auto r = f->get();
    ASSERT_TRUE(r) << r.err();
    xdr::XdrDecoder d(r->results());
    uint32_t echoed = d.u32();
    EXPECT_EQ(echoed, xid_of(r->record));
  }
}

TEST_F(RpcClientTest, CallHeaderCarriesProgramVersionProcedureAndArgs) {
  auto f = std::async(std::launch::async, [&] { return call(); });
  auto rec = peer_->read_record();
  xdr::XdrDecoder d(rec.data(), rec.size());
  rpc::CallHeader hdr;
  ASSERT_EQ(rpc::parse_call(d, &hdr), rpc::ParseResult::kCall);
  EXPECT_EQ(hdr.prog, 100003u);
  EXPECT_EQ(hdr.vers, 4u);
  EXPECT_EQ(hdr.proc, 1u);
  EXPECT_EQ(d.u32(), 42u);
  peer_->write_record(success_reply(hdr.xid, {}));
  EXPECT_TRUE(f.get());
}

// More pieces than fit the inline iovec array, empty ones among them, and
// more bytes than the socket buffer holds (so sendmsg stops part way
// through a piece): the record carries them joined, in order.
TEST_F(RpcClientTest, GatheredArgumentPiecesArriveAsOneRecordInOrder) {
  std::vector<std::vector<uint8_t>> bufs;
  for (size_t i = 0; i < 12; i++) {
    size_t n = i == 5 ? 0 : (i == 7 ? 300 * 1024 : 4 * (i + 1));
    std::vector<uint8_t> b(n);
    for (size_t j = 0; j < n; j++) b[j] = static_cast<uint8_t>(i * 31 + j);
    bufs.push_back(std::move(b));
  }
  std::vector<std::span<const uint8_t>> pieces(bufs.begin(), bufs.end());
  std::vector<uint8_t> joined;
  for (const auto& b : bufs) joined.insert(joined.end(), b.begin(), b.end());
  auto f = std::async(std::launch::async,
                      [&] { return conn_->call_gather(100003, 4, 1, nullptr, pieces, 5s); });
  auto rec = peer_->read_record();
  xdr::XdrDecoder d(rec.data(), rec.size());
  rpc::CallHeader hdr;
  ASSERT_EQ(rpc::parse_call(d, &hdr), rpc::ParseResult::kCall);
  size_t at = static_cast<size_t>(d.position() - rec.data());
  EXPECT_TRUE(std::vector<uint8_t>(rec.begin() + at, rec.end()) == joined);
  peer_->write_record(success_reply(hdr.xid, {}));
  EXPECT_TRUE(f.get());
}

TEST_F(RpcClientTest, TimeoutThenLateReplyIsIgnoredAndTheConnectionStillWorks) {
  auto r = call(100ms);
  EXPECT_EQ(r.err(), ETIMEDOUT);
  auto late = peer_->read_record();
  peer_->write_record(success_reply(xid_of(late), {1}));
  auto f = std::async(std::launch::async, [&] { return call(); });
  auto rec = peer_->read_record();
  peer_->write_record(success_reply(xid_of(rec), {2}));
  auto ok = f.get();
  ASSERT_TRUE(ok);
  xdr::XdrDecoder d(ok->results());
  EXPECT_EQ(d.u32(), 2u);
}

TEST_F(RpcClientTest, GarbageAndDeniedRepliesAreErrors) {
  auto f = std::async(std::launch::async, [&] { return call(); });
  auto rec = peer_->read_record();
  Wire bad;
  bad.words({xid_of(rec), rpc::REPLY, 7});  // reply_stat 7 does not exist
  peer_->write_record(bad.bytes());
  EXPECT_EQ(f.get().err(), EBADMSG);

  f = std::async(std::launch::async, [&] { return call(); });
  rec = peer_->read_record();
  Wire denied;
  denied.words({xid_of(rec), rpc::REPLY, rpc::MSG_DENIED, rpc::AUTH_ERROR, rpc::AUTH_BADCRED});
  peer_->write_record(denied.bytes());
  EXPECT_EQ(f.get().err(), EACCES);

  // A record too short to hold an xid is dropped; the connection survives.
  peer_->write_record({1, 2});
  f = std::async(std::launch::async, [&] { return call(); });
  rec = peer_->read_record();
  peer_->write_record(success_reply(xid_of(rec), {}));
  EXPECT_TRUE(f.get());
}

TEST_F(RpcClientTest, PeerCloseFailsPendingCallsWithConnReset) {
  auto f = std::async(std::launch::async, [&] { return call(); });
  peer_->read_record();
  peer_->close_now();
  EXPECT_EQ(f.get().err(), ECONNRESET);
  EXPECT_FALSE(conn_->is_open());
  EXPECT_EQ(call().err(), ECONNRESET);
}

TEST_F(RpcClientTest, OversizedRecordClosesTheConnection) {
  auto f = std::async(std::launch::async, [&] { return call(); });
  peer_->read_record();
  peer_->write_raw({0x80, 0x10, 0x00, 0x00});  // 1 MiB record, limit is 64 KiB
  EXPECT_EQ(f.get().err(), ECONNRESET);
}

TEST_F(RpcClientTest, BackchannelCallIsAnsweredByTheHandler) {
  std::promise<rpc::CallHeader> seen;
  conn_->set_call_handler(
      [&](const rpc::CallHeader& h, xdr::XdrDecoder& args, xdr::XdrEncoder& out) {
        out.u32(args.u32() + 1);
        seen.set_value(h);
        return rpc::SUCCESS;
      });
  Wire call;
  call.words({555, rpc::CALL, 2, 0x40000000, 1, 1, rpc::AUTH_NONE, 0, rpc::AUTH_NONE, 0, 41});
  peer_->write_record(call.bytes());
  auto reply = peer_->read_record();
  EXPECT_EQ(reply, success_reply(555, {42}));
  auto hdr = seen.get_future().get();
  EXPECT_EQ(hdr.prog, 0x40000000u);
  EXPECT_EQ(hdr.proc, 1u);
}

TEST_F(RpcClientTest, BackchannelCallWithoutHandlerIsProgUnavail) {
  Wire call;
  call.words({9, rpc::CALL, 2, 0x40000000, 1, 0, rpc::AUTH_NONE, 0, rpc::AUTH_NONE, 0});
  peer_->write_record(call.bytes());
  auto reply = peer_->read_record();
  Wire want;
  want.words({9, rpc::REPLY, rpc::MSG_ACCEPTED, rpc::AUTH_NONE, 0, rpc::PROG_UNAVAIL});
  EXPECT_EQ(reply, want.bytes());
}

TEST(RpcClientRecycle, AGivenBackBufferReceivesTheNextLargeReply) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  RpcClientOptions opts;
  opts.max_record = 1 << 20;
  auto conn = RpcClientConnection::adopt(sv[0], opts);
  FakePeer peer(sv[1]);
  auto call = [&] { return conn->call(100003, 4, 1, nullptr, {}, 5s); };

  std::vector<uint8_t> spare(256 * 1024);
  const uint8_t* spare_at = spare.data();
  conn->recycle(std::move(spare));
  // A small reply first: the reader takes the spare before its next record.
  auto f = std::async(std::launch::async, call);
  auto rec = peer.read_record();
  peer.write_record(success_reply(xid_of(rec), {1}));
  ASSERT_TRUE(f.get());

  f = std::async(std::launch::async, call);
  rec = peer.read_record();
  std::vector<uint8_t> big = success_reply(xid_of(rec), {});
  big.resize(big.size() + 128 * 1024, 0x5a);
  peer.write_record(big);
  auto r = f.get();
  ASSERT_TRUE(r) << r.err();
  EXPECT_EQ(r->record, big);
  EXPECT_EQ(r->record.data(), spare_at);
}

TEST(RpcClientRecycle, SmallBuffersAreNotKept) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  auto conn = RpcClientConnection::adopt(sv[0], {});
  FakePeer peer(sv[1]);
  conn->recycle(std::vector<uint8_t>(100));  // below RecordFramer::kSpareMin: dropped
  auto f =
      std::async(std::launch::async, [&] { return conn->call(100003, 4, 1, nullptr, {}, 5s); });
  auto rec = peer.read_record();
  peer.write_record(success_reply(xid_of(rec), {7}));
  auto r = f.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(xdr::XdrDecoder(r->results()).u32(), 7u);
}

TEST(RpcClientConnect, RefusedPortIsAnError) {
  // Bind a port, close it, then connect: nothing listens there.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  auto c = RpcClientConnection::connect("127.0.0.1", ntohs(a.sin_port));
  EXPECT_EQ(c.err(), ECONNREFUSED);
}

}  // namespace
}  // namespace pnfsgw::client
