// Replies with file parts (rpc::ReplyFileData): sent with sendfile(2) in
// the middle of the encoder's bytes, whole among other replies, also when
// the socket fills up; their hold lives until the last byte is sent.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <map>

#include "tests/unit/rpc/echo_program.h"

namespace pnfsgw::rpc::testing {
namespace {

constexpr uint32_t kFileProg = 0x20000002;
constexpr uint32_t kFileSize = 8u << 20;

enum FileProc : uint32_t {
  kParts = 1,        // u32 n, u32 seed -> "HEAD", file[seed..+n), n zeroes, file[0..+n), "TAIL"
  kPartsInline = 2,  // the same, run on the event loop
  kSmall = 3,        // u32 seed -> u32 seed (no file parts)
};

// Serves parts of a memfd holding a byte pattern. Counts live holds.
class FileProgram : public RpcProgram {
 public:
  FileProgram() : fd_(memfd_create("file-parts-test", 0)) {
    std::vector<uint8_t> data(kFileSize);
    for (size_t i = 0; i < data.size(); i++) data[i] = byte_at(i);
    EXPECT_EQ(pwrite(fd_, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  }
  ~FileProgram() override { ::close(fd_); }
  static uint8_t byte_at(size_t i) { return static_cast<uint8_t>(i * 13 + i / 4096); }

  uint32_t program() const override { return kFileProg; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 1; }
  bool runs_inline(const CallHeader& hdr, std::span<const uint8_t>) const override {
    return hdr.proc != kParts;
  }
  Disposition handle(const CallContext& ctx, xdr::XdrDecoder& args, xdr::XdrEncoder& out,
                     AcceptStat* stat) override {
    if (ctx.hdr.proc == kSmall) {
      out.u32(args.u32());
      return Disposition::kReply;
    }
    uint32_t n = args.u32();
    uint32_t seed = args.u32();
    if (!args.ok() || ctx.file_data == nullptr || n > kFileSize / 2) {
      *stat = GARBAGE_ARGS;
      return Disposition::kReply;
    }
    out.fixed_opaque("HEAD", 4);
    ReplyFileData& f = *ctx.file_data;
    f.at = out.size();
    f.parts = {{fd_, seed, n}, {-1, 0, n}, {fd_, 0, n}};
    f.bytes = 3ull * n;
    ++live_;
    f.hold = std::shared_ptr<void>(nullptr, [this](void*) { --live_; });
    out.fixed_opaque("TAIL", 4);
    return Disposition::kReply;
  }
  // The reply body kParts should produce.
  static std::vector<uint8_t> expected(uint32_t n, uint32_t seed) {
    std::vector<uint8_t> b = {'H', 'E', 'A', 'D'};
    for (uint32_t i = 0; i < n; i++) b.push_back(byte_at(seed + i));
    b.insert(b.end(), n, 0);
    for (uint32_t i = 0; i < n; i++) b.push_back(byte_at(i));
    for (char c : std::string("TAIL")) b.push_back(static_cast<uint8_t>(c));
    return b;
  }
  int live() const { return live_.load(); }

 private:
  const int fd_;
  std::atomic<int> live_{0};
};

std::vector<uint8_t> args_of(uint32_t a, uint32_t b = 0) {
  xdr::XdrEncoder enc;
  enc.u32(a);
  enc.u32(b);
  return enc.take();
}

class FileHarness {
 public:
  FileHarness() {
    net::ServerOptions o = ServerHarness::small_options();
    o.host = "127.0.0.1";
    o.port = 0;
    o.max_inflight_per_connection = 64;
    server_ = std::make_unique<net::RpcServer>(o, std::vector<RpcProgram*>{&prog_});
    EXPECT_TRUE(server_->start().is_ok());
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~FileHarness() {
    server_->stop();
    thread_.join();
  }
  uint16_t port() const { return server_->port(); }
  FileProgram& prog() { return prog_; }

 private:
  FileProgram prog_;  // outlives server_
  std::unique_ptr<net::RpcServer> server_;
  std::thread thread_;
};

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 5s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(FileParts, ReplyCarriesFileBytesZeroesAndTheEncodersBytesAroundThem) {
  FileHarness h;
  TestRpcClient c(h.port());
  for (uint32_t proc : {kParts, kPartsInline}) {
    for (uint32_t n : {1u, 4096u, 100000u}) {
      auto r = c.call(kFileProg, 1, proc, args_of(n, 777));
      ASSERT_TRUE(r);
      ASSERT_EQ(r->hdr.accept, SUCCESS);
      EXPECT_EQ(r->body, FileProgram::expected(n, 777)) << proc << " " << n;
    }
  }
  EXPECT_TRUE(wait_until([&] { return h.prog().live() == 0; }));
}

TEST(FileParts, LargeRepliesThatFillTheSocketArriveWholeAmongSmallOnes) {
  FileHarness h;
  TestRpcClient c(h.port());
  // 8 replies of 12 MiB and small ones between them, none read yet: the
  // socket fills up, the rest waits on the connection's strand.
  constexpr uint32_t kN = 4u << 20;
  std::vector<uint32_t> xids;
  for (uint32_t i = 0; i < 8; i++) {
    xids.push_back(c.send_call(kFileProg, 1, i % 2 ? kPartsInline : kParts, args_of(kN, i * 1000)));
    xids.push_back(c.send_call(kFileProg, 1, kSmall, args_of(i)));
  }
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(h.prog().live(), 0);  // unsent parts are still held
  // Calls run concurrently, so replies come in any order, but each whole:
  // a record with file parts is never interleaved with another.
  std::map<uint32_t, TestReply> got;
  for (size_t k = 0; k < xids.size(); k++) {
    auto r = c.read_reply(10s);
    ASSERT_TRUE(r) << k;
    ASSERT_EQ(r->hdr.accept, SUCCESS);
    got[r->hdr.xid] = std::move(*r);
  }
  for (size_t k = 0; k < xids.size(); k++) {
    ASSERT_EQ(got.count(xids[k]), 1u) << k;
    const TestReply& r = got[xids[k]];
    uint32_t i = static_cast<uint32_t>(k / 2);
    if (k % 2 == 0) {
      ASSERT_TRUE(r.body == FileProgram::expected(kN, i * 1000)) << k;
    } else {
      xdr::XdrDecoder d(r.body);
      EXPECT_EQ(d.u32(), i);
    }
  }
  EXPECT_TRUE(wait_until([&] { return h.prog().live() == 0; }));
}

TEST(FileParts, ClosedConnectionReleasesTheHoldsOfUnsentReplies) {
  FileHarness h;
  {
    TestRpcClient c(h.port());
    for (uint32_t i = 0; i < 8; i++) c.send_call(kFileProg, 1, kParts, args_of(4u << 20, i));
    std::this_thread::sleep_for(300ms);
    EXPECT_GT(h.prog().live(), 0);
  }  // closed without reading: sendfile meets EPIPE/ECONNRESET, not SIGPIPE
  EXPECT_TRUE(wait_until([&] { return h.prog().live() == 0; }));
  // The server still serves.
  TestRpcClient c2(h.port());
  auto r = c2.call(kFileProg, 1, kSmall, args_of(5));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hdr.accept, SUCCESS);
}

}  // namespace
}  // namespace pnfsgw::rpc::testing
