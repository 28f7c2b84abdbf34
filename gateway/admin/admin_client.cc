// `pnfsgw admin` (see admin_client.h).
#include "gateway/admin/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gateway/admin/admin_request.h"

namespace pnfsgw::admin {

namespace {

constexpr char kAdminUsage[] =
    "usage: pnfsgw admin [--data DIR | --socket PATH] COMMAND ARGS...\n"
    "  --data DIR      the server's data directory (default ./pnfsgw-data);\n"
    "                  talks to DIR/admin.sock\n"
    "  --socket PATH   the admin socket (pnfsgw serve --admin-socket)\n";

// Long enough for a big copy; the server itself bounds idle connections.
constexpr std::chrono::minutes kReplyTimeout{30};

int usage_error(const std::string& message) {
  fprintf(stderr, "pnfsgw admin: %s\n%s(pnfsgw admin --help lists the commands)\n", message.c_str(),
          kAdminUsage);
  return 2;
}

// Closes the fd on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

// Waits for fd to become ready for events until deadline; false on timeout
// or error (errno set).
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return false;
    }
    pollfd p{fd, events, 0};
    int rc = poll(&p, 1, static_cast<int>(std::min<long long>(left, 60000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

}  // namespace

bool call_admin(const std::string& socket_path, const std::vector<std::string>& words,
                std::chrono::milliseconds timeout, AdminReply* reply, std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    *error = "cannot connect to " + socket_path + ": " + strerror(ENAMETOOLONG);
    return false;
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  FdCloser sock{socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0 || connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    *error = "cannot connect to " + socket_path + ": " + strerror(err);
    if (err == ENOENT || err == ECONNREFUSED) *error += " (is pnfsgw serve running there?)";
    return false;
  }
  std::string out;
  append_frame(encode_request(words), &out);
  size_t sent = 0;
  while (sent < out.size()) {
    if (!wait_for(sock.fd, POLLOUT, deadline)) {
      *error = std::string("sending to ") + socket_path + ": " + strerror(errno);
      return false;
    }
    ssize_t n = send(sock.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      *error = std::string("sending to ") + socket_path + ": " + strerror(errno);
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  std::string in, payload;
  char buf[65536];
  while (true) {
    FrameStatus fs = take_frame(&in, kMaxReply, &payload);
    if (fs == FrameStatus::kFrame) break;
    if (fs == FrameStatus::kTooBig) {
      *error = "the server's reply is too large";
      return false;
    }
    if (!wait_for(sock.fd, POLLIN, deadline)) {
      *error = std::string("waiting for the reply on ") + socket_path + ": " + strerror(errno);
      return false;
    }
    ssize_t n = recv(sock.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      *error = std::string("the server closed ") + socket_path + " without a reply" +
               (n < 0 ? std::string(": ") + strerror(errno) : std::string());
      return false;
    }
    in.append(buf, static_cast<size_t>(n));
  }
  if (!decode_reply(payload, reply)) {
    *error = "malformed reply from the server";
    return false;
  }
  return true;
}

int admin_main(int argc, char** argv) {
  std::string data = "pnfsgw-data";
  std::string socket_path;
  int i = 0;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data" || a == "--socket") {
      if (i + 1 >= argc || !*argv[i + 1]) return usage_error(a + " needs a value");
      (a == "--data" ? data : socket_path) = argv[++i];
    } else if (a == "--help" || a == "-h") {
      printf("%s%s", kAdminUsage, kAdminCommandsHelp);
      return 0;
    } else if (a.rfind("--", 0) == 0) {
      return usage_error("unknown option '" + a + "'");
    } else {
      break;
    }
  }
  std::vector<std::string> words(argv + i, argv + argc);
  if (words.empty()) return usage_error("no command given");
  AdminRequest req;
  std::string error;
  if (!parse_request(words, &req, &error)) return usage_error(error);
  if (socket_path.empty()) socket_path = data + "/admin.sock";

  AdminReply reply;
  if (!call_admin(socket_path, words, kReplyTimeout, &reply, &error)) {
    fprintf(stderr, "pnfsgw admin: %s\n", error.c_str());
    return 1;
  }
  if (reply.err != 0) {
    fprintf(stderr, "pnfsgw admin: %s\n", reply.text.c_str());
    return 1;
  }
  fwrite(reply.text.data(), 1, reply.text.size(), stdout);
  return fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace pnfsgw::admin
