#include "client/rpc_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <random>

#include "common/log.h"
#include "gateway/rpc/record.h"

namespace pnfsgw::client {
using xdr::XdrDecoder;
using xdr::XdrEncoder;

namespace {
constexpr uint32_t kLastFragment = 0x80000000u;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kDirectReadMin = 16 * 1024;  // fragment bytes left to read them in place
constexpr size_t kMaxSpares = 4;              // recycled record buffers kept per connection
constexpr size_t kMaxInlineIov = 8;           // gather pieces sent without allocating
// Arguments that leave room for the CALL header (at most ~1.5 KiB with a
// full AUTH_SYS credential) in one 31-bit record fragment (RFC 5531 11).
constexpr size_t kMaxCallArgs = 0x7fffffffu - 4096;

uint32_t initial_xid() {
  std::random_device rd;
  return rd();
}

// Starts a record: 4 bytes for the record mark, patched by finish_record().
size_t start_record(XdrEncoder& enc) { return enc.reserve_u32(); }
void finish_record(XdrEncoder& enc, size_t mark) {
  enc.patch_u32(mark, kLastFragment | static_cast<uint32_t>(enc.size() - mark - 4));
}

std::string describe_peer(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return "local";
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof(host), serv, sizeof(serv),
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "local";
  }
  return std::string(host) + ":" + serv;
}

// Non-blocking connect bounded by timeout; returns the connected fd or -errno.
int connect_with_timeout(const addrinfo* ai, std::chrono::milliseconds timeout) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) return -errno;
  int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc == 0) {
      ::close(fd);
      return -ETIMEDOUT;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err ? -1 : 0;
    errno = err;
  }
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    return -err;
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}
}  // namespace

Result<size_t> parse_rpc_reply(std::span<const uint8_t> record, uint32_t* xid_out) {
  XdrDecoder dec(record);
  rpc::ReplyHeader hdr;
  if (!rpc::parse_reply(dec, &hdr)) return Result<size_t>::error(EBADMSG);
  if (xid_out) *xid_out = hdr.xid;
  if (hdr.stat == rpc::MSG_ACCEPTED && hdr.accept == rpc::SUCCESS) {
    return static_cast<size_t>(dec.position() - record.data());
  }
  PLOG_DEBUG("client: rpc reply xid %u not successful (stat %u accept %u reject %u)", hdr.xid,
             hdr.stat, hdr.accept, hdr.reject);
  bool auth = hdr.stat == rpc::MSG_DENIED && hdr.reject == rpc::AUTH_ERROR;
  return Result<size_t>::error(auth ? EACCES : EPROTO);
}

Result<std::unique_ptr<RpcClientConnection>> RpcClientConnection::connect(const std::string& host,
                                                                          uint16_t port,
                                                                          RpcClientOptions opts) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    PLOG_WARN("client: cannot resolve %s: %s", host.c_str(), gai_strerror(rc));
    return Status::error(EHOSTUNREACH);
  }
  int err = ECONNREFUSED;
  int fd = -1;
  for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
    int rc = connect_with_timeout(ai, opts.connect_timeout);
    if (rc >= 0)
      fd = rc;
    else
      err = -rc;
  }
  freeaddrinfo(res);
  if (fd < 0) return Status::error(err);
  return adopt(fd, opts);
}

std::unique_ptr<RpcClientConnection> RpcClientConnection::adopt(int fd, RpcClientOptions opts) {
  std::string peer = describe_peer(fd);
  return std::unique_ptr<RpcClientConnection>(new RpcClientConnection(fd, opts, peer));
}

RpcClientConnection::RpcClientConnection(int fd, RpcClientOptions opts, std::string peer)
    : opts_(opts), peer_(std::move(peer)), fd_(fd), next_xid_(initial_xid()) {
  reader_ = std::thread([this] { reader_loop(); });
  callback_thread_ = std::thread([this] { callback_loop(); });
}

RpcClientConnection::~RpcClientConnection() {
  close();
  if (reader_.joinable()) reader_.join();
  if (callback_thread_.joinable()) callback_thread_.join();
  ::close(fd_);
}

void RpcClientConnection::close() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return;
    closed_ = true;
  }
  // Wakes the reader; the fd itself is closed by the destructor after the
  // threads are joined so its number cannot be reused under them.
  ::shutdown(fd_, SHUT_RDWR);
  calls_cv_.notify_all();
  fail_all_pending(ECONNRESET);
}

bool RpcClientConnection::is_open() const {
  std::lock_guard<std::mutex> lk(mu_);
  return !closed_;
}

void RpcClientConnection::set_call_handler(CallHandler handler) {
  std::lock_guard<std::mutex> lk(mu_);
  handler_ = std::move(handler);
}

void RpcClientConnection::fail_all_pending(int err) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Pending*> pending;
  pending.swap(pending_);
  for (Pending* p : pending) complete_locked(p, Status::error(err));
}

// Notifies under mu_: once done is seen the caller may return and destroy
// *p, so the notify must not come after the unlock.
void RpcClientConnection::complete_locked(Pending* p, Result<std::vector<uint8_t>> record) {
  p->record = std::move(record);
  p->done = true;
  p->cv.notify_one();
}

void RpcClientConnection::erase_pending_locked(const Pending* p) {
  auto it = std::find(pending_.begin(), pending_.end(), p);
  if (it != pending_.end()) pending_.erase(it);
}

void RpcClientConnection::recycle(std::vector<uint8_t> buf) {
  if (buf.capacity() <= rpc::RecordFramer::kSpareMin || buf.capacity() > opts_.max_record + 4)
    return;
  std::lock_guard<std::mutex> lk(spare_mu_);
  if (spares_.size() >= kMaxSpares) return;
  spares_.push_back(std::move(buf));
  spare_count_.store(spares_.size(), std::memory_order_relaxed);
}

void RpcClientConnection::refill_spare(rpc::RecordFramer& framer) {
  if (framer.has_spare() || spare_count_.load(std::memory_order_relaxed) == 0) return;
  std::vector<uint8_t> buf;
  {
    std::lock_guard<std::mutex> lk(spare_mu_);
    if (spares_.empty()) return;
    buf = std::move(spares_.back());
    spares_.pop_back();
    spare_count_.store(spares_.size(), std::memory_order_relaxed);
  }
  framer.give_spare(std::move(buf));
}

Status RpcClientConnection::send_locked(std::span<const uint8_t> head,
                                        std::span<const std::span<const uint8_t>> rest) {
  std::array<iovec, kMaxInlineIov> inline_iov;
  std::vector<iovec> many;
  iovec* iov = inline_iov.data();
  if (rest.size() + 1 > inline_iov.size()) {
    many.resize(rest.size() + 1);
    iov = many.data();
  }
  size_t count = 0;
  auto add = [&](std::span<const uint8_t> p) {
    if (!p.empty()) iov[count++] = iovec{const_cast<uint8_t*>(p.data()), p.size()};
  };
  add(head);
  for (std::span<const uint8_t> p : rest) add(p);
  size_t first = 0;
  while (first < count) {
    msghdr msg{};
    msg.msg_iov = iov + first;
    msg.msg_iovlen = std::min<size_t>(count - first, IOV_MAX);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::error(ECONNRESET);
    // Step past what went out; a partly sent piece continues where it stopped.
    for (size_t left = static_cast<size_t>(n); left > 0;) {
      if (left >= iov[first].iov_len) {
        left -= iov[first++].iov_len;
      } else {
        iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
        left = 0;
      }
    }
  }
  return Status::ok();
}

Result<RpcReply> RpcClientConnection::call(uint32_t prog, uint32_t vers, uint32_t proc,
                                           const rpc::AuthSysParams* cred,
                                           std::span<const uint8_t> args,
                                           std::chrono::milliseconds timeout) {
  std::span<const uint8_t> one[1] = {args};
  return call_gather(prog, vers, proc, cred, one, timeout);
}

Result<RpcReply> RpcClientConnection::call_gather(uint32_t prog, uint32_t vers, uint32_t proc,
                                                  const rpc::AuthSysParams* cred,
                                                  std::span<const std::span<const uint8_t>> args,
                                                  std::chrono::milliseconds timeout) {
  size_t args_size = 0;
  for (std::span<const uint8_t> p : args) args_size += p.size();
  if (args_size > kMaxCallArgs) return Status::error(EMSGSIZE);
  Pending pending;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return Status::error(ECONNRESET);
    pending.xid = next_xid_++;
    pending_.push_back(&pending);
  }
  Status sent;
  {
    // The header goes into call_head_'s memory (no allocation per call),
    // the arguments straight from the caller's.
    std::lock_guard<std::mutex> lk(send_mu_);
    call_head_.truncate(0);
    size_t mark = start_record(call_head_);
    rpc::encode_call(call_head_, pending.xid, prog, vers, proc, cred);
    call_head_.patch_u32(
        mark, kLastFragment | static_cast<uint32_t>(call_head_.size() - mark - 4 + args_size));
    sent = send_locked(std::span<const uint8_t>(call_head_.data(), call_head_.size()), args);
  }
  std::unique_lock<std::mutex> lk(mu_);
  if (!sent) {
    erase_pending_locked(&pending);
    return sent;
  }
  if (!pending.cv.wait_for(lk, timeout, [&] { return pending.done; })) {
    erase_pending_locked(&pending);
    return Status::error(ETIMEDOUT);
  }
  lk.unlock();
  Result<std::vector<uint8_t>> got = std::move(pending.record);
  if (!got) return got.status();
  Result<size_t> off = parse_rpc_reply(*got);
  if (!off) return off.status();
  return RpcReply{std::move(got).value(), *off};
}

void RpcClientConnection::reader_loop() {
  rpc::RecordFramer framer(opts_.max_record);
  std::vector<uint8_t> buf(kReadChunk);
  for (;;) {
    refill_spare(framer);
    // The rest of a large fragment (a 1 MiB READ reply) goes straight into
    // the record instead of through buf: one copy less per byte.
    if (std::span<uint8_t> direct = framer.direct_buffer(kDirectReadMin); !direct.empty()) {
      ssize_t n = ::recv(fd_, direct.data(), direct.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (framer.commit_direct(static_cast<size_t>(n)) == rpc::RecordFramer::State::kRecord)
        dispatch_record(framer.take_record());
      continue;
    }
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::span<const uint8_t> in(buf.data(), static_cast<size_t>(n));
    bool too_large = false;
    while (!in.empty()) {
      size_t used = 0;
      auto state = framer.feed(in, &used);
      in = in.subspan(used);
      if (state == rpc::RecordFramer::State::kRecord) {
        dispatch_record(framer.take_record());
      } else if (state == rpc::RecordFramer::State::kTooLarge) {
        PLOG_WARN("client: record from %s exceeds %zu bytes; closing", peer_.c_str(),
                  opts_.max_record);
        too_large = true;
        break;
      } else if (used == 0) {
        break;
      }
    }
    if (too_large) break;
  }
  close();
}

void RpcClientConnection::dispatch_record(std::vector<uint8_t> record) {
  XdrDecoder dec(record.data(), record.size());
  uint32_t xid = dec.u32();
  uint32_t mtype = dec.u32();
  if (!dec.ok()) {
    PLOG_WARN("client: %zu-byte record from %s is not an RPC message", record.size(),
              peer_.c_str());
    return;
  }
  if (mtype == rpc::CALL) {
    std::lock_guard<std::mutex> lk(mu_);
    calls_.push_back(std::move(record));
    calls_cv_.notify_one();
    return;
  }
  std::lock_guard<std::mutex> lk(mu_);
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [xid](const Pending* p) { return p->xid == xid; });
  if (it == pending_.end()) {
    PLOG_DEBUG("client: reply xid %u matches no pending call (late or bogus)", xid);
    return;
  }
  Pending* p = *it;
  pending_.erase(it);
  complete_locked(p, std::move(record));
}

void RpcClientConnection::callback_loop() {
  for (;;) {
    std::vector<uint8_t> record;
    {
      std::unique_lock<std::mutex> lk(mu_);
      calls_cv_.wait(lk, [&] { return closed_ || !calls_.empty(); });
      if (closed_) return;
      record = std::move(calls_.front());
      calls_.pop_front();
    }
    answer_call(record);
  }
}

void RpcClientConnection::answer_call(const std::vector<uint8_t>& record) {
  XdrDecoder dec(record.data(), record.size());
  rpc::CallHeader hdr;
  rpc::ParseResult pr = rpc::parse_call(dec, &hdr);
  XdrEncoder enc;
  size_t mark = start_record(enc);
  switch (pr) {
    case rpc::ParseResult::kCall: {
      CallHandler handler;
      {
        std::lock_guard<std::mutex> lk(mu_);
        handler = handler_;
      }
      XdrEncoder results;
      rpc::AcceptStat stat = handler ? handler(hdr, dec, results) : rpc::PROG_UNAVAIL;
      if (stat == rpc::PROG_MISMATCH) {
        rpc::encode_prog_mismatch(enc, hdr.xid, 1, 1);
      } else {
        rpc::encode_accepted_reply(enc, hdr.xid, stat);
        if (stat == rpc::SUCCESS && results.size() > 0) {
          size_t at = enc.append_space(results.size());
          std::memcpy(enc.data() + at, results.data(), results.size());
        }
      }
      break;
    }
    case rpc::ParseResult::kRpcMismatch:
      rpc::encode_rpc_mismatch(enc, hdr.xid);
      break;
    case rpc::ParseResult::kAuthBadCred:
      rpc::encode_auth_error(enc, hdr.xid, rpc::AUTH_BADCRED);
      break;
    case rpc::ParseResult::kReply:
    case rpc::ParseResult::kGarbage:
      PLOG_WARN("client: undecodable CALL from %s dropped", peer_.c_str());
      return;
  }
  finish_record(enc, mark);
  std::lock_guard<std::mutex> lk(send_mu_);
  if (!send_locked(std::span<const uint8_t>(enc.data(), enc.size()), {}))
    PLOG_DEBUG("client: backchannel reply to %s not sent", peer_.c_str());
}

}  // namespace pnfsgw::client
