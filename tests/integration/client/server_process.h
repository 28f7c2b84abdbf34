// Runs the real pnfsgw binary for integration tests: `pnfsgw serve` on
// 127.0.0.1 port 0 with a data directory, the port read from its stdout,
// stopped with SIGTERM. Owns the child process; not thread-safe.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace pnfsgw::client::test {

// A fresh directory under TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();  // SIGKILLs a server still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `pnfsgw serve --listen 127.0.0.1:0 --data data_dir extra...` and
  // waits for its "pnfsgw: listening on HOST:PORT" line. stdout and stderr
  // go to files in log_dir. False (with a message on stderr) on failure.
  bool start(const std::string& data_dir, const std::string& log_dir,
             const std::vector<std::string>& extra_args = {},
             std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM, then waits; returns the exit status (-1 if killed by a signal
  // or not running, -2 if it had to be SIGKILLed after the timeout).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  // The server's stderr so far (for failure messages).
  std::string log_tail(size_t max_bytes = 4000) const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string stderr_path_;
};

}  // namespace pnfsgw::client::test
