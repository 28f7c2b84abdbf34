// The part of the NFS load generators that knows nothing about NFS: command
// line options, running one workload phase on N client threads (by time or
// until every client is done), per-op latencies, the progress line on
// stderr and the RESULT line on stdout that scripts/bench parses.
//
// A phase calls op(client, n) on thread `client` for n = 0, 1, ... ; op
// returns the bytes it moved (0 for metadata ops), kDone when that client
// has finished its share, or kFailed after printing why. Each client thread
// only touches its own state, so ops need no locking beyond their own.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pnfsgw::bench {

constexpr int64_t kDone = -2;
constexpr int64_t kFailed = -1;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;        // NFS port
  uint16_t mount_port = 0;  // NFSv3 MOUNT port; 0: the NFS port
  std::string workload;
  int clients = 1;
  double duration = 10;              // seconds, for the timed workloads
  uint64_t file_size = 1ull << 30;   // seqwrite/seqread/randread/randwrite file
  uint32_t seq_io = 1u << 20;        // sequential I/O size
  uint32_t small_io = 4096;          // random I/O and small-file write size
  uint32_t dir_entries = 10000;      // readdir directory size
  uint32_t lookup_names = 1000;      // names in the lookup directory
  uint64_t files = 1000000;          // manyfiles: files created, then stat'ed
  std::string dir = "pnfsgw-bench";  // top directory in the export
  std::string label;                 // server name for the progress line
  bool quiet = false;                // no progress line

  // Parses --name value pairs; prints usage and returns false on error.
  bool parse(int argc, char** argv, const char* prog, const std::vector<std::string>& workloads);
};

struct PhaseResult {
  uint64_t ops = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  double seconds = 0;
  double p50_us = 0, p99_us = 0;
};

using OpFn = std::function<int64_t(int client, uint64_t n)>;

// Runs op on `clients` threads for `duration` seconds (0: until every
// client returned kDone). A client that fails stops; the others go on.
PhaseResult run_phase(const std::string& label, int clients, double duration, const OpFn& op);

// "RESULT proto=.. workload=.. clients=.. ops=.. seconds=.. ops_s=.. mb_s=..
// p50_us=.. p99_us=.. errors=.." on stdout.
void print_result(const Options& o, const std::string& proto, const std::string& workload,
                  const PhaseResult& r);

// "n00042"-style names, fixed width so directory order does not matter.
std::string entry_name(const char* prefix, uint64_t i);

// A buffer of n pseudo-random bytes (written data is not all zeros, so no
// layer can take a shortcut for zero pages).
std::vector<uint8_t> pattern(size_t n, uint64_t seed);

}  // namespace pnfsgw::bench
