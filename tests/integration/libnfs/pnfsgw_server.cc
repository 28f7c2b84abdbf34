#include "tests/integration/libnfs/pnfsgw_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace pnfsgw::libnfs_test {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits for pid until deadline; true with *status set once it exited.
bool wait_until(pid_t pid, Clock::time_point deadline, int* status) {
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

PnfsgwServer::~PnfsgwServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  if (!work_dir_.empty()) fs::remove_all(work_dir_, ec);  // holds data_dir_
}

bool PnfsgwServer::start(std::string* err) {
  const char* tmp = getenv("TMPDIR");
  std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/pnfsgw-libnfs.XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    *err = std::string("mkdtemp: ") + strerror(errno);
    return false;
  }
  // Logs and scratch files live beside the data dir, not in it.
  work_dir_ = buf.data();
  data_dir_ = work_dir_ + "/data";
  std::string out_path = work_dir_ + "/stdout", err_path = work_dir_ + "/stderr";

  pid_ = fork();
  if (pid_ < 0) {
    *err = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid_ == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int er = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(er, 2);
    execl(binary_.c_str(), binary_.c_str(), "serve", "--listen", "127.0.0.1:0", "--data",
          data_dir_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  static const std::regex kListening(R"(pnfsgw: listening on 127\.0\.0\.1:(\d+))");
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    std::smatch m;
    std::string out = slurp(out_path);
    if (std::regex_search(out, m, kListening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1]));
      return true;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *err = "pnfsgw exited with " + std::to_string(decode_status(status)) +
             " before listening; stderr:\n" + log_tail();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *err = "pnfsgw printed no listening line within 30 s; stderr:\n" + log_tail();
  return false;
}

int PnfsgwServer::stop(int timeout_s) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  pid_t pid = pid_;
  pid_ = -1;
  if (!wait_until(pid, Clock::now() + std::chrono::seconds(timeout_s), &status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -2;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string PnfsgwServer::log_tail(size_t max_bytes) const {
  std::string s = slurp(work_dir_ + "/stderr");
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

CommandResult run_command(const std::vector<std::string>& argv, int timeout_s) {
  CommandResult res;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    res.errors = std::string("pipe: ") + strerror(errno);
    return res;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    res.errors = std::string("fork: ") + strerror(errno);
    close(out[0]);
    close(err[0]);
    return res;
  }
  auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&res.output, &res.errors};
  int open_fds = 2;
  bool timed_out = false;
  char chunk[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) {
        sinks[i]->append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) close(p.fd);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  res.status = decode_status(status);
  if (timed_out) res.errors += "\n[killed after " + std::to_string(timeout_s) + " s]";
  return res;
}

std::string read_host_file(const std::string& path) { return slurp(path); }

void write_host_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, std::min<size_t>(8, n - i));
  }
  return s;
}

}  // namespace pnfsgw::libnfs_test
