// tcp_ceiling: the loopback TCP ceiling that NFS throughput is compared
// with. N streams (one sender and one receiver thread each, in this one
// process, like an NFS client and server on one host) each move their
// share of --bytes in --chunk writes; the receiver reads into a buffer and
// touches nothing else. Prints a RESULT line like the NFS load generators
// (proto=tcp workload=stream), aggregate MB/s over the wall time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

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

}  // namespace

int main(int argc, char** argv) {
  int streams = 1;
  double bytes = 1 << 30;
  size_t chunk = 1 << 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--streams")
      streams = atoi(argv[i + 1]);
    else if (a == "--bytes")
      bytes = atof(argv[i + 1]);
    else if (a == "--chunk")
      chunk = static_cast<size_t>(atol(argv[i + 1]));
    else {
      fprintf(stderr, "usage: tcp_ceiling [--streams N] [--bytes B] [--chunk B]\n");
      return 2;
    }
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
