// Host-side helpers for tests that check what a client did to the server's
// files: running a command to completion, reading and writing host files,
// deterministic test data. Safe from any thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pnfsgw::test {

// Result of running a command to completion.
struct CommandResult {
  int status = -1;     // exit status; 128+N when killed by signal N
  std::string output;  // stdout (bytes, unmodified)
  std::string errors;  // stderr
};

// Runs argv (argv[0] looked up in PATH) with stdin from /dev/null, killing it
// after timeout_s seconds.
CommandResult run_command(const std::vector<std::string>& argv, int timeout_s = 120);

// The whole file as bytes ("" if it cannot be read).
std::string read_host_file(const std::string& path);
void write_host_file(const std::string& path, const std::string& bytes);
// n pseudo-random bytes, deterministic for a seed.
std::string random_bytes(size_t n, uint64_t seed);

}  // namespace pnfsgw::test
