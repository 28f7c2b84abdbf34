// tcp_ceiling: the loopback TCP ceiling that NFS throughput is compared
// with. N streams (one sender and one receiver thread each, in this one
// process, like an NFS client and server on one host) each move their
// share of --bytes in --chunk writes; the receiver reads into a buffer and
// touches nothing else. Prints a RESULT line like the NFS load generators
// (proto=tcp workload=stream), aggregate MB/s over the wall time.
//
// --pingpong SECONDS instead measures the loopback round trip: one client
// thread sends a 128-byte request, one server thread reads it and sends a
// 128-byte reply, one at a time (proto=tcp workload=pingpong, round trips/s
// and p50/p99). Both ends sleep in recv() between messages, as a client and
// a server that does not poll do: on a virtual machine whose idle CPUs the
// hypervisor parks, each wake-up is a good part of the figure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

bool full_write(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w, n -= static_cast<size_t>(w);
  }
  return true;
}

bool full_read(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r, n -= static_cast<size_t>(r);
  }
  return true;
}

int pingpong(int cfd, int sfd, double seconds) {
  constexpr size_t kMsg = 128;
  std::thread server([sfd] {
    char buf[kMsg];
    while (full_read(sfd, buf, kMsg) && full_write(sfd, buf, kMsg)) {
    }
  });
  char buf[kMsg] = {};
  std::vector<double> us;
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(seconds));
  bool ok = true;
  for (auto t = t0; t < end;) {
    if (!full_write(cfd, buf, kMsg) || !full_read(cfd, buf, kMsg)) {
      ok = false;
      break;
    }
    auto t2 = std::chrono::steady_clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t2 - t).count());
    t = t2;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  shutdown(cfd, SHUT_WR);
  server.join();
  if (!ok || us.empty()) {
    fprintf(stderr, "tcp_ceiling: ping-pong failed\n");
    return 1;
  }
  std::sort(us.begin(), us.end());
  printf(
      "RESULT proto=tcp workload=pingpong clients=1 ops=%zu seconds=%.3f ops_s=%.1f mb_s=0 "
      "p50_us=%.1f p99_us=%.1f errors=0\n",
      us.size(), secs, static_cast<double>(us.size()) / secs, us[us.size() / 2], us[us.size() * 99 / 100]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int streams = 1;
  double bytes = 1 << 30;
  size_t chunk = 1 << 20;
  double pingpong_secs = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--streams")
      streams = atoi(argv[i + 1]);
    else if (a == "--bytes")
      bytes = atof(argv[i + 1]);
    else if (a == "--chunk")
      chunk = static_cast<size_t>(atol(argv[i + 1]));
    else if (a == "--pingpong")
      pingpong_secs = atof(argv[i + 1]);
    else {
      fprintf(stderr, "usage: tcp_ceiling [--streams N] [--bytes B] [--chunk B] | --pingpong SECONDS\n");
      return 2;
    }
  }
  if (streams < 1 || bytes < 1 || chunk < 1) {
    fprintf(stderr, "tcp_ceiling: --streams, --bytes and --chunk must be positive\n");
    return 2;
  }
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(lfd, streams) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    perror("tcp_ceiling: listen");
    return 1;
  }
  const uint64_t per_stream = static_cast<uint64_t>(bytes) / static_cast<uint64_t>(streams);
  std::vector<int> cfds, sfds;
  for (int s = 0; s < streams; s++) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      perror("tcp_ceiling: connect");
      return 1;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    cfds.push_back(c);
    sfds.push_back(accept(lfd, nullptr, nullptr));
  }
  if (pingpong_secs > 0) {
    int one = 1;
    setsockopt(sfds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return pingpong(cfds[0], sfds[0], pingpong_secs);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  bool failed = false;
  for (int s = 0; s < streams; s++) {
    threads.emplace_back([&, s] {
      std::vector<char> buf(chunk, 'x');
      for (uint64_t left = per_stream; left > 0;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(left, chunk));
        if (!full_write(cfds[s], buf.data(), n)) {
          failed = true;
          return;
        }
        left -= n;
      }
      shutdown(cfds[s], SHUT_WR);
    });
    threads.emplace_back([&, s] {
      std::vector<char> buf(chunk);
      for (;;) {
        ssize_t r = ::recv(sfds[s], buf.data(), buf.size(), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) {
    fprintf(stderr, "tcp_ceiling: send failed\n");
    return 1;
  }
  double total = static_cast<double>(per_stream) * streams;
  printf(
      "RESULT proto=tcp workload=stream clients=%d ops=%.0f seconds=%.3f ops_s=%.1f "
      "mb_s=%.1f p50_us=0 p99_us=0 errors=0\n",
      streams, total / static_cast<double>(chunk), secs, total / static_cast<double>(chunk) / secs,
      total / secs / 1e6);
  return 0;
}
