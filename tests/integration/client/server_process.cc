#include "tests/integration/client/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace pnfsgw::client::test {
namespace {
constexpr char kListening[] = "pnfsgw: listening on ";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Waits for the child with a deadline; returns its wait status or -1.
int wait_with_timeout(pid_t pid, std::chrono::milliseconds timeout, bool* exited) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      *exited = true;
      return status;
    }
    if (r < 0) {
      *exited = true;
      return -1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      *exited = false;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}
}  // namespace

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pnfsgw-client-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    perror("mkdtemp");
    abort();
  }
  path_ = buf.data();
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
                          std::chrono::milliseconds timeout) {
  static int counter = 0;
  std::string tag = std::to_string(++counter);
  std::string stdout_path = log_dir + "/server" + tag + ".out";
  stderr_path_ = log_dir + "/server" + tag + ".err";

  std::vector<std::string> args{PNFSGW_BINARY, "serve",  "--listen",
                                "127.0.0.1:0", "--data", data_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return false;
  }
  if (pid == 0) {
    int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;

  // Poll the stdout file for the listening line (a file, not a pipe, so the
  // server never blocks on output nobody reads).
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out = read_file(stdout_path);
    size_t at = out.find(kListening);
    if (at != std::string::npos) {
      size_t eol = out.find('\n', at);
      if (eol != std::string::npos) {
        std::string addr = out.substr(at + strlen(kListening), eol - at - strlen(kListening));
        size_t colon = addr.rfind(':');
        if (colon == std::string::npos) break;
        port_ = static_cast<uint16_t>(std::stoul(addr.substr(colon + 1)));
        return port_ != 0;
      }
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      fprintf(stderr, "pnfsgw exited during startup (status %d): %s\n", status, log_tail().c_str());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  fprintf(stderr, "pnfsgw did not report its port in time: %s\n", log_tail().c_str());
  return false;
}

int ServerProcess::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  bool exited = false;
  int status = wait_with_timeout(pid_, timeout, &exited);
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return -2;
  }
  pid_ = -1;
  if (status >= 0 && WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

std::string ServerProcess::log_tail(size_t max_bytes) const {
  std::string log = read_file(stderr_path_);
  if (log.size() > max_bytes) log = log.substr(log.size() - max_bytes);
  return log;
}

}  // namespace pnfsgw::client::test
