// The client's RPC transport: one blocking TCP connection with record
// marking (RFC 5531 11), xid allocation and a reader thread.
//
// The reader thread hands each REPLY record to the caller waiting on its xid,
// so several threads can have calls in flight on one connection. CALL
// records (the NFSv4.1 backchannel: the server calls CB_NULL / CB_COMPOUND on
// this connection) go to a second thread that runs the CallHandler and sends
// its reply, so a handler may itself make calls on this connection.
//
// Owns the socket and both threads; the destructor closes and joins. All
// public methods are safe from any thread, except that the destructor must
// not run on the callback thread (i.e. inside a CallHandler).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "gateway/rpc/rpc.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::rpc {
class RecordFramer;
}  // namespace pnfsgw::rpc

namespace pnfsgw::client {

// A reply to one call: the whole record, with the procedure results (the
// bytes after an accepted SUCCESS reply header) starting at results_offset.
struct RpcReply {
  std::vector<uint8_t> record;
  size_t results_offset = 0;
  std::span<const uint8_t> results() const {
    return std::span<const uint8_t>(record).subspan(results_offset);
  }
};

// Parses an RPC reply record (RFC 5531 9). Returns the offset of the
// procedure results, or EBADMSG (undecodable or not a REPLY), EACCES
// (MSG_DENIED/AUTH_ERROR), EPROTO (other denials and accept statuses).
Result<size_t> parse_rpc_reply(std::span<const uint8_t> record, uint32_t* xid = nullptr);

// Answers a CALL received on the connection. Fills `results` with the
// procedure results and returns the accept status (SUCCESS, PROC_UNAVAIL,
// ...). Runs on the connection's callback thread.
using CallHandler = std::function<rpc::AcceptStat(const rpc::CallHeader& hdr, xdr::XdrDecoder& args,
                                                  xdr::XdrEncoder& results)>;

struct RpcClientOptions {
  size_t max_record = 16u << 20;  // larger incoming records close the connection
  std::chrono::milliseconds connect_timeout{5000};
};

class RpcClientConnection {
 public:
  // Connects to host:port (numeric or resolvable host). ECONNREFUSED,
  // ETIMEDOUT, or another errno on failure.
  static Result<std::unique_ptr<RpcClientConnection>> connect(const std::string& host,
                                                              uint16_t port,
                                                              RpcClientOptions opts = {});
  // Takes ownership of a connected stream socket (e.g. one end of a
  // socketpair in tests).
  static std::unique_ptr<RpcClientConnection> adopt(int fd, RpcClientOptions opts = {});

  ~RpcClientConnection();
  RpcClientConnection(const RpcClientConnection&) = delete;
  RpcClientConnection& operator=(const RpcClientConnection&) = delete;

  // Sends a CALL and waits for its reply. Errors: ETIMEDOUT, ECONNRESET
  // (connection closed before the reply), plus those of parse_rpc_reply.
  Result<RpcReply> call(uint32_t prog, uint32_t vers, uint32_t proc, const rpc::AuthSysParams* cred,
                        std::span<const uint8_t> args, std::chrono::milliseconds timeout);
  // call() with the arguments in pieces sent back to back (one sendmsg), so
  // large data (a WRITE's) goes from the caller's memory to the socket
  // without a userspace copy. The pieces must be XDR-aligned together, i.e.
  // their concatenation is the encoded arguments. EMSGSIZE if they exceed
  // one record fragment.
  Result<RpcReply> call_gather(uint32_t prog, uint32_t vers, uint32_t proc,
                               const rpc::AuthSysParams* cred,
                               std::span<const std::span<const uint8_t>> args,
                               std::chrono::milliseconds timeout);

  // Gives back a reply's record buffer (RpcReply::record, its contents no
  // longer needed) for the reader to receive a later large record into:
  // saves allocating, zeroing and faulting in a fresh 1 MiB per READ reply.
  // Buffers too small to matter are freed.
  void recycle(std::vector<uint8_t> buf);

  // Handler for CALL records arriving from the peer. Without one, calls are
  // answered PROG_UNAVAIL.
  void set_call_handler(CallHandler handler);

  // Closes the socket; pending calls fail with ECONNRESET. Idempotent.
  void close();
  bool is_open() const;
  std::string peer() const { return peer_; }

 private:
  // A call waiting for its reply; lives on the caller's stack, listed in
  // pending_ from before the CALL is sent until the reply arrives, the
  // connection fails or the caller gives up (all under mu_).
  struct Pending {
    uint32_t xid = 0;
    bool done = false;                                                // GUARDED_BY(mu_)
    Result<std::vector<uint8_t>> record = Status::error(ECONNRESET);  // GUARDED_BY(mu_)
    std::condition_variable cv;
  };

  RpcClientConnection(int fd, RpcClientOptions opts, std::string peer);
  void reader_loop();
  void callback_loop();
  void dispatch_record(std::vector<uint8_t> record);
  void answer_call(const std::vector<uint8_t>& record);
  // Sends head (starting with the record mark) and then rest, in one
  // sendmsg when the socket takes it all. Caller holds send_mu_.
  Status send_locked(std::span<const uint8_t> head, std::span<const std::span<const uint8_t>> rest);
  void fail_all_pending(int err);
  void complete_locked(Pending* p, Result<std::vector<uint8_t>> record);
  void erase_pending_locked(const Pending* p);
  void refill_spare(rpc::RecordFramer& framer);

  const RpcClientOptions opts_;
  const std::string peer_;
  int fd_;  // -1 once closed; guarded by send_mu_ for writes

  std::mutex send_mu_;         // serializes whole records onto the socket
  xdr::XdrEncoder call_head_;  // GUARDED_BY(send_mu_): record mark + CALL header, reused

  mutable std::mutex mu_;
  uint32_t next_xid_;                       // GUARDED_BY(mu_)
  std::vector<Pending*> pending_;           // GUARDED_BY(mu_); few, so a vector
  bool closed_ = false;                     // GUARDED_BY(mu_)
  std::deque<std::vector<uint8_t>> calls_;  // GUARDED_BY(mu_)
  std::condition_variable calls_cv_;
  CallHandler handler_;  // GUARDED_BY(mu_)

  std::mutex spare_mu_;
  std::vector<std::vector<uint8_t>> spares_;  // GUARDED_BY(spare_mu_)
  std::atomic<size_t> spare_count_{0};        // spares_.size(), read without the lock

  std::thread reader_;
  std::thread callback_thread_;
};

}  // namespace pnfsgw::client
