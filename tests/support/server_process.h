// The one way tests run the real pnfsgw binary: `pnfsgw serve --listen
// 127.0.0.1:0 --data DIR extra...`, the port read from its "pnfsgw: listening
// on 127.0.0.1:PORT" line, stopped with SIGTERM. Plus TempDir, the directory
// such a server usually lives in.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pnfsgw::test {

// A fresh directory under $TMPDIR (or /tmp) named PREFIX-XXXXXX, removed with
// its contents on destruction. Aborts if it cannot be created.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "pnfsgw-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Owns at most one running pnfsgw child; SIGKILLs it on destruction. May be
// started again after stop(), e.g. on the same data dir with other args, to
// test a restart. Not thread-safe.
class ServerProcess {
 public:
  // binary: the pnfsgw executable (tests pass their PNFSGW_BINARY).
  explicit ServerProcess(std::string binary) : binary_(std::move(binary)) {}
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `pnfsgw serve --listen 127.0.0.1:0 --data data_dir extra_args...`
  // with stdin from /dev/null and stdout/stderr in files in log_dir, and waits
  // for its listening line. On failure returns false and puts the reason
  // (with the server's stderr) in *err, or on stderr when err is null.
  bool start(const std::string& data_dir, const std::string& log_dir,
             const std::vector<std::string>& extra_args = {},
             std::chrono::milliseconds timeout = std::chrono::seconds(20),
             std::string* err = nullptr);
  // SIGTERM, then waits; returns the exit status (-1 if killed by a signal
  // or not running, -2 if it had to be SIGKILLed after the timeout).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  // The end of the server's stderr so far (for failure messages).
  std::string log_tail(size_t max_bytes = 4000) const;

 private:
  std::string binary_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string stderr_path_;
};

}  // namespace pnfsgw::test
