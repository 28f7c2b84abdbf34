// AdminServer: the administrator's control channel, a Unix stream socket
// (DATA/admin.sock by default, mode 0600) on which `pnfsgw admin` sends one
// command per request frame (admin_protocol.h) and gets its reply.
//
// One dedicated thread runs a poll() loop over the listening socket and up
// to max_connections clients (more wait in the listen backlog), so the NFS
// worker threads never wait for an admin client. Commands run on that
// thread, one at a time, against the Filesystem the NFS server uses; a
// connection's next request is read only once its previous reply has left,
// so buffers stay bounded (64 KiB in, one reply out). A client that sends an
// oversized frame gets an error reply and is disconnected; one that makes no
// progress for idle_timeout is disconnected; a malformed request gets an
// error reply and the connection stays usable.
//
// Socket file: created in a private (0700) temporary directory, made 0600,
// then renamed into place, so it is never reachable with looser
// permissions; this also replaces a stale socket left by a crash. A path
// held by a live server (it accepts connections) is EADDRINUSE; a path that
// is not a socket is EEXIST and left alone. stop() removes the file if it is
// still the one this server made.
//
// start()/stop() from one thread; fs must outlive the server.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

#include "backend/fs.h"
#include "common/result.h"

namespace pnfsgw::admin {

struct AdminServerOptions {
  std::string socket_path;
  std::chrono::milliseconds idle_timeout{10000};
  size_t max_connections = 8;
};

class AdminServer {
 public:
  AdminServer(backend::Filesystem* fs, AdminServerOptions opts);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Creates the socket and starts the thread. Errors: ENAMETOOLONG (the
  // path does not fit a sockaddr_un), EADDRINUSE, EEXIST (see above), or the
  // errno of the failing call.
  Status start();
  // Stops the thread, closes every connection, removes the socket file.
  // Idempotent.
  void stop();

  const std::string& socket_path() const { return opts_.socket_path; }
  // Requests answered so far (for tests).
  uint64_t requests_served() const { return served_.load(); }

 private:
  class Loop;

  Status bind_socket();

  backend::Filesystem* const fs_;
  const AdminServerOptions opts_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the loop through it
  dev_t sock_dev_ = 0;
  ino_t sock_ino_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> served_{0};
};

}  // namespace pnfsgw::admin
