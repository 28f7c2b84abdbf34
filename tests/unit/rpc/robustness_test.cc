// Hostile input: every malformed stream ends in an answer or a close, and
// never disturbs a well-behaved client on another connection.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/rpc/echo_program.h"

namespace pnfsgw::rpc::testing {
namespace {

// Keeps making echo calls on its own connection until stopped; counts
// failures.
class WellBehavedClient {
 public:
  explicit WellBehavedClient(uint16_t port) : thread_([this, port] { loop(port); }) {}
  ~WellBehavedClient() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int answered() const { return answered_; }
  int failures() const { return failures_; }

 private:
  void loop(uint16_t port) {
    TestRpcClient c(port);
    uint32_t n = 0;
    while (!stop_) {
      auto payload = bytes_of("good-" + std::to_string(n++));
      auto r = c.call(kEchoProg, 1, kEcho, echo_args(payload));
      if (r && r->hdr.accept == SUCCESS && r->body == echo_args(payload)) {
        ++answered_;
      } else {
        ++failures_;
        return;
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::atomic<int> failures_{0};
  std::thread thread_;
};

// Sends bytes, then half-closes: the server must answer what it can and
// close, within the deadline.
void expect_answer_or_close(uint16_t port, std::span<const uint8_t> bytes, const char* what) {
  TestRpcClient c(port);
  ASSERT_TRUE(c.connected());
  c.send_raw(bytes);  // may fail if the server already closed: fine
  c.shutdown_write();
  EXPECT_TRUE(c.wait_for_close(3s)) << what;
}

class Robustness : public ::testing::Test {
 protected:
  void SetUp() override {
    auto o = ServerHarness::small_options();
    o.max_record = 64 * 1024;
    harness_ = std::make_unique<ServerHarness>(o);
    good_ = std::make_unique<WellBehavedClient>(harness_->port());
    for (int i = 0; i < 400 && good_->answered() == 0; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_GT(good_->answered(), 0);
  }
  void TearDown() override {
    // Still making progress after the abuse (generous: the machine is shared).
    int before = good_->answered();
    for (int i = 0; i < 400 && good_->answered() < before + 5; ++i) {
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_GE(good_->answered(), before + 5) << "the good client stopped getting answers";
    good_->finish();
    EXPECT_EQ(good_->failures(), 0);
    EXPECT_GT(good_->answered(), 0);
  }
  uint16_t port() const { return harness_->port(); }

  std::unique_ptr<ServerHarness> harness_;
  std::unique_ptr<WellBehavedClient> good_;
};

TEST_F(Robustness, GarbageRecordBodyClosesTheConnection) {
  std::vector<uint8_t> rec{0x80, 0, 0, 6, 1, 2, 3, 4, 5, 6};
  TestRpcClient c(port());
  ASSERT_TRUE(c.send_raw(rec));
  EXPECT_TRUE(c.wait_for_close());
}

TEST_F(Robustness, EmptyRecordClosesTheConnection) {
  std::vector<uint8_t> rec{0x80, 0, 0, 0};
  TestRpcClient c(port());
  ASSERT_TRUE(c.send_raw(rec));
  EXPECT_TRUE(c.wait_for_close());
}

TEST_F(Robustness, OversizedRecordMarkClosesTheConnection) {
  std::vector<uint8_t> rec{0xFF, 0xFF, 0xFF, 0xFF};  // last fragment, 0x7FFFFFFF bytes
  TestRpcClient c(port());
  ASSERT_TRUE(c.send_raw(rec));
  EXPECT_TRUE(c.wait_for_close());
  std::vector<uint8_t> nonlast{0x7F, 0xFF, 0xFF, 0xFF};
  TestRpcClient d(port());
  ASSERT_TRUE(d.send_raw(nonlast));
  EXPECT_TRUE(d.wait_for_close());
}

TEST_F(Robustness, TruncatedRecordsThenDisconnectAreHarmless) {
  xdr::XdrEncoder enc;
  enc.reserve_u32();
  encode_call(enc, 1, kEchoProg, 1, kEcho, nullptr);
  enc.var_opaque(bytes_of("truncated"));
  std::vector<uint8_t> rec = enc.take();
  RecordFramer::put_header(rec.data(), static_cast<uint32_t>(rec.size() - 4));
  for (size_t cut = 0; cut < rec.size(); ++cut) {
    expect_answer_or_close(port(), std::span(rec).first(cut), "truncated record");
  }
}

TEST_F(Robustness, TruncatedHeadersInsideCompleteRecordsAreAnsweredOrClosed) {
  xdr::XdrEncoder enc;
  encode_call(enc, 1, kEchoProg, 1, kEcho, nullptr);
  enc.var_opaque(bytes_of("short"));
  const auto& body = enc.buffer();
  for (size_t cut = 0; cut < body.size(); ++cut) {
    std::vector<uint8_t> rec(4 + cut);
    RecordFramer::put_header(rec.data(), static_cast<uint32_t>(cut));
    std::copy(body.begin(), body.begin() + cut, rec.begin() + 4);
    expect_answer_or_close(port(), rec, "truncated header");
  }
}

TEST_F(Robustness, RandomBytesAreAnsweredOrClosed) {
  std::mt19937 rng(20240501);
  for (int round = 0; round < 40; ++round) {
    std::vector<uint8_t> bytes(1 + rng() % 2048);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    expect_answer_or_close(port(), bytes, "random bytes");
  }
}

TEST_F(Robustness, RandomRecordBodiesAreAnsweredOrClosed) {
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    // A valid CALL prefix with random tails, so parsing gets past the header
    // often enough to reach credentials, verifiers and arguments.
    xdr::XdrEncoder enc;
    enc.reserve_u32();
    enc.u32(rng());
    enc.u32(CALL);
    enc.u32(2);
    enc.u32(kEchoProg);
    enc.u32(1 + rng() % 2);
    enc.u32(rng() % 8);
    size_t tail = rng() % 64;
    for (size_t i = 0; i < tail; ++i) enc.u32(rng() % 3 == 0 ? rng() % 8 : rng());
    std::vector<uint8_t> rec = enc.take();
    RecordFramer::put_header(rec.data(), static_cast<uint32_t>(rec.size() - 4));
    expect_answer_or_close(port(), rec, "random record body");
  }
}

TEST_F(Robustness, ManyShortLivedConnectionsAreReaped) {
  for (int i = 0; i < 50; ++i) {
    TestRpcClient c(port());
    ASSERT_TRUE(c.connected());
  }
  for (int i = 0; i < 400 && harness_->server().connection_count() > 1; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(harness_->server().connection_count(), 1u);  // the good client
}

TEST_F(Robustness, ClientThatNeverReadsDoesNotBlockOthers) {
  TestRpcClient c(port());
  std::vector<uint8_t> big(32 * 1024, 0x5A);
  auto args = echo_args(big);
  for (int i = 0; i < 200; ++i) c.send_call(kEchoProg, 1, kEcho, args);
  std::this_thread::sleep_for(100ms);  // the good client keeps going (checked in TearDown)
}

}  // namespace
}  // namespace pnfsgw::rpc::testing
