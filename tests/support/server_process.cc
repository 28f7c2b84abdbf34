#include "tests/support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "tests/support/host_tools.h"

namespace pnfsgw::test {
namespace {
using Clock = std::chrono::steady_clock;

constexpr std::string_view kListening = "pnfsgw: listening on ";

// The port of the first complete "pnfsgw: listening on HOST:PORT" line.
std::optional<uint16_t> listening_port(const std::string& out) {
  size_t at = out.find(kListening);
  if (at == std::string::npos) return std::nullopt;
  size_t eol = out.find('\n', at);
  if (eol == std::string::npos) return std::nullopt;
  size_t colon = out.rfind(':', eol);
  if (colon == std::string::npos || colon < at) return std::nullopt;
  uint16_t port = 0;
  auto [end, ec] = std::from_chars(out.data() + colon + 1, out.data() + eol, port);
  if (ec != std::errc() || end != out.data() + eol || port == 0) return std::nullopt;
  return port;
}

// Waits for pid until deadline; true with *status set once it was reaped
// (or cannot be waited for any more).
bool wait_until(pid_t pid, Clock::time_point deadline, int* status) {
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) {
      *status = -1;
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// Reports a start() failure to *err, or to stderr when err is null; false.
bool fail(const std::string& message, std::string* err) {
  if (err != nullptr) {
    *err = message;
  } else {
    fprintf(stderr, "%s\n", message.c_str());
  }
  return false;
}
}  // namespace

TempDir::TempDir(std::string_view prefix) {
  const char* base = getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    perror("mkdtemp");
    abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
}

bool ServerProcess::start(const std::string& data_dir, const std::string& log_dir,
                          const std::vector<std::string>& extra_args,
                          std::chrono::milliseconds timeout, std::string* err) {
  if (pid_ > 0) return fail("pnfsgw is already running", err);
  // Numbered logs, so a restart in the same log_dir keeps the earlier ones.
  static std::atomic<int> counter = 0;
  std::string tag = std::to_string(++counter);
  std::string stdout_path = log_dir + "/server" + tag + ".out";
  stderr_path_ = log_dir + "/server" + tag + ".err";
  port_ = 0;

  std::vector<std::string> args{binary_, "serve", "--listen", "127.0.0.1:0", "--data", data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return fail(std::string("fork: ") + strerror(errno), err);
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int er = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || er < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(er, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;

  // Poll the stdout file for the listening line (a file, not a pipe, so the
  // server never blocks on output nobody reads).
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (auto port = listening_port(read_host_file(stdout_path))) {
      port_ = *port;
      return true;
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return fail("pnfsgw exited (" + describe_wait_status(status) +
                      ") before listening; stderr:\n" + log_tail(),
                  err);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fail("pnfsgw printed no listening line within " + std::to_string(timeout.count()) +
                  " ms; stderr:\n" + log_tail(),
              err);
}

int ServerProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  pid_t pid = pid_;
  pid_ = -1;
  kill(pid, SIGTERM);
  int status = 0;
  if (!wait_until(pid, Clock::now() + timeout, &status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -2;
  }
  if (status != -1 && WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

std::string ServerProcess::log_tail(size_t max_bytes) const {
  if (stderr_path_.empty()) return "";
  std::string log = read_host_file(stderr_path_);
  return log.size() > max_bytes ? log.substr(log.size() - max_bytes) : log;
}

}  // namespace pnfsgw::test
