// Runs the real pnfsgw binary for the libnfs tests: `pnfsgw serve` on
// 127.0.0.1 port 0 with a fresh data directory, the port read from the
// "pnfsgw: listening on 127.0.0.1:PORT" line, stopped with SIGTERM.
// Owns the child process and a work directory holding the data directory,
// the server's stdout/stderr and scratch files (removed on destruction).
// Not thread-safe.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pnfsgw::libnfs_test {

class PnfsgwServer {
 public:
  explicit PnfsgwServer(std::string binary) : binary_(std::move(binary)) {}
  ~PnfsgwServer();  // SIGKILLs a server still running, removes the data dir
  PnfsgwServer(const PnfsgwServer&) = delete;
  PnfsgwServer& operator=(const PnfsgwServer&) = delete;

  // Creates the data dir and starts the server; on failure returns false and
  // sets *err (with the server's stderr).
  bool start(std::string* err);
  // SIGTERM and wait; returns the exit status, -1 if it died of a signal or
  // was not running, -2 if it had to be SIGKILLed after timeout_s.
  int stop(int timeout_s = 20);

  uint16_t port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  // A directory beside the data dir for a test's local files (removed too).
  const std::string& scratch_dir() const { return work_dir_; }
  // The host directory served as the NFS root "/".
  std::string export_dir() const { return data_dir_ + "/export"; }
  std::string log_tail(size_t max_bytes = 4000) const;

 private:
  std::string binary_;
  std::string data_dir_;
  std::string work_dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// Result of running a command to completion.
struct CommandResult {
  int status = -1;     // exit status; 128+N when killed by signal N
  std::string output;  // stdout (bytes, unmodified)
  std::string errors;  // stderr
};

// Runs argv (argv[0] looked up in PATH) with stdin from /dev/null, killing it
// after timeout_s seconds.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_s = 120);

// Host-side file helpers for checking what the client did.
std::string read_host_file(const std::string& path);
void write_host_file(const std::string& path, const std::string& bytes);
// n pseudo-random bytes, deterministic for a seed.
std::string random_bytes(size_t n, uint64_t seed);

}  // namespace pnfsgw::libnfs_test
