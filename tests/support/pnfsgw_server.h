// A pnfsgw for one test: a ServerProcess on a fresh data dir inside its own
// work directory, which also holds the server's logs and a test's scratch
// files. Owns both; the server is SIGKILLed (if still running) before the
// work directory is removed. Not thread-safe.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/server_process.h"

namespace pnfsgw::test {

class PnfsgwServer {
 public:
  // binary: the pnfsgw executable (tests pass their PNFSGW_BINARY).
  // extra_args go to `pnfsgw serve` (e.g. {"--backend", "hostdir"} for tests
  // that check what clients did by looking at export_dir() on the host).
  explicit PnfsgwServer(std::string binary, std::vector<std::string> extra_args = {});
  PnfsgwServer(const PnfsgwServer&) = delete;
  PnfsgwServer& operator=(const PnfsgwServer&) = delete;

  // Starts the server on data_dir(); on failure returns false and sets *err
  // (with the server's stderr).
  bool start(std::string* err);
  // SIGTERM and wait; returns the exit status, -1 if it died of a signal or
  // was not running, -2 if it had to be SIGKILLed after timeout_s.
  int stop(int timeout_s = 20);

  uint16_t port() const { return process_.port(); }
  const std::string& data_dir() const { return data_dir_; }
  // A directory beside the data dir for a test's local files (removed too).
  const std::string& scratch_dir() const { return work_dir_.path(); }
  // The host directory served as the NFS root "/" (with --backend hostdir).
  std::string export_dir() const { return data_dir_ + "/export"; }
  std::string log_tail(size_t max_bytes = 4000) const { return process_.log_tail(max_bytes); }

 private:
  TempDir work_dir_;  // declared first so it outlives the process
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  ServerProcess process_;
};

}  // namespace pnfsgw::test
