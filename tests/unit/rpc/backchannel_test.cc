// Backchannel: calls from the server to the client on the client's own
// connection (RpcConnection::send_call), completing exactly once.
#include <gtest/gtest.h>

#include "tests/unit/rpc/echo_program.h"

namespace pnfsgw::rpc::testing {
namespace {

std::vector<uint8_t> callback_args(uint32_t timeout_ms, std::string_view payload) {
  xdr::XdrEncoder enc;
  enc.u32(timeout_ms);
  enc.var_opaque(bytes_of(payload));
  return enc.take();
}

// Asks the echo program to call back, then reads both the program's reply
// and the server's CALL (in either order). Returns the CALL's header and args.
struct ServerCall {
  CallHeader hdr;
  std::vector<uint8_t> args;
};

std::optional<ServerCall> trigger_callback(TestRpcClient& c, uint32_t timeout_ms,
                                           std::string_view payload) {
  uint32_t xid = c.send_call(kEchoProg, 1, kCallback, callback_args(timeout_ms, payload));
  std::optional<ServerCall> call;
  bool replied = false;
  while (!replied || !call) {
    auto rec = c.read_record();
    if (!rec) return std::nullopt;
    xdr::XdrDecoder dec(*rec);
    CallHeader hdr;
    ParseResult r = parse_call(dec, &hdr);
    if (r == ParseResult::kReply) {
      EXPECT_EQ(hdr.xid, xid);
      replied = true;
    } else if (r == ParseResult::kCall) {
      call =
          ServerCall{hdr, std::vector<uint8_t>(dec.position(), dec.position() + dec.remaining())};
    } else {
      ADD_FAILURE() << "unexpected record from the server";
      return std::nullopt;
    }
  }
  return call;
}

TEST(Backchannel, ClientReplyBodyIsDeliveredToDone) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto call = trigger_callback(c, 5000, "ping");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->hdr.prog, kCallbackProg);
  EXPECT_EQ(call->hdr.vers, 1u);
  EXPECT_EQ(call->hdr.proc, 1u);
  EXPECT_EQ(call->hdr.flavor, AUTH_NONE);
  EXPECT_EQ(call->args, bytes_of("ping"));

  ASSERT_TRUE(c.send_raw(make_reply_record(call->hdr.xid, SUCCESS, bytes_of("pong"))));
  auto result = h.echo().wait_result();
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->is_ok()) << result->err();
  EXPECT_EQ(result->value(), bytes_of("pong"));
}

TEST(Backchannel, EachCallGetsANewXidAndRepliesMatchOutOfOrder) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto a = trigger_callback(c, 5000, "aaaa");
  auto b = trigger_callback(c, 5000, "bbbb");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->hdr.xid, b->hdr.xid);
  ASSERT_TRUE(c.send_raw(make_reply_record(b->hdr.xid, SUCCESS, bytes_of("BBBB"))));
  ASSERT_TRUE(c.send_raw(make_reply_record(a->hdr.xid, SUCCESS, bytes_of("AAAA"))));
  auto first = h.echo().wait_result();
  auto second = h.echo().wait_result();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->value(), bytes_of("BBBB"));
  EXPECT_EQ(second->value(), bytes_of("AAAA"));
}

TEST(Backchannel, NonSuccessReplyIsEproto) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto call = trigger_callback(c, 5000, "x");
  ASSERT_TRUE(call);
  ASSERT_TRUE(c.send_raw(make_reply_record(call->hdr.xid, PROC_UNAVAIL)));
  auto result = h.echo().wait_result();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->err(), EPROTO);
}

TEST(Backchannel, DeniedReplyIsEproto) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto call = trigger_callback(c, 5000, "x");
  ASSERT_TRUE(call);
  xdr::XdrEncoder enc;
  encode_auth_error(enc, call->hdr.xid, AUTH_TOOWEAK);
  ASSERT_TRUE(c.send_record(enc.buffer()));
  auto result = h.echo().wait_result();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->err(), EPROTO);
}

TEST(Backchannel, NoReplyTimesOutOnceAndALateReplyIsIgnored) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto call = trigger_callback(c, 50, "slow");
  ASSERT_TRUE(call);
  auto result = h.echo().wait_result();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->err(), ETIMEDOUT);
  ASSERT_TRUE(c.send_raw(make_reply_record(call->hdr.xid, SUCCESS, bytes_of("late"))));
  // The connection is still served, and done did not run a second time.
  EXPECT_TRUE(c.call(kEchoProg, 1, 0));
  EXPECT_EQ(h.echo().result_count(), 1u);
}

TEST(Backchannel, ReplyToAnUnknownXidIsIgnored) {
  ServerHarness h;
  TestRpcClient c(h.port());
  ASSERT_TRUE(c.send_raw(make_reply_record(0x12345678, SUCCESS, bytes_of("??"))));
  EXPECT_TRUE(c.call(kEchoProg, 1, 0));
}

TEST(Backchannel, ClientDisconnectCompletesPendingCallsWithEconnreset) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto call = trigger_callback(c, 10000, "bye");
  ASSERT_TRUE(call);
  c.close();
  auto result = h.echo().wait_result();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->err(), ECONNRESET);
  auto conn = h.echo().last_conn();
  ASSERT_TRUE(conn);
  for (int i = 0; i < 200 && conn->is_open(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(conn->is_open());
}

TEST(Backchannel, ServerSideCloseCompletesPendingCallsWithEconnreset) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto call = trigger_callback(c, 10000, "x");
  ASSERT_TRUE(call);
  auto conn = h.echo().last_conn();
  ASSERT_TRUE(conn);
  conn->close();
  EXPECT_FALSE(conn->is_open());
  auto result = h.echo().wait_result();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->err(), ECONNRESET);
  EXPECT_TRUE(c.wait_for_close());
}

TEST(Backchannel, ServerStopCompletesPendingCallsWithEconnreset) {
  ServerHarness h;
  TestRpcClient c(h.port());
  ASSERT_TRUE(trigger_callback(c, 10000, "x"));
  h.stop();
  auto result = h.echo().wait_result(0ms);  // already delivered when run() returned
  ASSERT_TRUE(result);
  EXPECT_EQ(result->err(), ECONNRESET);
}

TEST(Backchannel, SendCallOnAClosedConnectionFailsAtOnceEvenAfterTheServerIsGone) {
  std::shared_ptr<RpcConnection> conn;
  {
    ServerHarness h;
    TestRpcClient c(h.port());
    ASSERT_TRUE(trigger_callback(c, 10000, "x"));
    conn = h.echo().last_conn();
  }
  ASSERT_TRUE(conn);
  EXPECT_FALSE(conn->is_open());
  EXPECT_EQ(conn->peer().substr(0, 10), "127.0.0.1:");
  int calls = 0;
  int err = 0;
  conn->send_call(kCallbackProg, 1, 1, nullptr, {}, 1s, [&](Result<std::vector<uint8_t>> r) {
    ++calls;
    err = r.err();
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(err, ECONNRESET);
  conn->close();  // harmless
}

TEST(Backchannel, CallCarriesAnAuthSysCredentialWhenGiven) {
  ServerHarness h;
  TestRpcClient c(h.port());
  ASSERT_TRUE(trigger_callback(c, 10000, "x"));
  auto conn = h.echo().last_conn();
  AuthSysParams cred{3, "server", 0, 0, {}};
  conn->send_call(kCallbackProg, 2, 7, &cred, bytes_of("args"), 5s,
                  [](Result<std::vector<uint8_t>>) {});
  auto rec = c.read_record();
  ASSERT_TRUE(rec);
  xdr::XdrDecoder dec(*rec);
  CallHeader hdr;
  ASSERT_EQ(parse_call(dec, &hdr), ParseResult::kCall);
  EXPECT_EQ(hdr.vers, 2u);
  EXPECT_EQ(hdr.proc, 7u);
  EXPECT_EQ(hdr.flavor, AUTH_SYS);
  EXPECT_EQ(hdr.sys.machine, "server");
}

}  // namespace
}  // namespace pnfsgw::rpc::testing
