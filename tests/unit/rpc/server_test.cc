// RpcServer in-process with the echo program: dispatch, errors answered by
// the transport, pipelining, flow control, limits and shutdown.
#include <gtest/gtest.h>

#include <map>

#include "tests/unit/rpc/echo_program.h"

namespace pnfsgw::rpc::testing {
namespace {

std::vector<uint8_t> u32_args(uint32_t v) {
  xdr::XdrEncoder enc;
  enc.u32(v);
  return enc.take();
}

std::vector<uint8_t> decode_echo(const TestReply& r) {
  xdr::XdrDecoder dec(r.body);
  auto data = dec.var_opaque(kEchoMax);
  EXPECT_TRUE(dec.ok());
  return {data.begin(), data.end()};
}

TEST(RpcServer, StartBindsAnEphemeralPort) {
  ServerHarness h;
  EXPECT_NE(h.port(), 0);
}

TEST(RpcServer, StartFailsOnAPortInUse) {
  ServerHarness h;
  net::ServerOptions o;
  o.port = h.port();
  EchoProgram echo;
  net::RpcServer second(o, {&echo});
  EXPECT_FALSE(second.start().is_ok());
}

TEST(RpcServer, NullProcedureIsAnsweredByTheServer) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto r = c.call(kEchoProg, 1, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.stat, MSG_ACCEPTED);
  EXPECT_EQ(r->hdr.accept, SUCCESS);
  EXPECT_TRUE(r->body.empty());
}

TEST(RpcServer, CallIsDispatchedAndItsResultsReturned) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto payload = bytes_of("hello, pnfs");
  auto r = c.call(kEchoProg, 2, kEcho, echo_args(payload));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.accept, SUCCESS);
  EXPECT_EQ(decode_echo(*r), payload);
}

TEST(RpcServer, ProgramSeesTheAuthSysCredentialAndThePeer) {
  ServerHarness h;
  TestRpcClient c(h.port());
  AuthSysParams cred{1, "tester", 1234, 567, {8}};
  auto r = c.call(kEchoProg, 1, kWhoAmI, {}, &cred);
  ASSERT_TRUE(r);
  xdr::XdrDecoder dec(r->body);
  EXPECT_EQ(dec.u32(), AUTH_SYS);
  EXPECT_EQ(dec.u32(), 1234u);
  EXPECT_EQ(dec.u32(), 567u);
  EXPECT_EQ(dec.string(255), "tester");
  EXPECT_EQ(dec.string(255).substr(0, 10), "127.0.0.1:");
  EXPECT_TRUE(dec.ok());
}

TEST(RpcServer, UnknownProgramGetsProgUnavail) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto r = c.call(0x20000099, 1, 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.stat, MSG_ACCEPTED);
  EXPECT_EQ(r->hdr.accept, PROG_UNAVAIL);
}

TEST(RpcServer, VersionOutOfRangeGetsProgMismatchWithTheRange) {
  ServerHarness h;
  TestRpcClient c(h.port());
  for (uint32_t vers : {0u, 3u}) {
    for (uint32_t proc : {0u, 1u}) {  // NULL too: the version is checked first
      auto r = c.call(kEchoProg, vers, proc);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->hdr.accept, PROG_MISMATCH);
      EXPECT_EQ(r->hdr.low, kEchoMinVers);
      EXPECT_EQ(r->hdr.high, kEchoMaxVers);
    }
  }
}

TEST(RpcServer, ProgramRejectingItsArgumentsSendsGarbageArgsOnly) {
  ServerHarness h;
  TestRpcClient c(h.port());
  std::vector<uint8_t> bad{0, 0, 0, 100, 1, 2};  // length 100, 2 bytes present
  auto r = c.call(kEchoProg, 1, kEcho, bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.accept, GARBAGE_ARGS);
  EXPECT_TRUE(r->body.empty());  // whatever the handler appended is discarded
}

TEST(RpcServer, ProgramStatusIsSentInsteadOfResults) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto r = c.call(kEchoProg, 1, 99);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.accept, PROC_UNAVAIL);
}

TEST(RpcServer, WrongRpcVersionGetsRpcMismatch) {
  ServerHarness h;
  TestRpcClient c(h.port());
  xdr::XdrEncoder enc;
  for (uint32_t v : {77u, 0u, 3u, kEchoProg, 1u, 0u, 0u, 0u, 0u, 0u}) enc.u32(v);
  ASSERT_TRUE(c.send_record(enc.buffer()));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.xid, 77u);
  EXPECT_EQ(r->hdr.stat, MSG_DENIED);
  EXPECT_EQ(r->hdr.reject, RPC_MISMATCH);
  EXPECT_EQ(r->hdr.low, 2u);
  EXPECT_EQ(r->hdr.high, 2u);
  // The connection stays usable.
  EXPECT_TRUE(c.call(kEchoProg, 1, 0));
}

TEST(RpcServer, UnsupportedCredentialGetsAuthErrorBadCred) {
  ServerHarness h;
  TestRpcClient c(h.port());
  xdr::XdrEncoder enc;
  for (uint32_t v : {78u, 0u, 2u, kEchoProg, 1u, 0u, 6u /*RPCSEC_GSS*/, 0u, 0u, 0u}) enc.u32(v);
  ASSERT_TRUE(c.send_record(enc.buffer()));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.xid, 78u);
  EXPECT_EQ(r->hdr.stat, MSG_DENIED);
  EXPECT_EQ(r->hdr.reject, AUTH_ERROR);
  EXPECT_EQ(r->hdr.auth, AUTH_BADCRED);
  EXPECT_TRUE(c.call(kEchoProg, 1, 0));
}

TEST(RpcServer, HandlerExceptionBecomesSystemErr) {
  ServerHarness h;
  TestRpcClient c(h.port());
  auto r = c.call(kEchoProg, 1, kThrow);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.accept, SYSTEM_ERR);
  EXPECT_TRUE(c.call(kEchoProg, 1, 0));
}

TEST(RpcServer, ManyPipelinedCallsOnOneConnectionAreAllAnswered) {
  ServerHarness h;
  TestRpcClient c(h.port());
  constexpr int kCalls = 500;
  std::map<uint32_t, std::vector<uint8_t>> sent;
  for (int i = 0; i < kCalls; ++i) {
    auto payload = bytes_of("call-" + std::to_string(i));
    uint32_t xid =
        c.send_call(kEchoProg, 1, (i % 5 == 0) ? 0u : uint32_t{kEcho}, echo_args(payload));
    sent[xid] = (i % 5 == 0) ? std::vector<uint8_t>{} : payload;
  }
  for (int i = 0; i < kCalls; ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r) << "reply " << i;
    auto it = sent.find(r->hdr.xid);
    ASSERT_NE(it, sent.end()) << "unexpected or duplicate xid " << r->hdr.xid;
    EXPECT_EQ(r->hdr.accept, SUCCESS);
    if (!it->second.empty()) {
      EXPECT_EQ(decode_echo(*r), it->second);
    }
    sent.erase(it);
  }
  EXPECT_TRUE(sent.empty());
}

TEST(RpcServer, MultiFragmentCallIsAssembled) {
  ServerHarness h;
  TestRpcClient c(h.port());
  xdr::XdrEncoder enc;
  encode_call(enc, 9, kEchoProg, 1, kEcho, nullptr);
  enc.var_opaque(bytes_of("fragmented"));
  const auto& body = enc.buffer();
  std::vector<uint8_t> wire;
  size_t cuts[] = {0, 5, 17, body.size()};
  for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
    uint32_t len = static_cast<uint32_t>(cuts[i + 1] - cuts[i]);
    uint32_t h32 = len | (i + 2 == std::size(cuts) ? 0x80000000u : 0);
    for (int s = 24; s >= 0; s -= 8) wire.push_back(uint8_t(h32 >> s));
    wire.insert(wire.end(), body.begin() + cuts[i], body.begin() + cuts[i + 1]);
  }
  ASSERT_TRUE(c.send_raw(wire));
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.xid, 9u);
  EXPECT_EQ(decode_echo(*r), bytes_of("fragmented"));
}

TEST(RpcServer, DropDispositionSendsNothingAndLaterCallsAreAnswered) {
  ServerHarness h;
  TestRpcClient c(h.port());
  c.send_call(kEchoProg, 1, kDrop, {});
  uint32_t xid = c.send_call(kEchoProg, 1, 0, {});
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.xid, xid);
  EXPECT_FALSE(c.read_record(100ms));
}

TEST(RpcServer, CloseDispositionClosesOnlyThatConnection) {
  ServerHarness h;
  TestRpcClient other(h.port());
  ASSERT_TRUE(other.call(kEchoProg, 1, 0));
  TestRpcClient c(h.port());
  c.send_call(kEchoProg, 1, kClose, {});
  EXPECT_TRUE(c.wait_for_close());
  EXPECT_TRUE(other.call(kEchoProg, 1, 0));
}

TEST(RpcServer, OversizedRecordClosesTheConnection) {
  auto o = ServerHarness::small_options();
  o.max_record = 1024;
  ServerHarness h(o);
  TestRpcClient c(h.port());
  std::vector<uint8_t> big(2000, 0);
  auto r = c.call(kEchoProg, 1, kEcho, echo_args(big));
  EXPECT_FALSE(r);
  EXPECT_TRUE(c.wait_for_close());
}

TEST(RpcServer, InflightLimitBoundsConcurrentHandlersWithoutDroppingCalls) {
  auto o = ServerHarness::small_options();
  o.worker_threads = 4;
  o.max_inflight_per_connection = 2;
  ServerHarness h(o);
  TestRpcClient c(h.port());
  constexpr int kCalls = 12;
  for (int i = 0; i < kCalls; ++i) c.send_call(kEchoProg, 1, kBlock, u32_args(10));
  for (int i = 0; i < kCalls; ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->hdr.accept, SUCCESS);
  }
  EXPECT_EQ(h.echo().blocks_done(), kCalls);
  EXPECT_LE(h.echo().max_running(), 2);
}

TEST(RpcServer, CallsOnSeparateConnectionsRunConcurrently) {
  auto o = ServerHarness::small_options();
  o.worker_threads = 4;
  ServerHarness h(o);
  std::vector<std::unique_ptr<TestRpcClient>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<TestRpcClient>(h.port()));
    clients.back()->send_call(kEchoProg, 1, kBlock, u32_args(100));
  }
  for (auto& c : clients) ASSERT_TRUE(c->read_reply());
  EXPECT_GE(h.echo().max_running(), 2);
}

TEST(RpcServer, QuickCallsRunOnTheEventLoopAndOthersOnThePool) {
  auto o = ServerHarness::small_options();
  o.io_threads = 1;
  o.worker_threads = 3;
  ServerHarness h(o);
  TestRpcClient c(h.port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.call(kEchoProg, 1, kEcho, echo_args(bytes_of("x"))));
    ASSERT_TRUE(c.call(kEchoProg, 1, kBlock, u32_args(0)));
  }
  auto loop = h.echo().echo_threads();
  auto pool = h.echo().other_threads();
  ASSERT_EQ(loop.size(), 1u);  // one loop: every inline call ran on its thread
  EXPECT_EQ(pool.count(*loop.begin()), 0u);
}

TEST(RpcServer, AQuickCallIsAnsweredWhileSlowCallsOfItsConnectionWait) {
  auto o = ServerHarness::small_options();
  o.io_threads = 1;
  o.worker_threads = 2;
  ServerHarness h(o);
  TestRpcClient c(h.port());
  c.send_call(kEchoProg, 1, kBlock, u32_args(2000));
  c.send_call(kEchoProg, 1, kBlock, u32_args(2000));
  auto r = c.call(kEchoProg, 1, kEcho, echo_args(bytes_of("quick")));
  ASSERT_TRUE(r);
  EXPECT_EQ(decode_echo(*r), bytes_of("quick"));  // the echo's reply came first
  EXPECT_EQ(h.echo().blocks_done(), 0);           // while both slow calls still ran
  ASSERT_TRUE(c.read_reply());
  ASSERT_TRUE(c.read_reply());
}

TEST(RpcServer, ConnectionsBeyondMaxAreClosedImmediately) {
  auto o = ServerHarness::small_options();
  o.max_connections = 2;
  ServerHarness h(o);
  TestRpcClient a(h.port()), b(h.port());
  ASSERT_TRUE(a.call(kEchoProg, 1, 0));
  ASSERT_TRUE(b.call(kEchoProg, 1, 0));
  TestRpcClient c(h.port());
  EXPECT_TRUE(c.wait_for_close());
  EXPECT_TRUE(a.call(kEchoProg, 1, 0));
  // A slot frees up when a connection closes.
  b.close();
  for (int i = 0; i < 200 && h.server().connection_count() > 1; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  TestRpcClient d(h.port());
  EXPECT_TRUE(d.call(kEchoProg, 1, 0));
}

TEST(RpcServer, StopFinishesInflightHandlersThenRunReturns) {
  ServerHarness h;
  TestRpcClient c(h.port());
  c.send_call(kEchoProg, 1, kBlock, u32_args(200));
  for (int i = 0; i < 200 && h.echo().max_running() == 0; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(h.echo().max_running(), 1);
  auto t0 = std::chrono::steady_clock::now();
  h.stop();
  EXPECT_EQ(h.echo().blocks_done(), 1);  // run() waited for the handler
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_TRUE(c.wait_for_close());
  EXPECT_EQ(h.server().connection_count(), 0u);
}

// With busy polling the event loops poll instead of sleeping right after
// work: calls one at a time and pipelined are answered, quick calls still
// run on the loop, and stop() still ends run() with a handler in flight.
TEST(RpcServer, BusyPollingLoopsAnswerEveryCallAndStillStop) {
  net::ServerOptions o = ServerHarness::small_options();
  o.busy_poll = std::chrono::microseconds(200);
  ServerHarness h(o);
  TestRpcClient c(h.port());
  for (int i = 0; i < 200; ++i) {
    auto payload = bytes_of("one-" + std::to_string(i));
    auto r = c.call(kEchoProg, 1, kEcho, echo_args(payload));
    ASSERT_TRUE(r) << "call " << i;
    EXPECT_EQ(decode_echo(*r), payload);
  }
  std::map<uint32_t, std::vector<uint8_t>> sent;
  for (int i = 0; i < 100; ++i) {
    auto payload = bytes_of("piped-" + std::to_string(i));
    sent[c.send_call(kEchoProg, 1, kEcho, echo_args(payload))] = payload;
  }
  for (int i = 0; i < 100; ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r) << "reply " << i;
    auto it = sent.find(r->hdr.xid);
    ASSERT_NE(it, sent.end());
    EXPECT_EQ(decode_echo(*r), it->second);
    sent.erase(it);
  }
  // Idle long past the polling window, then a call is still answered.
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(c.call(kEchoProg, 1, 0));
  c.send_call(kEchoProg, 1, kBlock, u32_args(100));
  for (int i = 0; i < 200 && h.echo().max_running() == 0; ++i) std::this_thread::sleep_for(2ms);
  h.stop();
  EXPECT_EQ(h.echo().blocks_done(), 1);
  EXPECT_TRUE(c.wait_for_close());
}

// The busy-poll window opens only when the loop has answered a call itself.
// After a call it handed to the pool the loop sleeps in epoll_wait(): the
// worker (a 1 MiB READ's sendfile, say) and the client get the CPU. The
// loop thread's scheduler state tells: a polling loop is always runnable
// (it only yields), a sleeping one is not, however loaded the machine.
TEST(RpcServer, OnlyACallAnsweredOnTheLoopOpensTheBusyPollWindow) {
  net::ServerOptions o = ServerHarness::small_options();
  o.io_threads = 1;
  o.busy_poll = std::chrono::microseconds(400000);
  ServerHarness h(o);
  TestRpcClient c(h.port());
  auto runnable_of_20 = [&] {  // samples over 100 ms
    int n = 0;
    for (int i = 0; i < 20; i++) {
      n += h.echo().echo_thread_state() == 'R';
      std::this_thread::sleep_for(5ms);
    }
    return n;
  };
  ASSERT_TRUE(c.call(kEchoProg, 1, kEcho, echo_args(bytes_of("on the loop"))));
  EXPECT_GE(runnable_of_20(), 15);     // polling: the window is there
  std::this_thread::sleep_for(400ms);  // and over
  EXPECT_LE(runnable_of_20(), 2);
  ASSERT_TRUE(c.call(kEchoProg, 1, kBlock, u32_args(0)));  // answered by a worker
  EXPECT_LE(runnable_of_20(), 2);                          // still asleep
  ASSERT_TRUE(c.call(kEchoProg, 1, kEcho, echo_args(bytes_of("again"))));
  EXPECT_GE(runnable_of_20(), 15);
}

// A call begun on the event loop whose handler finds it would have to wait
// goes on to the worker pool and runs there once more, with one reply; a
// call that did not ask is never run twice.
TEST(RpcServer, AnInlineCallThatDefersRunsAgainOnThePoolAndIsAnsweredOnce) {
  ServerHarness h;
  TestRpcClient c(h.port());
  for (int i = 0; i < 20; ++i) {
    auto r = c.call(kEchoProg, 1, kDeferred);
    ASSERT_TRUE(r) << "call " << i;
    xdr::XdrDecoder d(r->body);
    EXPECT_EQ(d.u32(), 0u);  // ran with may_defer off: on the pool
  }
  EXPECT_EQ(h.echo().defer_asks(), 20);
  EXPECT_EQ(h.server().deferred_calls(), 20u);
  // Pipelined, mixed with calls that stay on the loop.
  std::map<uint32_t, bool> sent;
  for (int i = 0; i < 50; ++i) {
    sent[c.send_call(kEchoProg, 1, kDeferred, {})] = true;
    sent[c.send_call(kEchoProg, 1, kEcho, echo_args(bytes_of("e")))] = false;
  }
  for (int i = 0; i < 100; ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r) << "reply " << i;
    ASSERT_EQ(sent.erase(r->hdr.xid), 1u) << "a second reply to xid " << r->hdr.xid;
  }
  EXPECT_EQ(h.echo().defer_asks(), 70);
  EXPECT_EQ(h.server().deferred_calls(), 70u);
}

TEST(RpcServer, StopIsIdempotentAndWorksBeforeRun) {
  EchoProgram echo;
  net::ServerOptions o;
  o.port = 0;
  net::RpcServer s(o, {&echo});
  ASSERT_TRUE(s.start().is_ok());
  s.stop();
  s.stop();
  std::thread t([&] { s.run(false); });
  t.join();  // returns at once
  s.stop();
}

TEST(RpcServer, StopFromAnotherThreadWhileClientsAreBusy) {
  ServerHarness h;
  std::atomic<bool> done{false};
  std::thread client([&] {
    TestRpcClient c(h.port());
    while (!done && c.call(kEchoProg, 1, kEcho, echo_args(bytes_of("x")))) {
    }
  });
  std::this_thread::sleep_for(50ms);
  h.stop();
  done = true;
  client.join();
}

TEST(RpcServer, DestructorStopsARunningServer) {
  EchoProgram echo;
  net::ServerOptions o;
  o.port = 0;
  auto s = std::make_unique<net::RpcServer>(o, std::vector<RpcProgram*>{&echo});
  ASSERT_TRUE(s->start().is_ok());
  net::RpcServer* raw = s.get();
  std::thread t([raw] { raw->run(false); });
  TestRpcClient c(s->port());
  ASSERT_TRUE(c.call(kEchoProg, 1, 0));
  s.reset();  // stops and waits for run() to return
  t.join();
  EXPECT_TRUE(c.wait_for_close());
}

TEST(RpcServer, DestructorWithoutRunIsClean) {
  EchoProgram echo;
  net::ServerOptions o;
  o.port = 0;
  net::RpcServer s(o, {&echo});
  ASSERT_TRUE(s.start().is_ok());
}

}  // namespace
}  // namespace pnfsgw::rpc::testing
