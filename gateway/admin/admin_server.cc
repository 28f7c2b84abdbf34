// The admin socket server (see admin_server.h).
#include "gateway/admin/admin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/log.h"
#include "gateway/admin/admin_exec.h"
#include "gateway/admin/admin_protocol.h"

namespace pnfsgw::admin {

namespace {

using Clock = std::chrono::steady_clock;

Status errno_status() { return Status::error(errno != 0 ? errno : EIO); }

bool fill_addr(const std::string& path, sockaddr_un* addr) {
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

// True if something accepts connections on path.
bool someone_listens(const std::string& path) {
  sockaddr_un addr;
  if (!fill_addr(path, &addr)) return false;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool live = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return live;
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

struct Conn {
  int fd = -1;
  std::string in;
  std::string out;
  Clock::time_point deadline;
  bool peer_done = false;  // the client will send nothing more
  bool closing = false;    // close once out is flushed
};

}  // namespace

// The poll loop; runs on the server's thread and owns the connections.
class AdminServer::Loop {
 public:
  Loop(AdminServer* s) : s_(s) {}
  ~Loop() {
    for (auto& c : conns_) close(c->fd);
  }

  void run() {
    std::vector<pollfd> fds;
    while (true) {
      fds.clear();
      fds.push_back({s_->wake_fd_, POLLIN, 0});
      // At the connection limit new clients wait in the listen backlog until
      // a connection ends (idle ones end after idle_timeout).
      const bool room = conns_.size() < s_->opts_.max_connections;
      fds.push_back({s_->listen_fd_, static_cast<short>(room ? POLLIN : 0), 0});
      for (auto& c : conns_) {
        short ev = 0;
        // Read only while no reply is pending: one request at a time per
        // connection keeps both buffers bounded.
        if (!c->peer_done && !c->closing && c->out.empty()) ev |= POLLIN;
        if (!c->out.empty()) ev |= POLLOUT;
        fds.push_back({c->fd, ev, 0});
      }
      int rc = poll(fds.data(), fds.size(), poll_timeout_ms());
      if (rc < 0 && errno != EINTR) {
        PLOG_ERROR("admin: poll: %s", strerror(errno));
        return;
      }
      if (rc > 0 && (fds[0].revents & POLLIN)) return;  // stop()
      if (rc > 0) {
        for (size_t i = 0; i < conns_.size(); ++i) service(*conns_[i], fds[i + 2].revents);
        if (fds[1].revents & POLLIN) accept_all();
      }
      reap();
    }
  }

 private:
  int poll_timeout_ms() const {
    if (conns_.empty()) return -1;
    auto first = conns_.front()->deadline;
    for (auto& c : conns_) first = std::min(first, c->deadline);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(first - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms + 1, 0, 60000));
  }

  void touch(Conn& c) { c.deadline = Clock::now() + s_->opts_.idle_timeout; }

  void accept_all() {
    while (conns_.size() < s_->opts_.max_connections) {
      int fd = accept4(s_->listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          PLOG_WARN("admin: accept: %s", strerror(errno));
        }
        return;
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      touch(*c);
      conns_.push_back(std::move(c));
    }
  }

  void reply(Conn& c, const AdminReply& r) {
    std::string payload = encode_reply(r);
    if (payload.size() > kMaxReply) {
      payload = encode_reply(
          AdminReply{EMSGSIZE, "the reply is larger than " + std::to_string(kMaxReply) + " bytes"});
    }
    append_frame(payload, &c.out);
    s_->served_.fetch_add(1);
  }

  void service(Conn& c, short revents) {
    if (revents & (POLLERR | POLLNVAL)) {
      c.closing = true;
      c.out.clear();
      return;
    }
    if ((revents & (POLLIN | POLLHUP)) && !c.peer_done && !c.closing && c.out.empty()) {
      read_some(c);
    }
    if (!c.out.empty() && (revents & (POLLOUT | POLLHUP))) {
      write_some(c);
      // The reply is out: requests that arrived meanwhile are next.
      if (c.out.empty()) handle_input(c);
    }
  }

  void read_some(Conn& c) {
    char buf[16384];
    while (c.in.size() <= 4 + kMaxRequest) {
      ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        touch(c);
        continue;
      }
      if (n == 0) {
        c.peer_done = true;
      } else if (errno == EINTR) {
        continue;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        c.closing = true;
        c.out.clear();
        return;
      }
      break;
    }
    handle_input(c);
  }

  // Answers the buffered requests (one while no reply is pending).
  void handle_input(Conn& c) {
    handle_frames(c);
    // A partial frame the peer will never finish.
    if (c.peer_done && !c.in.empty() && !c.closing && c.out.empty()) {
      reply(c, AdminReply{EPROTO, "truncated request"});
      c.closing = true;
    }
  }

  void handle_frames(Conn& c) {
    std::string payload;
    while (!c.closing && c.out.empty()) {
      FrameStatus fs = take_frame(&c.in, kMaxRequest, &payload);
      if (fs == FrameStatus::kNeedMore) return;
      if (fs == FrameStatus::kTooBig) {
        reply(c, AdminReply{EMSGSIZE, "request larger than " + std::to_string(kMaxRequest) +
                                          " bytes; closing the connection"});
        c.in.clear();
        c.closing = true;
        return;
      }
      std::vector<std::string> words;
      std::string error;
      if (!decode_request(payload, &words, &error)) {
        reply(c, AdminReply{EPROTO, error});
        continue;
      }
      reply(c, run_command(*s_->fs_, words));
      touch(c);  // the command itself may have taken a while
    }
  }

  void write_some(Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
        touch(c);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.out.clear();  // the peer is gone
      c.closing = true;
      return;
    }
  }

  void reap() {
    const auto now = Clock::now();
    auto done = [&](const std::unique_ptr<Conn>& c) {
      bool finished = c->out.empty() && (c->closing || c->peer_done);
      if (!finished && now >= c->deadline) {
        PLOG_WARN("admin: closing a connection idle for %lld ms",
                  static_cast<long long>(s_->opts_.idle_timeout.count()));
        finished = true;
      }
      if (finished) close(c->fd);
      return finished;
    };
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(), done), conns_.end());
  }

  AdminServer* const s_;
  std::vector<std::unique_ptr<Conn>> conns_;
};

AdminServer::AdminServer(backend::Filesystem* fs, AdminServerOptions opts)
    : fs_(fs), opts_(std::move(opts)) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::bind_socket() {
  const std::string& path = opts_.socket_path;
  sockaddr_un addr;
  if (!fill_addr(path, &addr)) return Status::error(ENAMETOOLONG);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Status::error(EEXIST);
    if (someone_listens(path)) return Status::error(EADDRINUSE);
    // Otherwise stale: the rename below replaces it.
  } else if (errno != ENOENT) {
    return errno_status();
  }

  // Bind inside a private directory, fix the mode, then move it into place.
  std::string tmp_dir = parent_dir(path) + "/.admin-XXXXXX";
  if (!mkdtemp(tmp_dir.data())) return errno_status();
  const std::string tmp_path = tmp_dir + "/s";
  auto cleanup = [&] {
    unlink(tmp_path.c_str());
    rmdir(tmp_dir.c_str());
  };
  sockaddr_un tmp_addr;
  if (!fill_addr(tmp_path, &tmp_addr)) {
    cleanup();
    return Status::error(ENAMETOOLONG);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Status s = errno_status();
    cleanup();
    return s;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&tmp_addr), sizeof(tmp_addr)) != 0 ||
      chmod(tmp_path.c_str(), 0600) != 0 || listen(fd, 16) != 0 ||
      rename(tmp_path.c_str(), path.c_str()) != 0 || lstat(path.c_str(), &st) != 0) {
    Status s = errno_status();
    close(fd);
    cleanup();
    return s;
  }
  rmdir(tmp_dir.c_str());
  listen_fd_ = fd;
  sock_dev_ = st.st_dev;
  sock_ino_ = st.st_ino;
  return Status::ok();
}

Status AdminServer::start() {
  if (thread_.joinable()) return Status::error(EALREADY);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return errno_status();
  if (Status st = bind_socket(); !st) {
    close(wake_fd_);
    wake_fd_ = -1;
    return st;
  }
  thread_ = std::thread([this] {
    Loop loop(this);
    loop.run();
  });
  return Status::ok();
}

void AdminServer::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof(one)) < 0) {
      PLOG_WARN("admin: cannot wake the admin thread: %s", strerror(errno));
    }
    thread_.join();
  }
  if (listen_fd_ >= 0) {
    // Remove the socket file only if it is still ours: a newer server may
    // have replaced it.
    struct stat st;
    if (lstat(opts_.socket_path.c_str(), &st) == 0 && st.st_dev == sock_dev_ &&
        st.st_ino == sock_ino_) {
      unlink(opts_.socket_path.c_str());
    }
    close(listen_fd_);
    listen_fd_ = -1;
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
    wake_fd_ = -1;
  }
}

}  // namespace pnfsgw::admin
