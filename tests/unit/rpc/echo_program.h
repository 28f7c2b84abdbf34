// A small RpcProgram for transport tests, and a fixture that runs an
// RpcServer serving it on an ephemeral port.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "gateway/net/server.h"
#include "tests/unit/rpc/test_client.h"

namespace pnfsgw::rpc::testing {

constexpr uint32_t kEchoProg = 0x20000001;
constexpr uint32_t kEchoMinVers = 1;
constexpr uint32_t kEchoMaxVers = 2;
constexpr uint32_t kCallbackProg = 0x40000001;
constexpr size_t kEchoMax = 1 << 20;

enum EchoProc : uint32_t {
  kEcho = 1,      // opaque<> -> the same opaque<>; bad args -> GARBAGE_ARGS; runs inline
  kCallback = 2,  // {u32 timeout_ms, opaque payload} -> void; send_call(kCallbackProg v1 p1,
                  // payload) back on the caller's connection
  kDrop = 3,      // Disposition::kDrop
  kClose = 4,     // Disposition::kClose
  kBlock = 5,     // u32 ms: sleeps, tracking how many handlers run at once
  kThrow = 6,     // throws
  kWhoAmI = 7,    // -> {flavor, uid, gid, machine, peer}; runs inline
  kDeferred = 8,  // runs inline, asks for the pool (Disposition::kDefer); there
                  // -> u32 ctx.may_defer (0)
};

class EchoProgram : public RpcProgram {
 public:
  uint32_t program() const override { return kEchoProg; }
  uint32_t min_version() const override { return kEchoMinVers; }
  uint32_t max_version() const override { return kEchoMaxVers; }

  bool runs_inline(const CallHeader& hdr, std::span<const uint8_t>) const override {
    return hdr.proc == kEcho || hdr.proc == kWhoAmI || hdr.proc == kDeferred;
  }

  Disposition handle(const CallContext& ctx, xdr::XdrDecoder& args, xdr::XdrEncoder& out,
                     AcceptStat* stat) override {
    {
      std::lock_guard lk(mu_);
      (ctx.hdr.proc == kEcho ? echo_threads_ : block_threads_).insert(std::this_thread::get_id());
    }
    switch (ctx.hdr.proc) {
      case kEcho: {
        echo_tid_ = gettid();
        auto data = args.var_opaque(kEchoMax);
        if (!args.ok() || args.remaining() != 0) {
          *stat = GARBAGE_ARGS;
          return Disposition::kReply;
        }
        out.var_opaque(data);
        return Disposition::kReply;
      }
      case kCallback: {
        uint32_t ms = args.u32();
        auto payload = args.var_opaque(kEchoMax);
        if (!args.ok()) {
          *stat = GARBAGE_ARGS;
          return Disposition::kReply;
        }
        {
          std::lock_guard lk(mu_);
          last_conn_ = ctx.conn;
        }
        ctx.conn->send_call(
            kCallbackProg, 1, 1, nullptr, std::vector<uint8_t>(payload.begin(), payload.end()),
            std::chrono::milliseconds(ms),
            [this](Result<std::vector<uint8_t>> r) { record_result(std::move(r)); });
        return Disposition::kReply;
      }
      case kDrop:
        return Disposition::kDrop;
      case kClose:
        return Disposition::kClose;
      case kBlock: {
        uint32_t ms = args.u32();
        int now = ++running_;
        int seen = max_running_.load();
        while (now > seen && !max_running_.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        --running_;
        ++blocks_done_;
        return Disposition::kReply;
      }
      case kThrow:
        throw std::runtime_error("echo program asked to throw");
      case kDeferred:
        if (ctx.may_defer) {
          defer_asks_++;
          return Disposition::kDefer;
        }
        out.u32(ctx.may_defer ? 1 : 0);
        return Disposition::kReply;
      case kWhoAmI:
        out.u32(ctx.hdr.flavor);
        out.u32(ctx.hdr.sys.uid);
        out.u32(ctx.hdr.sys.gid);
        out.string(ctx.hdr.sys.machine);
        out.string(ctx.conn->peer());
        return Disposition::kReply;
      default:
        *stat = PROC_UNAVAIL;
        return Disposition::kReply;
    }
  }

  // The next backchannel result, in completion order.
  std::optional<Result<std::vector<uint8_t>>> wait_result(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [this] { return taken_ < results_.size(); })) {
      return std::nullopt;
    }
    return results_[taken_++];
  }
  size_t result_count() {
    std::lock_guard lk(mu_);
    return results_.size();
  }
  std::shared_ptr<RpcConnection> last_conn() {
    std::lock_guard lk(mu_);
    return last_conn_;
  }
  int max_running() const { return max_running_.load(); }
  int defer_asks() const { return defer_asks_.load(); }
  // The threads kEcho calls ran on, and those every other call ran on.
  std::set<std::thread::id> echo_threads() {
    std::lock_guard lk(mu_);
    return echo_threads_;
  }
  std::set<std::thread::id> other_threads() {
    std::lock_guard lk(mu_);
    return block_threads_;
  }
  int blocks_done() const { return blocks_done_.load(); }
  // The scheduler state ('R' running or runnable, 'S' asleep, ...) of the
  // thread the last kEcho call ran on: an event loop's, which outlives it.
  char echo_thread_state() const {
    std::ifstream f("/proc/self/task/" + std::to_string(echo_tid_.load()) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t at = stat.rfind(')');  // "tid (comm) S ..."
    return at != std::string::npos && at + 2 < stat.size() ? stat[at + 2] : '?';
  }

 private:
  void record_result(Result<std::vector<uint8_t>> r) {
    {
      std::lock_guard lk(mu_);
      results_.push_back(std::move(r));
    }
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Result<std::vector<uint8_t>>> results_;  // guarded by mu_
  size_t taken_ = 0;                                   // guarded by mu_
  std::shared_ptr<RpcConnection> last_conn_;           // guarded by mu_
  std::set<std::thread::id> echo_threads_;             // guarded by mu_
  std::set<std::thread::id> block_threads_;            // guarded by mu_
  std::atomic<int> running_{0};
  std::atomic<int> defer_asks_{0};
  std::atomic<int> max_running_{0};
  std::atomic<int> blocks_done_{0};
  std::atomic<pid_t> echo_tid_{0};
};

inline std::vector<uint8_t> echo_args(std::span<const uint8_t> data) {
  xdr::XdrEncoder enc;
  enc.var_opaque(data);
  return enc.take();
}

// Runs an RpcServer with an EchoProgram on a background thread.
class ServerHarness {
 public:
  explicit ServerHarness(net::ServerOptions opts = small_options()) {
    opts.host = "127.0.0.1";
    opts.port = 0;
    server_ = std::make_unique<net::RpcServer>(opts, std::vector<RpcProgram*>{&echo_});
    Status st = server_->start();
    EXPECT_TRUE(st.is_ok()) << "start: errno " << st.err();
    thread_ = std::thread([this] { server_->run(false); });
  }
  ~ServerHarness() { stop(); }

  static net::ServerOptions small_options() {
    net::ServerOptions o;
    o.io_threads = 2;
    o.worker_threads = 4;
    o.max_record = 1 << 20;
    o.max_connections = 64;
    return o;
  }

  void stop() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return server_->port(); }
  net::RpcServer& server() { return *server_; }
  EchoProgram& echo() { return echo_; }

 private:
  EchoProgram echo_;  // outlives server_
  std::unique_ptr<net::RpcServer> server_;
  std::thread thread_;
};

}  // namespace pnfsgw::rpc::testing
