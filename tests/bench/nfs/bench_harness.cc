#include "tests/bench/nfs/bench_harness.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

namespace pnfsgw::bench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// "1G", "64M", "4k", "4096" -> bytes.
bool parse_size(const char* s, uint64_t* out) {
  char* end = nullptr;
  double v = strtod(s, &end);
  if (end == s || v < 0) return false;
  uint64_t mul = 1;
  switch (*end) {
    case 'k':
    case 'K':
      mul = 1ull << 10;
      end++;
      break;
    case 'm':
    case 'M':
      mul = 1ull << 20;
      end++;
      break;
    case 'g':
    case 'G':
      mul = 1ull << 30;
      end++;
      break;
    default:
      break;
  }
  if (*end != '\0') return false;
  *out = static_cast<uint64_t>(v * static_cast<double>(mul));
  return true;
}

void usage(const char* prog, const std::vector<std::string>& workloads) {
  fprintf(stderr,
          "usage: %s --port P --workload W [options]\n"
          "  --host H            server address (127.0.0.1)\n"
          "  --port P            NFS port\n"
          "  --mount-port P      MOUNT port, NFSv3 only (default: the NFS port)\n"
          "  --clients N         concurrent clients, one connection each (1)\n"
          "  --duration S        seconds per timed workload (10)\n"
          "  --file-size SIZE    file of the seq*/rand* workloads (1G)\n"
          "  --seq-io SIZE       sequential I/O size (1M)\n"
          "  --dir-entries N     entries of the readdir directory (10000)\n"
          "  --lookup-names N    names in the lookup directory (1000)\n"
          "  --files N           manyfiles: files to create and stat (1000000)\n"
          "  --dir NAME          top directory in the export (pnfsgw-bench)\n"
          "  --label TEXT        server name for the progress line\n"
          "  --quiet             no progress line\n"
          "workloads:",
          prog);
  for (const auto& w : workloads) fprintf(stderr, " %s", w.c_str());
  fprintf(stderr, "\n");
}

}  // namespace

bool Options::parse(int argc, char** argv, const char* prog,
                    const std::vector<std::string>& workloads) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--quiet") {
      quiet = true;
      continue;
    }
    if (a == "--help" || a == "-h" || i + 1 >= argc) {
      usage(prog, workloads);
      return false;
    }
    const char* v = argv[++i];
    uint64_t n = 0;
    bool ok = true;
    if (a == "--host")
      host = v;
    else if (a == "--port")
      port = static_cast<uint16_t>(atoi(v));
    else if (a == "--mount-port")
      mount_port = static_cast<uint16_t>(atoi(v));
    else if (a == "--workload")
      workload = v;
    else if (a == "--clients")
      clients = atoi(v);
    else if (a == "--duration")
      duration = atof(v);
    else if (a == "--file-size")
      ok = parse_size(v, &file_size);
    else if (a == "--seq-io")
      ok = parse_size(v, &n), seq_io = static_cast<uint32_t>(n);
    else if (a == "--dir-entries")
      dir_entries = static_cast<uint32_t>(atoi(v));
    else if (a == "--lookup-names")
      lookup_names = static_cast<uint32_t>(atoi(v));
    else if (a == "--files")
      ok = parse_size(v, &files);
    else if (a == "--dir")
      dir = v;
    else if (a == "--label")
      label = v;
    else
      ok = false;
    if (!ok) {
      fprintf(stderr, "%s: bad option %s %s\n", prog, a.c_str(), v);
      usage(prog, workloads);
      return false;
    }
  }
  if (mount_port == 0) mount_port = port;
  bool known = std::find(workloads.begin(), workloads.end(), workload) != workloads.end();
  if (port == 0 || !known || clients < 1 || seq_io == 0 || file_size < seq_io) {
    usage(prog, workloads);
    return false;
  }
  return true;
}

PhaseResult run_phase(const std::string& label, int clients, double duration, const OpFn& op) {
  struct alignas(64) ClientStats {
    std::atomic<uint64_t> ops{0}, bytes{0};
    uint64_t errors = 0;
    std::vector<float> lat_us;
  };
  std::vector<ClientStats> stats(static_cast<size_t>(clients));
  std::atomic<bool> stop{false};
  std::atomic<int> running{clients};
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(duration > 0 ? duration : 1e9));

  std::vector<std::thread> threads;
  for (int c = 0; c < clients; c++) {
    threads.emplace_back([&, c] {
      ClientStats& s = stats[static_cast<size_t>(c)];
      s.lat_us.reserve(1 << 16);
      for (uint64_t n = 0; !stop.load(std::memory_order_relaxed); n++) {
        auto t = Clock::now();
        if (t >= deadline) break;
        int64_t r = op(c, n);
        if (r == kDone) break;
        if (r == kFailed) {
          s.errors++;
          break;
        }
        s.lat_us.push_back(static_cast<float>(
            std::chrono::duration<double, std::micro>(Clock::now() - t).count()));
        s.ops.fetch_add(1, std::memory_order_relaxed);
        s.bytes.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
      }
      running.fetch_sub(1);
    });
  }

  // Progress: a \r-updated line on a terminal, a line every 5 s otherwise.
  const bool tty = isatty(2) != 0;
  const double every = tty ? 0.5 : 5.0;
  double next = every;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    double el = seconds_since(t0);
    if (el < next || label.empty()) continue;
    next += every;
    uint64_t ops = 0, bytes = 0;
    for (auto& s : stats) ops += s.ops.load(), bytes += s.bytes.load();
    fprintf(stderr, "%s  %-40s %6.1fs %10llu ops %10.0f ops/s %8.1f MB/s%s", tty ? "\r" : "",
            label.c_str(), el, static_cast<unsigned long long>(ops), ops / el, bytes / el / 1e6,
            tty ? "" : "\n");
  }
  for (auto& t : threads) t.join();

  PhaseResult r;
  r.seconds = seconds_since(t0);
  std::vector<float> all;
  for (auto& s : stats) {
    r.ops += s.ops.load();
    r.bytes += s.bytes.load();
    r.errors += s.errors;
    all.insert(all.end(), s.lat_us.begin(), s.lat_us.end());
  }
  if (!all.empty()) {
    auto pct = [&](double p) {
      size_t k = std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())));
      std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
      return static_cast<double>(all[k]);
    };
    r.p50_us = pct(0.50);
    r.p99_us = pct(0.99);
  }
  if (tty && !label.empty()) fprintf(stderr, "\r%*s\r", 110, "");
  return r;
}

void print_result(const Options& o, const std::string& proto, const std::string& workload,
                  const PhaseResult& r) {
  double s = r.seconds > 0 ? r.seconds : 1e-9;
  printf(
      "RESULT proto=%s workload=%s clients=%d ops=%llu seconds=%.3f ops_s=%.1f mb_s=%.1f "
      "p50_us=%.1f p99_us=%.1f errors=%llu\n",
      proto.c_str(), workload.c_str(), o.clients, static_cast<unsigned long long>(r.ops), s,
      r.ops / s, r.bytes / s / 1e6, r.p50_us, r.p99_us, static_cast<unsigned long long>(r.errors));
  fflush(stdout);
}

std::string entry_name(const char* prefix, uint64_t i) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s%06llu", prefix, static_cast<unsigned long long>(i));
  return buf;
}

std::vector<uint8_t> pattern(size_t n, uint64_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t x = rng();
    memcpy(&v[i], &x, 8);
  }
  return v;
}

}  // namespace pnfsgw::bench
