#include "tests/unit/rpc/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace pnfsgw::rpc::testing {

TestRpcClient::TestRpcClient(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fd_ = fd;
}

TestRpcClient::~TestRpcClient() { close(); }

void TestRpcClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TestRpcClient::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool TestRpcClient::send_raw(std::span<const uint8_t> bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool TestRpcClient::send_record(std::span<const uint8_t> body) {
  std::vector<uint8_t> rec(4 + body.size());
  RecordFramer::put_header(rec.data(), static_cast<uint32_t>(body.size()));
  std::copy(body.begin(), body.end(), rec.begin() + 4);
  return send_raw(rec);
}

uint32_t TestRpcClient::send_call(uint32_t prog, uint32_t vers, uint32_t proc,
                                  std::span<const uint8_t> args, const AuthSysParams* cred) {
  uint32_t xid = next_xid_++;
  xdr::XdrEncoder enc;
  encode_call(enc, xid, prog, vers, proc, cred);
  enc.fixed_opaque(args.data(), args.size());
  send_record(enc.buffer());
  return xid;
}

std::optional<std::vector<uint8_t>> TestRpcClient::read_record(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pending_pos_ < pending_.size()) {
      size_t used = 0;
      std::span<const uint8_t> in(pending_.data() + pending_pos_, pending_.size() - pending_pos_);
      RecordFramer::State st = framer_.feed(in, &used);
      pending_pos_ += used;
      if (st == RecordFramer::State::kRecord) return framer_.take_record();
      if (st == RecordFramer::State::kTooLarge) return std::nullopt;
    }
    if (fd_ < 0) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    uint8_t buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    pending_.assign(buf, buf + n);
    pending_pos_ = 0;
  }
}

std::optional<TestReply> TestRpcClient::read_reply(std::chrono::milliseconds timeout) {
  auto rec = read_record(timeout);
  if (!rec) return std::nullopt;
  xdr::XdrDecoder dec(*rec);
  TestReply reply;
  if (!parse_reply(dec, &reply.hdr)) return std::nullopt;
  reply.body.assign(dec.position(), dec.position() + dec.remaining());
  return reply;
}

std::optional<TestReply> TestRpcClient::call(uint32_t prog, uint32_t vers, uint32_t proc,
                                             std::span<const uint8_t> args,
                                             const AuthSysParams* cred) {
  uint32_t xid = send_call(prog, vers, proc, args, cred);
  auto reply = read_reply();
  if (!reply || reply->hdr.xid != xid) return std::nullopt;
  return reply;
}

bool TestRpcClient::wait_for_close(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    uint8_t buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;  // EOF or reset
  }
  return true;
}

std::vector<uint8_t> make_reply_record(uint32_t xid, AcceptStat stat,
                                       std::span<const uint8_t> body) {
  xdr::XdrEncoder enc;
  enc.reserve_u32();
  encode_accepted_reply(enc, xid, stat);
  enc.fixed_opaque(body.data(), body.size());
  std::vector<uint8_t> rec = enc.take();
  RecordFramer::put_header(rec.data(), static_cast<uint32_t>(rec.size() - 4));
  return rec;
}

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace pnfsgw::rpc::testing
