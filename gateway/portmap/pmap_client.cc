#include "gateway/portmap/pmap_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "common/log.h"
#include "gateway/rpc/record.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::portmap {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// rpcbind accepts SET/UNSET only from the local host; a reserved source
// port (when we may bind one) also satisfies its stricter configurations.
void bind_reserved_port(int fd) {
  if (geteuid() != 0) return;
  for (uint16_t p = 1023; p >= 600; p--) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(p);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return;
  }
}

Status send_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::error(errno == EAGAIN ? ETIMEDOUT : errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::ok();
}

Result<std::vector<uint8_t>> recv_record(int fd) {
  rpc::RecordFramer framer(64 * 1024);
  uint8_t buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::error(errno == EAGAIN ? ETIMEDOUT : errno);
    if (n == 0) return Status::error(ECONNRESET);
    size_t used = 0;
    auto st = framer.feed({buf, static_cast<size_t>(n)}, &used);
    if (st == rpc::RecordFramer::State::kTooLarge) return Status::error(EPROTO);
    if (st == rpc::RecordFramer::State::kRecord) return framer.take_record();
  }
}

}  // namespace

Result<bool> pmap_call(const std::string& host, uint16_t port, pmap_proc proc, const Mapping& m,
                       std::chrono::milliseconds timeout) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return Status::error(EINVAL);
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::error(errno);
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  bind_reserved_port(fd.get());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Status::error(errno == EINPROGRESS ? ETIMEDOUT : errno);

  const uint32_t xid = static_cast<uint32_t>(std::random_device{}());
  rpc::AuthSysParams cred;
  cred.machine = "pnfsgw";
  cred.uid = geteuid();
  cred.gid = getegid();
  xdr::XdrEncoder enc;
  enc.u32(0);  // record mark, filled in below
  rpc::encode_call(enc, xid, PMAP_PROG, PMAP_VERS, proc, &cred);
  enc.u32(m.prog);
  enc.u32(m.vers);
  enc.u32(m.prot);
  enc.u32(m.port);
  rpc::RecordFramer::put_header(enc.data(), static_cast<uint32_t>(enc.size() - 4));
  if (Status s = send_all(fd.get(), enc.data(), enc.size()); !s) return s;

  auto rec = recv_record(fd.get());
  if (!rec) return rec.status();
  xdr::XdrDecoder dec(rec->data(), rec->size());
  rpc::ReplyHeader rh;
  if (!rpc::parse_reply(dec, &rh) || rh.xid != xid) return Status::error(EPROTO);
  if (rh.stat != rpc::MSG_ACCEPTED || rh.accept != rpc::SUCCESS) return Status::error(EPROTO);
  bool ok = dec.boolean();
  if (!dec.ok()) return Status::error(EPROTO);
  return ok;
}

Status PmapRegistration::register_all(const std::vector<std::pair<uint32_t, uint32_t>>& prog_vers,
                                      uint16_t port) {
  for (auto [prog, vers] : prog_vers) {
    Mapping m{prog, vers, IPPROTO_TCP_NUM, port};
    // A mapping left by an earlier instance would make SET fail.
    if (auto r = pmap_call(host_, pmap_port_, PMAPPROC_UNSET, m); !r) return r.status();
    auto r = pmap_call(host_, pmap_port_, PMAPPROC_SET, m);
    if (!r) return r.status();
    if (!*r) return Status::error(EEXIST);
    registered_.push_back(m);
  }
  return Status::ok();
}

void PmapRegistration::unregister_all() {
  for (const Mapping& m : registered_) {
    auto r = pmap_call(host_, pmap_port_, PMAPPROC_UNSET, m);
    if (!r || !*r)
      PLOG_WARN("rpcbind: UNSET of program %u version %u failed: %s", m.prog, m.vers,
                r ? "refused" : strerror(r.err()));
  }
  registered_.clear();
}

}  // namespace pnfsgw::portmap
