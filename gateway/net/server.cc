// The RPC-over-TCP server (server.h), on Boost.Asio with C++20 coroutines.
//
// Threads: opts.io_threads event loops, each an io_context run by one thread
// (its own epoll), and a pool of opts.worker_threads threads for calls that
// may wait. A connection belongs to one loop (round robin at accept) and has
// a strand there; its reader coroutine, its timers and most of its state
// live on that strand. A call's RpcProgram::handle() runs off the strand:
//   - a call the program says runs inline (RpcProgram::runs_inline: quick,
//     never waits) is deferred to the loop itself, so the loop's thread runs
//     it as soon as the reader has gone back to waiting: no hand-off, no
//     futex, no context switch; a handler that finds it would wait after
//     all (CallContext::may_defer) answers Disposition::kDefer, having
//     changed nothing, and the call is posted to the pool as it stands;
//   - any other call (one that waits for the store's group commit, say) is
//     posted to the pool, so the loop goes on serving its other connections
//     and further calls on this one run concurrently.
// One io_context shared by all threads, as before, cost three futex calls
// and two context switches per call: Asio wakes an idle thread to take over
// epoll whenever the thread that ran it goes off to run a handler.
//
// The write side: the handler's thread sends its reply itself when nothing
// else is being written on the connection (one non-blocking send()),
// otherwise the reply joins a queue that the strand drains with gathered
// writes. The queue, the "a write is in progress" flag and the socket's
// closing are guarded by write_mu_.
//
// A reply may carry file parts (rpc::ReplyFileData: a READ's data left in
// the store's device file). They go out with sendfile(2) between the
// encoder's bytes, which are sent with MSG_MORE before them; on loopback the
// page-cache pages go to the socket by reference, so the server copies no
// data byte. Such a record is written by send_record() alone, never inside a
// gathered write: from the handler's thread when the connection is idle, else
// on the strand, waiting for the socket to be writable (async_wait) whenever
// it is full. The parts' hold (the blocks' pin) is released only after the
// record is fully sent, or dropped with the connection.
// "Sent" means sendfile() returned: the socket still holds the page-cache
// pages until the peer has acknowledged them (on loopback: until the client
// has read them). A block freed and written again meanwhile would change
// bytes not yet delivered, so the store detaches the pages of blocks it
// handed out before they are free again (StoreFs::drop_sent,
// Device::drop_cache; tested with a pipe holding the pages).
//
// Large buffers (1 MiB READ replies and WRITE records) are recycled through
// a small pool rather than freed: a fresh one costs a page fault per 4 KiB.
//
// Shutdown goes through one place: Engine::do_stop() on the server strand
// closes the acceptor and every connection. Handler tasks are io_context
// work, so io_context::run() returns only when all connections are gone and
// all in-flight handlers have finished.
//
// Lifetimes: the RpcConnection handed to programs (Connection) holds no Asio
// object, only a pointer to its ConnectionIo that close() clears, so sessions
// may keep it after the server is gone.
#include "gateway/net/server.h"

#include <sched.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/defer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "common/log.h"
#include "gateway/rpc/record.h"

#if defined(__clang__)
#define GUARDED_BY(x) __attribute__((guarded_by(x)))
#else
#define GUARDED_BY(x)
#endif

namespace pnfsgw::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Strand = asio::strand<asio::io_context::executor_type>;
using rpc::Disposition;
using ReplyHandler = rpc::RpcConnection::ReplyHandler;

// Set on an event loop's thread when the next bytes from a client are due
// within microseconds: it has answered a call itself, or read part of a
// record. What opens (and keeps open) the loop's busy-poll window
// (Engine::run_io).
thread_local bool t_more_due = false;

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kDirectReadMin = 16 * 1024;  // fragment bytes left to read them in place
constexpr size_t kMaxWriteBatch = 64;         // records per gathered write
constexpr size_t kMaxFragment = 0x7FFFFFFF;
constexpr size_t kPooledMin = 128 * 1024;  // smaller buffers are not kept
constexpr size_t kPoolBuffers = 32;
// Small buffers (a 4 KiB WRITE's record, a 4 KiB READ's reply) are kept too:
// a fresh one costs a malloc, a zeroing resize and, for replies, the
// encoder's doublings from 256 bytes.
constexpr size_t kSmallPooledMin = 4 * 1024;
constexpr size_t kSmallPoolBuffers = 64;  // of each kind

// Recycled byte buffers. Bounded: at most kPoolBuffers large ones, each no
// larger than the largest record or reply, and kSmallPoolBuffers small ones
// of each kind. Small records and small replies are kept apart: a buffer
// keeps its old bytes as scratch up to its size (records: the record's
// length; replies: the most the encoder ever used), and growing a vector
// past its size zeroes the gap, so a buffer goes back to the same use.
// Safe from any thread.
class BufferPool {
 public:
  enum class Use { kRecord, kReply };
  explicit BufferPool(size_t max_size) : max_size_(max_size) {}
  // A buffer with capacity >= kPooledMin, or an empty one if none is free.
  std::vector<uint8_t> get() { return take(free_); }
  // A buffer with capacity in [kSmallPooledMin, kPooledMin) last used as
  // `use`, or an empty one if none is free.
  std::vector<uint8_t> get_small(Use use) { return take(small(use)); }
  void put(std::vector<uint8_t>&& b, Use use) {
    if (b.capacity() > max_size_ || b.capacity() < kSmallPooledMin) return;
    // Not cleared: its bytes are scratch the next encoder overwrites, so it
    // is not zeroed again (XdrEncoder(std::vector) keeps them).
    const bool large = b.capacity() >= kPooledMin;
    std::lock_guard lk(mu_);
    auto& list = large ? free_ : small(use);
    if (list.size() < (large ? kPoolBuffers : kSmallPoolBuffers)) list.push_back(std::move(b));
  }

 private:
  std::vector<std::vector<uint8_t>>& small(Use use) {
    return use == Use::kRecord ? small_records_ : small_replies_;
  }
  std::vector<uint8_t> take(std::vector<std::vector<uint8_t>>& list) {
    std::lock_guard lk(mu_);
    if (list.empty()) return {};
    std::vector<uint8_t> b = std::move(list.back());
    list.pop_back();
    return b;
  }

  const size_t max_size_;
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> free_;           // GUARDED_BY(mu_)
  std::vector<std::vector<uint8_t>> small_records_;  // GUARDED_BY(mu_)
  std::vector<std::vector<uint8_t>> small_replies_;  // GUARDED_BY(mu_)
};

auto await_ec(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// A record to send: the first len bytes of buf (buf may be longer: a
// recycled buffer keeps its scratch bytes so it is not zeroed again), with
// file.parts spliced in at buf offset file.at when there are any.
struct WireRecord {
  std::vector<uint8_t> buf;
  size_t len = 0;
  rpc::ReplyFileData file;
  size_t wire_size() const { return len + file.bytes; }
};

// Fills in the record mark reserved at the front of enc; it counts the
// file parts.
WireRecord finish_record(xdr::XdrEncoder& enc, rpc::ReplyFileData file = {}) {
  WireRecord r;
  r.buf = enc.take_scratch(&r.len);
  r.file = std::move(file);
  rpc::RecordFramer::put_header(r.buf.data(), static_cast<uint32_t>(r.wire_size() - 4));
  return r;
}

// Source of zero bytes for file parts without a file (holes).
constexpr size_t kZeroChunk = 64 * 1024;
const uint8_t kZeroes[kZeroChunk] = {};

// One non-blocking step of sending the part [part_start, part_end) of a
// record from *sent on: returns 0 when the part is done, EAGAIN when the
// socket is full, else an errno.
int send_bytes(int sock, const uint8_t* data, size_t part_start, size_t part_end, bool more,
               size_t* sent) {
  while (*sent < part_end) {
    ssize_t n = ::send(sock, data + (*sent - part_start), part_end - *sent,
                       MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EWOULDBLOCK ? EAGAIN : errno;
    }
    *sent += static_cast<size_t>(n);
  }
  return 0;
}

int send_file_part(int sock, const rpc::FilePart& p, size_t part_start, bool more, size_t* sent) {
  const size_t part_end = part_start + p.length;
  while (*sent < part_end) {
    const size_t done = *sent - part_start;
    ssize_t n;
    if (p.fd < 0) {
      size_t chunk = std::min(kZeroChunk, part_end - *sent);
      n = ::send(sock, kZeroes, chunk,
                 MSG_DONTWAIT | MSG_NOSIGNAL | (more || chunk < part_end - *sent ? MSG_MORE : 0));
    } else {
      // The socket is non-blocking (ConnectionIo::start), so this never waits.
      off_t off = static_cast<off_t>(p.offset + done);
      n = ::sendfile(sock, p.fd, &off, part_end - *sent);
      if (n == 0) return EIO;  // the file ends before the part: never send short
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EWOULDBLOCK ? EAGAIN : errno;
    }
    *sent += static_cast<size_t>(n);
  }
  return 0;
}

// Sends what is left of rec from *sent (bytes of rec already on the wire)
// without blocking: 0 when all of it is sent, EAGAIN when the socket is
// full (call again when it is writable), else an errno.
int send_record(int sock, const WireRecord& rec, size_t* sent) {
  const size_t total = rec.wire_size();
  if (rec.file.empty()) return send_bytes(sock, rec.buf.data(), 0, rec.len, false, sent);
  const size_t head = rec.file.at;
  if (int e = send_bytes(sock, rec.buf.data(), 0, head, true, sent)) return e;
  size_t pos = head;
  for (const rpc::FilePart& p : rec.file.parts) {
    if (int e = send_file_part(sock, p, pos, pos + p.length < total, sent)) return e;
    pos += p.length;
  }
  // The encoder's bytes after the parts (padding, later COMPOUND results).
  return send_bytes(sock, rec.buf.data() + head, pos, total, false, sent);
}

// Runs a completion callback; a throwing callback must not take down an I/O
// thread and the other connections with it.
void deliver(ReplyHandler& done, Result<std::vector<uint8_t>> r) {
  try {
    done(std::move(r));
  } catch (const std::exception& e) {
    PLOG_ERROR("backchannel reply handler threw: %s", e.what());
  } catch (...) {
    PLOG_ERROR("backchannel reply handler threw");
  }
}

auto log_exception(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      PLOG_ERROR("%s: %s", what, x.what());
    } catch (...) {
      PLOG_ERROR("%s: unknown exception", what);
    }
  };
}

// Runs a program's handler on a worker thread and builds the reply record.
std::pair<Disposition, WireRecord> run_handler(rpc::RpcProgram& program, rpc::CallContext& ctx,
                                               const std::vector<uint8_t>& rec, size_t args_at,
                                               std::vector<uint8_t> reply_buf) {
  xdr::XdrDecoder args(rec.data() + args_at, rec.size() - args_at);
  xdr::XdrEncoder out(std::move(reply_buf));
  out.reserve_u32();
  rpc::encode_accepted_reply(out, ctx.hdr.xid, rpc::SUCCESS);
  const size_t header_end = out.size();
  rpc::AcceptStat stat = rpc::SUCCESS;
  Disposition disp = Disposition::kReply;
  rpc::ReplyFileData file;
  ctx.file_data = &file;
  try {
    disp = program.handle(ctx, args, out, &stat);
  } catch (const std::exception& e) {
    PLOG_ERROR("program %u proc %u threw: %s", ctx.hdr.prog, ctx.hdr.proc, e.what());
    stat = rpc::SYSTEM_ERR;
  } catch (...) {
    PLOG_ERROR("program %u proc %u threw", ctx.hdr.prog, ctx.hdr.proc);
    stat = rpc::SYSTEM_ERR;
  }
  ctx.file_data = nullptr;
  if (disp == Disposition::kDefer && !ctx.may_defer) {
    PLOG_ERROR("program %u proc %u deferred a call already on the pool", ctx.hdr.prog, ctx.hdr.proc);
    disp = Disposition::kReply;
    stat = rpc::SYSTEM_ERR;
  }
  if (disp != Disposition::kReply) return {disp, {}};
  if (stat == rpc::SUCCESS &&
      (out.size() < header_end || out.size() - 4 + file.bytes > kMaxFragment ||
       (!file.empty() && (file.at < header_end || file.at > out.size())))) {
    PLOG_ERROR("program %u proc %u produced a malformed reply", ctx.hdr.prog, ctx.hdr.proc);
    stat = rpc::SYSTEM_ERR;
  }
  if (stat != rpc::SUCCESS) {
    file = {};
    out.truncate(4);
    if (stat == rpc::PROG_MISMATCH) {
      rpc::encode_prog_mismatch(out, ctx.hdr.xid, program.min_version(), program.max_version());
    } else {
      rpc::encode_accepted_reply(out, ctx.hdr.xid, stat);
    }
  }
  return {disp, finish_record(out, std::move(file))};
}

std::string format_peer(const tcp::socket& s) {
  error_code ec;
  tcp::endpoint ep = s.remote_endpoint(ec);
  if (ec) return "?:0";
  std::string ip = ep.address().to_string();
  if (ep.address().is_v6()) ip = "[" + ip + "]";
  return ip + ":" + std::to_string(ep.port());
}

class Engine;
class ConnectionIo;

// The RpcConnection programs and sessions hold. Shared because the client
// controls its lifetime. Owns no Asio object. Safe from any thread.
class Connection final : public rpc::RpcConnection {
 public:
  Connection(uint64_t id, std::string peer, std::shared_ptr<ConnectionIo> io)
      : id_(id), peer_(std::move(peer)), io_(std::move(io)) {}

  uint64_t id() const override { return id_; }
  bool is_open() const override { return open_.load(); }
  std::string peer() const override { return peer_; }
  void send_call(uint32_t prog, uint32_t vers, uint32_t proc, const rpc::AuthSysParams* cred,
                 std::vector<uint8_t> args, std::chrono::milliseconds timeout,
                 ReplyHandler done) override;
  void close() override;
  // Called by ConnectionIo::close(), on its strand: from now on calls fail fast.
  void detach();

 private:
  const uint64_t id_;
  const std::string peer_;
  std::atomic<bool> open_{true};
  mutable std::mutex mu_;
  std::shared_ptr<ConnectionIo> io_ GUARDED_BY(mu_);  // null once closed
};

// The Asio half of a connection: socket, framer, write queue, in-flight
// accounting and pending backchannel calls. Everything but the constructor
// and strand() runs on strand_.
class ConnectionIo : public std::enable_shared_from_this<ConnectionIo> {
 public:
  ConnectionIo(Engine& engine, uint64_t id, tcp::socket socket, Strand strand);
  Strand& strand() { return strand_; }
  void start(std::weak_ptr<Connection> handle);
  void close();
  // rec is a CALL record with its record mark reserved and xid 0.
  void start_call(std::vector<uint8_t> rec, std::chrono::milliseconds timeout, ReplyHandler done);

 private:
  struct OutRecord {
    WireRecord rec;
    bool counts;      // answers a client call: releases an in-flight slot when written
    size_t sent = 0;  // bytes already sent directly by a handler's thread
  };
  struct PendingCall {
    uint64_t seq;
    ReplyHandler done;
    std::unique_ptr<asio::steady_timer> timer;
  };

  asio::awaitable<void> reader(std::shared_ptr<ConnectionIo> self);
  // Any thread: sends rec at once if the connection is idle, else queues it.
  void send_or_queue(WireRecord rec, bool counts);
  // On the strand, with a write in progress (writing_): gathers queued records.
  void write_queued();
  // On the strand: goes on sending batch_'s one record, which has file parts.
  void write_file_record();
  void on_written(error_code ec);
  // Any thread: one answered call; wakes the reader if it waits for a slot.
  void release_slot_any_thread();
  asio::awaitable<bool> on_record(std::vector<uint8_t> rec);
  asio::awaitable<void> acquire_slot();
  void release_slots(size_t n);
  struct CallTask;
  void dispatch(rpc::RpcProgram* program, rpc::CallHeader hdr, std::vector<uint8_t> rec,
                size_t args_at);
  void complete_call(Disposition disp);
  void on_reply(const std::vector<uint8_t>& rec);
  void finish_call(uint32_t xid, uint64_t seq, Result<std::vector<uint8_t>> r);

  Engine& engine_;
  const uint64_t id_;
  tcp::socket socket_;
  Strand strand_;
  std::weak_ptr<Connection> handle_;
  rpc::RecordFramer framer_;
  bool closed_ = false;
  std::atomic<size_t> inflight_{0};  // calls accepted whose reply is not yet written
  const size_t max_inflight_;
  asio::steady_timer slot_signal_;  // reader waits here for an in-flight slot
  const int fd_;                    // socket_'s descriptor, for workers' direct sends
  std::mutex write_mu_;
  bool writing_ = false;             // GUARDED_BY(write_mu_): an async write is in flight
  bool write_closed_ = false;        // GUARDED_BY(write_mu_): socket_ is (being) closed
  std::deque<OutRecord> out_queue_;  // GUARDED_BY(write_mu_)
  std::vector<OutRecord> batch_;     // strand only: the records being written
  std::vector<asio::const_buffer> bufs_;
  std::unordered_map<uint32_t, PendingCall> pending_;
  uint32_t next_xid_;
  uint64_t next_seq_ = 1;
};

struct ProgramMatch {
  rpc::RpcProgram* program = nullptr;  // serves the requested version
  bool known = false;                  // some registered program has this number
  uint32_t low = UINT32_MAX;
  uint32_t high = 0;
};

// The server proper. RpcServer::Impl is this class.
class Engine {
 public:
  Engine(ServerOptions opts, std::vector<rpc::RpcProgram*> programs);
  ~Engine();
  Status start();
  uint16_t port() const { return port_.load(); }
  void run(bool handle_signals);
  void stop();
  size_t connection_count() const;
  uint64_t deferred_calls() const { return deferred_.load(); }
  void note_deferred() { deferred_.fetch_add(1, std::memory_order_relaxed); }

  const ServerOptions& opts() const { return opts_; }
  asio::io_context& pool() { return pool_; }
  BufferPool& buffers() { return buffers_; }
  ProgramMatch find_program(uint32_t prog, uint32_t vers) const;
  void forget(uint64_t id);

 private:
  asio::awaitable<void> accept_loop();
  void admit(tcp::socket sock, Strand strand);
  void do_stop();
  // Runs io until it runs out of work; busy_poll: after handling something,
  // poll for more without sleeping for that long first.
  static void run_io(asio::io_context& io, std::chrono::microseconds busy_poll = {});
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

  const ServerOptions opts_;
  const std::vector<rpc::RpcProgram*> programs_;
  // The event loops; each runs on one thread (concurrency hint 1: Asio then
  // never wakes a second thread for it).
  std::vector<std::unique_ptr<asio::io_context>> loops_;
  std::vector<WorkGuard> loop_guards_;  // keep idle loops running until do_stop()
  size_t next_loop_ = 0;                // accept_loop only
  asio::io_context pool_;               // calls that may wait
  BufferPool buffers_;
  Strand strand_;  // on loops_[0]: acceptor, signals, shutdown
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint16_t> port_{0};
  std::atomic<uint64_t> deferred_{0};  // inline calls that went on to the pool
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> conns_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ GUARDED_BY(run_mu_) = false;
  bool ran_ GUARDED_BY(run_mu_) = false;
};

// ---- Connection ----

void Connection::send_call(uint32_t prog, uint32_t vers, uint32_t proc,
                           const rpc::AuthSysParams* cred, std::vector<uint8_t> args,
                           std::chrono::milliseconds timeout, ReplyHandler done) {
  xdr::XdrEncoder enc;
  enc.reserve_u32();
  rpc::encode_call(enc, 0, prog, vers, proc, cred);  // xid is assigned on the strand
  enc.fixed_opaque(args.data(), args.size());
  std::vector<uint8_t> rec = enc.take();
  std::unique_lock lk(mu_);
  if (!io_) {
    lk.unlock();
    deliver(done, Result<std::vector<uint8_t>>::error(ECONNRESET));
    return;
  }
  // Posting under mu_ orders this call before detach(): the connection's
  // close, and so the end of run(), waits for it.
  auto io = io_;
  asio::post(io->strand(), [io, rec = std::move(rec), timeout, done = std::move(done)]() mutable {
    io->start_call(std::move(rec), timeout, std::move(done));
  });
}

void Connection::close() {
  open_ = false;
  std::lock_guard lk(mu_);
  if (io_) asio::post(io_->strand(), [io = io_] { io->close(); });
}

void Connection::detach() {
  open_ = false;
  std::lock_guard lk(mu_);
  io_.reset();
}

// ---- ConnectionIo ----

ConnectionIo::ConnectionIo(Engine& engine, uint64_t id, tcp::socket socket, Strand strand)
    : engine_(engine),
      id_(id),
      socket_(std::move(socket)),
      strand_(std::move(strand)),
      framer_(engine.opts().max_record),
      max_inflight_(std::max<size_t>(1, engine.opts().max_inflight_per_connection)),
      slot_signal_(strand_),
      fd_(socket_.native_handle()),
      next_xid_(std::random_device{}()) {}

void ConnectionIo::start(std::weak_ptr<Connection> handle) {
  handle_ = std::move(handle);
  // sendfile(2) takes no MSG_DONTWAIT: the socket itself must not block.
  error_code ec;
  socket_.non_blocking(true, ec);
  asio::co_spawn(strand_, reader(shared_from_this()), log_exception("connection reader"));
}

void ConnectionIo::close() {
  if (closed_) return;
  closed_ = true;
  PLOG_DEBUG("connection %llu closed", static_cast<unsigned long long>(id_));
  {
    // Under write_mu_: no worker is inside send() on fd_ while it closes.
    std::lock_guard lk(write_mu_);
    write_closed_ = true;
    out_queue_.clear();
    error_code ec;
    socket_.close(ec);
  }
  slot_signal_.cancel();
  if (auto h = handle_.lock()) h->detach();
  engine_.forget(id_);
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [xid, call] : pending) {
    call.timer->cancel();
    deliver(call.done, Result<std::vector<uint8_t>>::error(ECONNRESET));
  }
}

asio::awaitable<void> ConnectionIo::reader(std::shared_ptr<ConnectionIo> self) {
  std::vector<uint8_t> buf(kReadChunk);
  while (!closed_) {
    error_code ec;
    // The rest of a large fragment goes straight into the record.
    if (std::span<uint8_t> direct = framer_.direct_buffer(kDirectReadMin); !direct.empty()) {
      size_t n = co_await socket_.async_read_some(asio::buffer(direct.data(), direct.size()),
                                                  await_ec(ec));
      if (ec) break;
      const rpc::RecordFramer::State st = framer_.commit_direct(n);
      if (st != rpc::RecordFramer::State::kRecord) {
        t_more_due = true;  // the rest of the record is on its way
      } else if (!co_await on_record(framer_.take_record())) {
        close();
        co_return;
      }
      continue;
    }
    size_t n = co_await socket_.async_read_some(asio::buffer(buf), await_ec(ec));
    if (ec) break;
    std::span<const uint8_t> in(buf.data(), n);
    while (!in.empty() && !closed_) {
      if (!framer_.has_spare()) framer_.give_spare(engine_.buffers().get());
      if (!framer_.has_small_spare())
        framer_.give_small_spare(engine_.buffers().get_small(BufferPool::Use::kRecord));
      size_t used = 0;
      rpc::RecordFramer::State st = framer_.feed(in, &used);
      in = in.subspan(used);
      if (st == rpc::RecordFramer::State::kNeedMore) {
        t_more_due = true;  // the rest of the record is on its way
        break;
      }
      if (st == rpc::RecordFramer::State::kTooLarge) {
        PLOG_WARN("connection %llu: record over %zu bytes; closing",
                  static_cast<unsigned long long>(id_), engine_.opts().max_record);
        close();
        co_return;
      }
      if (!co_await on_record(framer_.take_record())) {
        close();
        co_return;
      }
    }
  }
  close();
}

void ConnectionIo::send_or_queue(WireRecord rec, bool counts) {
  std::unique_lock lk(write_mu_);
  if (write_closed_) return;
  size_t sent = 0;
  if (!writing_ && out_queue_.empty()) {
    // Nothing else is being written: non-blocking sends, from this thread.
    int err = send_record(fd_, rec, &sent);
    if (err == 0) {
      lk.unlock();
      if (counts) release_slot_any_thread();
      engine_.buffers().put(std::move(rec.buf), BufferPool::Use::kReply);
      return;  // rec.file.hold goes here: every byte has left
    }
    if (err != EAGAIN) {
      lk.unlock();
      asio::post(strand_, [self = shared_from_this()] { self->close(); });
      return;
    }
  }
  out_queue_.push_back(OutRecord{std::move(rec), counts, sent});
  if (writing_) return;  // the write in progress picks it up
  writing_ = true;
  lk.unlock();
  asio::post(strand_, [self = shared_from_this()] { self->write_queued(); });
}

void ConnectionIo::write_queued() {
  std::unique_lock lk(write_mu_);
  if (write_closed_) return;
  batch_.clear();
  bufs_.clear();
  if (!out_queue_.front().rec.file.empty()) {
    batch_.push_back(std::move(out_queue_.front()));
    out_queue_.pop_front();
    // Not under write_mu_: while writing_ is set only the strand writes,
    // and the socket closes on the strand.
    lk.unlock();
    write_file_record();
    return;
  }
  // A gathered write of the records before the next one with file parts.
  while (!out_queue_.empty() && batch_.size() < kMaxWriteBatch &&
         out_queue_.front().rec.file.empty()) {
    batch_.push_back(std::move(out_queue_.front()));
    out_queue_.pop_front();
  }
  for (const OutRecord& r : batch_)
    bufs_.push_back(asio::buffer(r.rec.buf.data(), r.rec.len) + r.sent);
  asio::async_write(
      socket_, bufs_,
      asio::bind_executor(
          strand_, [self = shared_from_this()](error_code ec, size_t) { self->on_written(ec); }));
}

void ConnectionIo::write_file_record() {
  if (closed_) {
    batch_.clear();
    return;
  }
  OutRecord& r = batch_.front();
  int err = send_record(fd_, r.rec, &r.sent);
  if (err == EAGAIN) {
    socket_.async_wait(tcp::socket::wait_write,
                       asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) {
                         if (ec) return self->on_written(ec);
                         self->write_file_record();
                       }));
    return;
  }
  on_written(err == 0 ? error_code() : error_code(err, boost::system::system_category()));
}

void ConnectionIo::on_written(error_code ec) {
  if (ec) {
    close();
    batch_.clear();  // releases the file parts' holds
    return;
  }
  size_t answered = 0;
  for (OutRecord& r : batch_) {
    answered += r.counts ? 1 : 0;
    engine_.buffers().put(std::move(r.rec.buf), BufferPool::Use::kReply);
  }
  batch_.clear();
  release_slots(answered);
  {
    std::lock_guard lk(write_mu_);
    if (write_closed_) return;
    if (out_queue_.empty()) {
      writing_ = false;
      return;
    }
  }
  write_queued();
}

void ConnectionIo::release_slot_any_thread() {
  // Only a reader that saw the limit reached can be waiting.
  if (inflight_.fetch_sub(1) == max_inflight_)
    asio::post(strand_, [self = shared_from_this()] { self->slot_signal_.cancel(); });
}

// Handles one complete record. Returns false to close the connection.
asio::awaitable<bool> ConnectionIo::on_record(std::vector<uint8_t> rec) {
  xdr::XdrDecoder dec(rec);
  rpc::CallHeader hdr;
  rpc::ParseResult parsed = rpc::parse_call(dec, &hdr);
  if (parsed == rpc::ParseResult::kGarbage) {
    PLOG_WARN("connection %llu: undecodable RPC message; closing",
              static_cast<unsigned long long>(id_));
    co_return false;
  }
  if (parsed == rpc::ParseResult::kReply) {
    on_reply(rec);
    co_return true;
  }
  // Every call takes a slot, including those answered here, so a client that
  // does not read its replies cannot grow the write queue without bound.
  co_await acquire_slot();
  if (closed_) co_return false;
  xdr::XdrEncoder enc;
  enc.reserve_u32();
  if (parsed == rpc::ParseResult::kRpcMismatch) {
    rpc::encode_rpc_mismatch(enc, hdr.xid);
  } else if (parsed == rpc::ParseResult::kAuthBadCred) {
    rpc::encode_auth_error(enc, hdr.xid, rpc::AUTH_BADCRED);
  } else {
    ProgramMatch m = engine_.find_program(hdr.prog, hdr.vers);
    if (!m.known) {
      rpc::encode_accepted_reply(enc, hdr.xid, rpc::PROG_UNAVAIL);
    } else if (m.program == nullptr) {
      rpc::encode_prog_mismatch(enc, hdr.xid, m.low, m.high);
    } else if (hdr.proc == 0) {
      rpc::encode_accepted_reply(enc, hdr.xid, rpc::SUCCESS);  // NULL procedure
    } else {
      size_t args_at = static_cast<size_t>(dec.position() - rec.data());
      dispatch(m.program, std::move(hdr), std::move(rec), args_at);
      co_return true;
    }
  }
  send_or_queue(finish_record(enc), true);
  co_return true;
}

asio::awaitable<void> ConnectionIo::acquire_slot() {
  // Waiting here stops the reader, so TCP flow control pushes back on the
  // client; no call is ever dropped.
  while (inflight_ >= max_inflight_ && !closed_) {
    error_code ec;
    slot_signal_.expires_at(asio::steady_timer::time_point::max());
    co_await slot_signal_.async_wait(await_ec(ec));
  }
  ++inflight_;
}

void ConnectionIo::release_slots(size_t n) {
  if (n == 0) return;
  size_t cur = inflight_.load();
  while (!inflight_.compare_exchange_weak(cur, cur - std::min(n, cur))) {
  }
  slot_signal_.cancel();
}

// One call to run: on the event loop (may_defer set) or on the pool. It
// owns the record (the handler's decoder views it) and keeps the loop
// running until it has replied.
struct ConnectionIo::CallTask {
  std::shared_ptr<ConnectionIo> self;
  rpc::RpcProgram* program;
  rpc::CallContext ctx;
  std::vector<uint8_t> rec;
  size_t args_at;
  asio::executor_work_guard<asio::io_context::executor_type> guard;

  void operator()() {
    BufferPool& buffers = self->engine_.buffers();
    std::vector<uint8_t> reply_buf = buffers.get();
    if (reply_buf.capacity() == 0) reply_buf = buffers.get_small(BufferPool::Use::kReply);
    auto [disp, reply] = run_handler(*program, ctx, rec, args_at, std::move(reply_buf));
    if (disp == Disposition::kDefer) {
      // The handler would have had to wait: again, on the pool, where it
      // may. It changed nothing; the record is still whole.
      ctx.may_defer = false;
      self->engine_.note_deferred();
      asio::post(self->engine_.pool(), std::move(*this));
      return;
    }
    buffers.put(std::move(rec), BufferPool::Use::kRecord);
    if (disp == Disposition::kReply) {
      self->send_or_queue(std::move(reply), true);
      if (ctx.may_defer) t_more_due = true;  // ran on the loop
      return;
    }
    buffers.put(std::move(reply.buf), BufferPool::Use::kReply);
    asio::post(self->strand_, [self = self, disp = disp] { self->complete_call(disp); });
  }
};

void ConnectionIo::dispatch(rpc::RpcProgram* program, rpc::CallHeader hdr, std::vector<uint8_t> rec,
                            size_t args_at) {
  const bool quick = program->runs_inline(
      hdr, std::span<const uint8_t>(rec.data() + args_at, rec.size() - args_at));
  rpc::CallContext ctx{std::move(hdr), handle_.lock()};
  ctx.may_defer = quick;
  CallTask task{shared_from_this(), program, std::move(ctx), std::move(rec), args_at,
                asio::make_work_guard(strand_.get_inner_executor())};
  // defer (not post) to the loop: the task goes on this thread's private
  // queue and runs right after the reader yields.
  if (quick) {
    asio::defer(strand_.get_inner_executor(), std::move(task));
  } else {
    asio::post(engine_.pool(), std::move(task));
  }
}

void ConnectionIo::complete_call(Disposition disp) {
  if (closed_) return;
  switch (disp) {
    case Disposition::kReply:  // sent by the worker
    case Disposition::kDefer:  // run again on the pool by CallTask; never here
      break;
    case Disposition::kDrop:
      release_slots(1);
      break;
    case Disposition::kClose:
      PLOG_DEBUG("connection %llu: closed by program", static_cast<unsigned long long>(id_));
      close();
      break;
  }
}

void ConnectionIo::start_call(std::vector<uint8_t> rec, std::chrono::milliseconds timeout,
                              ReplyHandler done) {
  if (closed_) {
    deliver(done, Result<std::vector<uint8_t>>::error(ECONNRESET));
    return;
  }
  uint32_t xid = next_xid_++;
  while (pending_.count(xid) != 0) xid = next_xid_++;
  rec[4] = uint8_t(xid >> 24);  // the xid follows the record mark
  rec[5] = uint8_t(xid >> 16);
  rec[6] = uint8_t(xid >> 8);
  rec[7] = uint8_t(xid);
  rpc::RecordFramer::put_header(rec.data(), static_cast<uint32_t>(rec.size() - 4));
  uint64_t seq = next_seq_++;
  auto timer = std::make_unique<asio::steady_timer>(strand_);
  timer->expires_after(timeout);
  timer->async_wait([self = shared_from_this(), xid, seq](error_code ec) {
    if (!ec) self->finish_call(xid, seq, Result<std::vector<uint8_t>>::error(ETIMEDOUT));
  });
  pending_.emplace(xid, PendingCall{seq, std::move(done), std::move(timer)});
  size_t len = rec.size();
  send_or_queue(WireRecord{std::move(rec), len, {}}, false);
}

void ConnectionIo::on_reply(const std::vector<uint8_t>& rec) {
  xdr::XdrDecoder dec(rec);
  rpc::ReplyHeader rh;
  bool ok = rpc::parse_reply(dec, &rh);
  auto it = pending_.find(rh.xid);
  if (it == pending_.end()) {
    PLOG_DEBUG("connection %llu: reply to unknown xid %u", static_cast<unsigned long long>(id_),
               rh.xid);
    return;
  }
  uint64_t seq = it->second.seq;
  if (ok && rh.stat == rpc::MSG_ACCEPTED && rh.accept == rpc::SUCCESS) {
    const uint8_t* body = dec.position();
    finish_call(rh.xid, seq, std::vector<uint8_t>(body, rec.data() + rec.size()));
  } else {
    finish_call(rh.xid, seq, Result<std::vector<uint8_t>>::error(EPROTO));
  }
}

void ConnectionIo::finish_call(uint32_t xid, uint64_t seq, Result<std::vector<uint8_t>> r) {
  auto it = pending_.find(xid);
  if (it == pending_.end() || it->second.seq != seq) return;  // already completed
  PendingCall call = std::move(it->second);
  pending_.erase(it);
  call.timer->cancel();
  deliver(call.done, std::move(r));
}

// ---- Engine ----

namespace {
std::vector<std::unique_ptr<asio::io_context>> make_loops(size_t n) {
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (size_t i = 0; i < std::max<size_t>(1, n); i++)
    loops.push_back(std::make_unique<asio::io_context>(1));
  return loops;
}
}  // namespace

Engine::Engine(ServerOptions opts, std::vector<rpc::RpcProgram*> programs)
    : opts_(std::move(opts)),
      programs_(std::move(programs)),
      loops_(make_loops(opts_.io_threads)),
      buffers_(opts_.max_record + 64 * 1024),
      strand_(asio::make_strand(*loops_[0])),
      acceptor_(strand_),
      signals_(strand_) {
  for (auto& l : loops_) loop_guards_.push_back(asio::make_work_guard(*l));
  // sendfile(2) to a socket the peer has closed raises SIGPIPE (it takes no
  // MSG_NOSIGNAL); the server wants EPIPE instead. Process-wide, as in
  // every server.
  std::signal(SIGPIPE, SIG_IGN);
}

Engine::~Engine() {
  stop();
  std::unique_lock lk(run_mu_);
  run_cv_.wait(lk, [this] { return !running_; });
}

Status Engine::start() {
  error_code ec;
  tcp::resolver resolver(*loops_[0]);
  auto results = resolver.resolve(opts_.host, std::to_string(opts_.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    PLOG_ERROR("cannot resolve %s: %s", opts_.host.c_str(), ec.message().c_str());
    return Status::error(ec ? ec.value() : EADDRNOTAVAIL);
  }
  tcp::endpoint ep = results.begin()->endpoint();
  if (acceptor_.open(ep.protocol(), ec) ||
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec) || acceptor_.bind(ep, ec) ||
      acceptor_.listen(asio::socket_base::max_listen_connections, ec)) {
    PLOG_ERROR("cannot listen on %s:%u: %s", opts_.host.c_str(), opts_.port, ec.message().c_str());
    error_code ignored;
    acceptor_.close(ignored);
    return Status::error(ec.value());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  PLOG_INFO("listening on %s:%u", opts_.host.c_str(), port_.load());
  return Status::ok();
}

void Engine::run(bool handle_signals) {
  {
    std::lock_guard lk(run_mu_);
    if (ran_) {
      PLOG_ERROR("RpcServer::run() called twice");
      return;
    }
    ran_ = running_ = true;
  }
  // Nothing runs on the loops yet, so the strand's objects can be set up here.
  if (handle_signals) {
    error_code ec;
    signals_.add(SIGINT, ec);
    signals_.add(SIGTERM, ec);
    signals_.async_wait([this](error_code ec, int sig) {
      if (ec) return;
      PLOG_INFO("signal %d: stopping", sig);
      stop();
    });
  }
  if (acceptor_.is_open()) asio::co_spawn(strand_, accept_loop(), log_exception("acceptor"));
  // The pool outlives the loops: every pool task holds its loop's work, so
  // the loops return only once those tasks have replied.
  WorkGuard pool_guard = asio::make_work_guard(pool_);
  std::vector<std::thread> workers;
  for (size_t i = 0; i < std::max<size_t>(1, opts_.worker_threads); ++i)
    workers.emplace_back([this] { run_io(pool_); });
  std::vector<std::thread> loop_threads;
  for (size_t i = 1; i < loops_.size(); ++i)
    loop_threads.emplace_back([this, i] { run_io(*loops_[i], opts_.busy_poll); });
  run_io(*loops_[0], opts_.busy_poll);
  for (std::thread& t : loop_threads) t.join();
  pool_guard.reset();
  for (std::thread& t : workers) t.join();
  PLOG_INFO("server stopped");
  // Last statement: the destructor may run as soon as running_ is false.
  std::lock_guard lk(run_mu_);
  running_ = false;
  run_cv_.notify_all();
}

void Engine::run_io(asio::io_context& io, std::chrono::microseconds busy_poll) {
  for (;;) {
    try {
      if (busy_poll.count() <= 0) {
        io.run();
        return;
      }
      // A client with one call outstanding sends its next call a few
      // microseconds after our reply. Sleeping in epoll_wait() in between
      // costs a wake-up (tens of microseconds on a virtual machine whose
      // idle CPU the hypervisor parks); polling for a while costs one
      // non-blocking epoll_wait() per turn. Only a reply this loop sent
      // itself, or part of a record read, opens the window: a call handed
      // to the pool (a 1 MiB READ, a commit) is answered later, from a
      // worker, and polling meanwhile takes a core from that worker and
      // the client (seqread at one and four clients lost 13-39 %).
      while (!io.stopped()) {
        if (io.run_one() == 0) return;  // out of work: the loop is done
        if (!std::exchange(t_more_due, false)) continue;
        auto until = std::chrono::steady_clock::now() + busy_poll;
        while (!io.stopped()) {
          const bool worked = io.poll() > 0;
          const auto now = std::chrono::steady_clock::now();
          if (std::exchange(t_more_due, false))
            until = now + busy_poll;
          else if (now >= until)
            break;
          else if (!worked)
            sched_yield();  // a runnable thread (a local client, a worker) goes first
        }
      }
      return;
    } catch (const std::exception& e) {
      PLOG_ERROR("I/O thread: %s", e.what());
    }
  }
}

void Engine::stop() {
  if (stopping_.exchange(true)) return;
  asio::post(strand_, [this] { do_stop(); });
}

void Engine::do_stop() {
  error_code ec;
  acceptor_.close(ec);
  signals_.clear(ec);  // also cancels the wait and restores the default handlers
  std::vector<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, c] : conns_) conns.push_back(c);
  }
  for (auto& c : conns) c->close();
  // The closes are queued work: each loop returns once its connections are
  // gone and their calls have replied.
  for (WorkGuard& g : loop_guards_) g.reset();
}

size_t Engine::connection_count() const {
  std::lock_guard lk(mu_);
  return conns_.size();
}

void Engine::forget(uint64_t id) {
  std::lock_guard lk(mu_);
  conns_.erase(id);
}

ProgramMatch Engine::find_program(uint32_t prog, uint32_t vers) const {
  ProgramMatch m;
  for (rpc::RpcProgram* p : programs_) {
    if (p->program() != prog) continue;
    m.known = true;
    m.low = std::min(m.low, p->min_version());
    m.high = std::max(m.high, p->max_version());
    if (vers >= p->min_version() && vers <= p->max_version()) m.program = p;
  }
  return m;
}

asio::awaitable<void> Engine::accept_loop() {
  while (!stopping_) {
    Strand conn_strand = asio::make_strand(*loops_[next_loop_++ % loops_.size()]);
    tcp::socket sock(conn_strand);
    error_code ec;
    co_await acceptor_.async_accept(sock, await_ec(ec));
    if (stopping_ || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // E.g. EMFILE: back off instead of spinning on the error.
      PLOG_WARN("accept: %s", ec.message().c_str());
      asio::steady_timer backoff(strand_, std::chrono::milliseconds(50));
      co_await backoff.async_wait(await_ec(ec));
      continue;
    }
    admit(std::move(sock), std::move(conn_strand));
  }
}

void Engine::admit(tcp::socket sock, Strand strand) {
  error_code ec;
  sock.set_option(tcp::no_delay(true), ec);
  std::string peer = format_peer(sock);
  std::shared_ptr<ConnectionIo> io;
  std::shared_ptr<Connection> conn;
  {
    std::lock_guard lk(mu_);
    if (conns_.size() >= opts_.max_connections) {
      PLOG_WARN("connection from %s refused: %zu connections open", peer.c_str(), conns_.size());
      sock.close(ec);
      return;
    }
    uint64_t id = next_id_++;
    io = std::make_shared<ConnectionIo>(*this, id, std::move(sock), std::move(strand));
    conn = std::make_shared<Connection>(id, peer, io);
    conns_.emplace(id, conn);
  }
  PLOG_DEBUG("connection %llu from %s", static_cast<unsigned long long>(conn->id()), peer.c_str());
  io->start(conn);
}

}  // namespace

struct RpcServer::Impl : Engine {
  using Engine::Engine;
};

RpcServer::RpcServer(ServerOptions opts, std::vector<rpc::RpcProgram*> programs)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(programs))) {}
RpcServer::~RpcServer() = default;
Status RpcServer::start() { return impl_->start(); }
uint16_t RpcServer::port() const { return impl_->port(); }
void RpcServer::run(bool handle_signals) { impl_->run(handle_signals); }
void RpcServer::stop() { impl_->stop(); }
size_t RpcServer::connection_count() const { return impl_->connection_count(); }

uint64_t RpcServer::deferred_calls() const { return impl_->deferred_calls(); }

}  // namespace pnfsgw::net
