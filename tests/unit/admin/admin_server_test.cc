// AdminServer in-process: the socket file's life, requests over the wire,
// and clients that misbehave (oversized, garbage, stuck, vanished, too many).
#include "gateway/admin/admin_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "gateway/admin/admin_client.h"
#include "gateway/admin/admin_protocol.h"
#include "tests/unit/admin/admin_test_util.h"

namespace pnfsgw::admin::testing {
namespace {

using namespace std::chrono_literals;

// A connected raw client socket; -1 on failure.
int connect_raw(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    done += static_cast<size_t>(n);
  }
}

// Reads one reply frame within timeout; false on EOF/timeout. Bytes past
// the frame stay in *pending for the next call.
bool read_reply(int fd, AdminReply* reply, std::string* pending,
                std::chrono::milliseconds timeout = 5s) {
  std::string& buf = *pending;
  std::string payload;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (take_frame(&buf, kMaxReply, &payload) != FrameStatus::kFrame) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[4096];
    ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
  return decode_reply(payload, reply);
}

// True if the peer closes fd within timeout (after any pending bytes).
bool closed_by_peer(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char tmp[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
  }
  return false;
}

std::string framed(const std::vector<std::string>& words) {
  std::string out;
  append_frame(encode_request(words), &out);
  return out;
}

class AdminServerTest : public HostDirFixture {
 protected:
  void SetUp() override {
    HostDirFixture::SetUp();
    sock_ = dir_ + "/admin.sock";
  }
  void TearDown() override {
    server_.reset();
    HostDirFixture::TearDown();
  }
  void start(AdminServerOptions o = {}) {
    if (o.socket_path.empty()) o.socket_path = sock_;
    server_ = std::make_unique<AdminServer>(fs_.get(), o);
    Status st = server_->start();
    ASSERT_TRUE(st) << std::strerror(st.err());
  }
  AdminReply call(const std::vector<std::string>& words) {
    AdminReply r;
    std::string err;
    EXPECT_TRUE(call_admin(sock_, words, 5s, &r, &err)) << err;
    return r;
  }

  std::string sock_;
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminServerTest, TheSocketIsPrivateAndRemovedOnStop) {
  start();
  struct stat st;
  ASSERT_EQ(lstat(sock_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  server_->stop();
  EXPECT_NE(lstat(sock_.c_str(), &st), 0);
  // No temporary directory is left behind.
  size_t entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u) << "only export/ should remain";
}

TEST_F(AdminServerTest, AStaleSocketFileIsReplaced) {
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, sock_.data(), sock_.size());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);  // the file stays, nobody listens: what a crash leaves
  }
  start();
  EXPECT_EQ(call({"status"}).err, 0);
}

TEST_F(AdminServerTest, ALiveServersSocketOrAnotherFileIsLeftAlone) {
  start();
  AdminServer second(fs_.get(), {sock_});
  EXPECT_EQ(second.start().err(), EADDRINUSE);
  EXPECT_EQ(call({"status"}).err, 0) << "the first server still answers";
  second.stop();
  EXPECT_EQ(call({"status"}).err, 0) << "stopping the refused one removed nothing";

  const std::string plain = dir_ + "/plain";
  std::ofstream(plain) << "keep me";
  AdminServer third(fs_.get(), {plain});
  EXPECT_EQ(third.start().err(), EEXIST);
  std::ifstream in(plain);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
}

TEST_F(AdminServerTest, APathTooLongForASocketIsRefused) {
  AdminServer s(fs_.get(), {dir_ + "/" + std::string(120, 'x')});
  EXPECT_EQ(s.start().err(), ENAMETOOLONG);
}

TEST_F(AdminServerTest, AnswersCommandsOverTheSocket) {
  start();
  file_with("f", "hello");
  AdminReply r = call({"stat", "/f"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_NE(r.text.find("size: 5\n"), std::string::npos);
  r = call({"stat", "/missing"});
  EXPECT_EQ(r.err, ENOENT);
  EXPECT_EQ(r.text, "/missing: No such file or directory");
  EXPECT_EQ(server_->requests_served(), 2u);
}

TEST_F(AdminServerTest, SeveralRequestsOnOneConnectionAreAnsweredInOrder) {
  start();
  int fd = connect_raw(sock_);
  ASSERT_GE(fd, 0);
  send_all(fd, framed({"status"}) + framed({"stat", "/nope"}) + framed({"stat", "/"}));
  AdminReply r;
  std::string pending;
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, 0);
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, ENOENT);
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, 0);
  close(fd);
}

TEST_F(AdminServerTest, AnOversizedRequestGetsAnErrorAndTheConnectionIsClosed) {
  start();
  int fd = connect_raw(sock_);
  ASSERT_GE(fd, 0);
  send_all(fd, std::string("\x00\x10\x00\x00", 4) + std::string(1000, 'x'));
  AdminReply r;
  std::string pending;
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, EMSGSIZE);
  EXPECT_NE(r.text.find("larger than 65536"), std::string::npos) << r.text;
  EXPECT_TRUE(closed_by_peer(fd, 2s));
  close(fd);
  EXPECT_EQ(call({"status"}).err, 0);
}

TEST_F(AdminServerTest, GarbageGetsAnErrorReplyAndTheConnectionStaysUsable) {
  start();
  int fd = connect_raw(sock_);
  ASSERT_GE(fd, 0);
  std::string junk;
  append_frame("GET / HTTP/1.0\r\n\r\n", &junk);
  send_all(fd, junk);
  AdminReply r;
  std::string pending;
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, EPROTO);
  send_all(fd, framed({"fallocate", "--punch-hole", "/", "x", "1"}));
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, EINVAL);
  EXPECT_EQ(r.text, "bad OFFSET 'x' (a number with an optional K, M, G or T suffix)");
  send_all(fd, framed({"status"}));
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, 0);
  close(fd);
}

TEST_F(AdminServerTest, AStuckClientDoesNotBlockOthersAndIsDisconnected) {
  AdminServerOptions o;
  o.idle_timeout = 300ms;
  start(o);
  int stuck = connect_raw(sock_);
  ASSERT_GE(stuck, 0);
  send_all(stuck, framed({"status"}).substr(0, 7));  // half a request, then silence
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(call({"status"}).err, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 250ms) << "served while the other waits";
  EXPECT_TRUE(closed_by_peer(stuck, 3s));
  close(stuck);
}

TEST_F(AdminServerTest, AClientThatNeverReadsItsRepliesIsDisconnected) {
  AdminServerOptions o;
  o.idle_timeout = 300ms;
  start(o);
  // An extents listing larger than the socket buffers: every other block.
  InodeId f = file_with("f", "");
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(fs_->write(f, 8192ull * i, std::span(reinterpret_cast<const uint8_t*>("z"), 1)));
  }
  ASSERT_TRUE(fs_->fsync(f, false));
  int fd = connect_raw(sock_);
  ASSERT_GE(fd, 0);
  std::string req;
  for (int i = 0; i < 50; ++i) req += framed({"extents", "/f"});
  send_all(fd, req);
  // The server answers one request at a time and only after the previous
  // reply left: it does not run 50 listings into memory for a client that
  // does not read.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(call({"status"}).err, 0) << "the server is not stuck writing";
  EXPECT_LE(server_->requests_served(), 3u);
  EXPECT_TRUE(closed_by_peer(fd, 3s));
  close(fd);
}

TEST_F(AdminServerTest, AVanishedClientDoesNotHurtTheServer) {
  start();
  for (int i = 0; i < 20; ++i) {
    int fd = connect_raw(sock_);
    ASSERT_GE(fd, 0);
    std::string req = framed({"extents", "/"});
    send_all(fd, i % 2 ? req : req.substr(0, static_cast<size_t>(i)));
    close(fd);
  }
  EXPECT_EQ(call({"status"}).err, 0);
}

TEST_F(AdminServerTest, AHalfClosedClientStillGetsItsReply) {
  start();
  int fd = connect_raw(sock_);
  ASSERT_GE(fd, 0);
  send_all(fd, framed({"stat", "/"}));
  shutdown(fd, SHUT_WR);
  AdminReply r;
  std::string pending;
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, 0);
  EXPECT_TRUE(closed_by_peer(fd, 2s));
  close(fd);
}

TEST_F(AdminServerTest, ATruncatedRequestBeforeEofGetsAnError) {
  start();
  int fd = connect_raw(sock_);
  ASSERT_GE(fd, 0);
  send_all(fd, framed({"status"}).substr(0, 10));
  shutdown(fd, SHUT_WR);
  AdminReply r;
  std::string pending;
  ASSERT_TRUE(read_reply(fd, &r, &pending));
  EXPECT_EQ(r.err, EPROTO);
  close(fd);
}

TEST_F(AdminServerTest, ConnectionsBeyondTheLimitWaitForASlot) {
  AdminServerOptions o;
  o.max_connections = 2;
  o.idle_timeout = 300ms;
  start(o);
  int a = connect_raw(sock_), b = connect_raw(sock_);  // both idle: they hold the slots
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::this_thread::sleep_for(100ms);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(call({"status"}).err, 0);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms) << "served only once a slot freed";
  EXPECT_TRUE(closed_by_peer(a, 2s));
  EXPECT_TRUE(closed_by_peer(b, 2s));
  close(a);
  close(b);
}

TEST_F(AdminServerTest, CallAdminReportsANonRunningServer) {
  AdminReply r;
  std::string err;
  EXPECT_FALSE(call_admin(sock_, {"status"}, 1s, &r, &err));
  EXPECT_EQ(err, "cannot connect to " + sock_ +
                     ": No such file or directory (is pnfsgw serve running there?)");
}

TEST_F(AdminServerTest, StopIsIdempotentAndStartStopRepeats) {
  for (int i = 0; i < 3; ++i) {
    start();
    EXPECT_EQ(call({"status"}).err, 0);
    server_->stop();
    server_->stop();
  }
}

}  // namespace
}  // namespace pnfsgw::admin::testing
