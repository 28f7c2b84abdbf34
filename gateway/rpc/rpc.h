// ONC RPC (RFC 5531) message types and the interfaces between the transport
// (gateway/net) and the programs it serves (NFSv4, later NFSv3 and MOUNT).
// No Asio here: programs see a CallContext and an RpcConnection.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::rpc {

constexpr uint32_t kRpcVersion = 2;
enum MsgType : uint32_t { CALL = 0, REPLY = 1 };
enum ReplyStat : uint32_t { MSG_ACCEPTED = 0, MSG_DENIED = 1 };
enum AcceptStat : uint32_t {
  SUCCESS = 0,
  PROG_UNAVAIL = 1,
  PROG_MISMATCH = 2,
  PROC_UNAVAIL = 3,
  GARBAGE_ARGS = 4,
  SYSTEM_ERR = 5,
};
enum RejectStat : uint32_t { RPC_MISMATCH = 0, AUTH_ERROR = 1 };
enum AuthStat : uint32_t {
  AUTH_OK = 0,
  AUTH_BADCRED = 1,
  AUTH_REJECTEDCRED = 2,
  AUTH_BADVERF = 3,
  AUTH_REJECTEDVERF = 4,
  AUTH_TOOWEAK = 5,
};
enum AuthFlavor : uint32_t { AUTH_NONE = 0, AUTH_SYS = 1 };

constexpr size_t kMaxAuthBody = 400;     // RFC 5531 8.2: opaque_auth body <= 400
constexpr size_t kMaxMachineName = 255;  // RFC 5531 appendix A
constexpr size_t kMaxAuthSysGids = 16;

struct AuthSysParams {
  uint32_t stamp = 0;
  std::string machine;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> gids;
};

struct CallHeader {
  uint32_t xid = 0;
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t proc = 0;
  uint32_t flavor = AUTH_NONE;
  AuthSysParams sys;  // valid when flavor == AUTH_SYS
};

// What parse_call() found.
enum class ParseResult {
  kCall,         // header decoded; the decoder is at the procedure arguments
  kReply,        // a REPLY message (for a call we sent on the backchannel)
  kRpcMismatch,  // rpcvers != 2: answer MSG_DENIED/RPC_MISMATCH
  kAuthBadCred,  // undecodable or unsupported credential: MSG_DENIED/AUTH_ERROR
  kGarbage,      // not even a header: close the connection
};

// Decodes the RPC message header at the start of dec. For kCall the decoder
// is left at the procedure arguments and *hdr is filled; for kReply only
// hdr->xid is set.
ParseResult parse_call(xdr::XdrDecoder& dec, CallHeader* hdr);

// Reply header writers. All encode an AUTH_NONE verifier.
void encode_accepted_reply(xdr::XdrEncoder& enc, uint32_t xid, AcceptStat stat);
void encode_prog_mismatch(xdr::XdrEncoder& enc, uint32_t xid, uint32_t low, uint32_t high);
void encode_rpc_mismatch(xdr::XdrEncoder& enc, uint32_t xid);
void encode_auth_error(xdr::XdrEncoder& enc, uint32_t xid, AuthStat why);
// A CALL header with the given credential (AUTH_NONE if cred is null).
void encode_call(xdr::XdrEncoder& enc, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                 const AuthSysParams* cred);

// A decoded REPLY header (RFC 5531 9, rpc_msg with mtype REPLY).
struct ReplyHeader {
  uint32_t xid = 0;
  ReplyStat stat = MSG_ACCEPTED;
  AcceptStat accept = SUCCESS;       // when MSG_ACCEPTED
  RejectStat reject = RPC_MISMATCH;  // when MSG_DENIED
  AuthStat auth = AUTH_OK;           // when MSG_DENIED/AUTH_ERROR
  uint32_t low = 0;                  // PROG_MISMATCH or RPC_MISMATCH range
  uint32_t high = 0;
};

// Decodes a REPLY header from the start of a message. On true the decoder is
// at the procedure results (meaningful for MSG_ACCEPTED/SUCCESS). Returns
// false on anything that is not a well-formed reply; out->xid is still set
// when at least the xid was readable.
bool parse_reply(xdr::XdrDecoder& dec, ReplyHeader* out);

// A transport connection. Shared because the client controls its lifetime:
// sessions keep a reference to send callbacks on it. Safe from any thread.
class RpcConnection {
 public:
  using ReplyHandler = std::function<void(Result<std::vector<uint8_t>>)>;
  virtual ~RpcConnection() = default;
  virtual uint64_t id() const = 0;
  virtual bool is_open() const = 0;
  virtual std::string peer() const = 0;  // "ip:port"
  // Sends a CALL on this connection (the NFSv4.1 backchannel). done runs
  // exactly once, on some thread, with the reply's procedure results (the
  // bytes after an accepted SUCCESS reply header) or an errno: ETIMEDOUT,
  // ECONNRESET (connection closed), EPROTO (denied or not SUCCESS).
  // cred and args are encoded before send_call returns (cred may be freed
  // after). On an already closed connection done runs before send_call
  // returns, so don't call it holding a lock that done takes.
  virtual void send_call(uint32_t prog, uint32_t vers, uint32_t proc, const AuthSysParams* cred,
                         std::vector<uint8_t> args, std::chrono::milliseconds timeout,
                         ReplyHandler done) = 0;
  // Closes the connection; pending calls complete with ECONNRESET.
  virtual void close() = 0;
};

// Bytes a reply carries by reference rather than in its encoder (a READ's
// data): `length` bytes of fd at `offset`, which the transport sends with
// sendfile(2), or `length` zero bytes when fd is -1.
struct FilePart {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// File parts a handler attaches to its reply (CallContext::file_data). On
// the wire they go at encoder offset `at`: the encoder's bytes before it,
// the parts, the encoder's bytes from it on; the record mark counts them
// all. `hold` keeps the parts valid (blocks pinned, fds open) and is
// released once their last byte was sent or the reply dropped. One run of
// parts per reply; the transport drops them with a non-SUCCESS reply.
struct ReplyFileData {
  size_t at = 0;
  std::vector<FilePart> parts;
  uint64_t bytes = 0;  // the sum of the parts' lengths
  std::shared_ptr<void> hold;
  bool empty() const { return parts.empty(); }
};

struct CallContext {
  CallHeader hdr;
  std::shared_ptr<RpcConnection> conn;
  // Where a handler may attach file parts to its reply; null when the
  // transport cannot send them (the handler then copies the data).
  ReplyFileData* file_data = nullptr;
  // True when the call runs on an event-loop thread (runs_inline() said so)
  // and may still go to the worker pool: a handler that finds it would have
  // to wait after all returns Disposition::kDefer, having changed nothing
  // and appended nothing.
  bool may_defer = false;
};

// What a program's handler asks the transport to do with its reply.
enum class Disposition {
  kReply,  // send: the encoder holds the procedure results
  kDrop,   // send nothing (e.g. a retry of a request still in progress)
  kClose,  // close the connection
  kDefer,  // only when ctx.may_defer: run the call again, on the worker pool
};

// The largest READ a program should let run inline (RpcProgram::runs_inline):
// beyond it the copy (or, zero-copy, reading pages in from the device for
// sendfile) takes long enough to hold up the event loop's other connections.
constexpr uint32_t kInlineReadMax = 64 * 1024;
// The same for a WRITE that goes into the page cache.
constexpr uint32_t kInlineWriteMax = 64 * 1024;

// A program served by the transport (e.g. NFS 100003 v4). The transport
// answers NULL procedures (proc 0), version and program mismatches itself.
// handle() runs on an event-loop or worker thread, concurrently with other
// calls.
class RpcProgram {
 public:
  virtual ~RpcProgram() = default;
  virtual uint32_t program() const = 0;
  virtual uint32_t min_version() const = 0;
  virtual uint32_t max_version() const = 0;
  // Decode args, run the procedure, append the results to out. On a non-
  // SUCCESS *stat the transport discards what was appended and sends that
  // accept status instead.
  virtual Disposition handle(const CallContext& ctx, xdr::XdrDecoder& args, xdr::XdrEncoder& out,
                             AcceptStat* stat) = 0;
  // True if this call is quick and never waits (no group commit, no lock
  // wait, no callback): the transport may then run it on the event-loop
  // thread that read it, with no hand-off to another thread. args are the
  // call's undecoded arguments. The default, false, is always safe.
  virtual bool runs_inline(const CallHeader& hdr, std::span<const uint8_t> args) const {
    (void)hdr;
    (void)args;
    return false;
  }
};

}  // namespace pnfsgw::rpc
