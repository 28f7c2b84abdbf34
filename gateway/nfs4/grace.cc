#include "gateway/nfs4/grace.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "common/log.h"

namespace pnfsgw::nfs4 {
namespace {

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

bool unhex(const std::string& h, std::string* out) {
  if (h.size() % 2) return false;
  out->clear();
  for (size_t i = 0; i < h.size(); i += 2) {
    int v = 0;
    if (sscanf(h.c_str() + i, "%2x", &v) != 1) return false;
    out->push_back(static_cast<char>(v));
  }
  return true;
}

}  // namespace

GraceManager::GraceManager(std::string state_dir, std::chrono::seconds grace,
                           std::function<Clock::time_point()> now)
    : now_(std::move(now)) {
  grace_end_ = now_();
  if (state_dir.empty()) return;
  path_ = state_dir + "/clients";
  std::ifstream in(path_);
  std::string line, owner;
  while (std::getline(in, line))
    if (!line.empty() && unhex(line, &owner)) reclaimable_.insert(owner);
  previous_ = reclaimable_.size();
  // The previous instance's clients stay recorded until they come back or
  // the grace period ends, so a second restart still lets them reclaim.
  active_ = reclaimable_;
  if (!reclaimable_.empty()) {
    grace_end_ = now_() + grace;
    PLOG_INFO("grace period: %zu client(s) may reclaim state for %llds", previous_,
              static_cast<long long>(grace.count()));
  }
}

bool GraceManager::in_grace() {
  std::lock_guard<std::mutex> lk(mu_);
  if (reclaimable_.empty() || now_() >= grace_end_) {
    if (!reclaimable_.empty()) {
      // Clients that never came back lose their claim.
      for (const auto& o : reclaimable_) active_.erase(o);
      reclaimable_.clear();
      persist_locked();
      PLOG_INFO("grace period over");
    }
    return false;
  }
  return true;
}

bool GraceManager::may_reclaim(const std::string& owner) {
  if (!in_grace()) return false;
  std::lock_guard<std::mutex> lk(mu_);
  return reclaimable_.count(owner) > 0;
}

void GraceManager::reclaim_complete(const std::string& owner) {
  std::lock_guard<std::mutex> lk(mu_);
  if (reclaimable_.erase(owner) && reclaimable_.empty()) PLOG_INFO("grace period over: all clients reclaimed");
}

void GraceManager::client_active(const std::string& owner) {
  std::lock_guard<std::mutex> lk(mu_);
  if (active_.insert(owner).second) persist_locked();
}

void GraceManager::client_gone(const std::string& owner) {
  std::lock_guard<std::mutex> lk(mu_);
  reclaimable_.erase(owner);
  if (active_.erase(owner)) persist_locked();
}

size_t GraceManager::previous_clients() {
  std::lock_guard<std::mutex> lk(mu_);
  return previous_;
}

void GraceManager::persist_locked() {
  if (path_.empty()) return;
  std::string tmp = path_ + ".tmp";
  std::string body;
  for (const auto& o : active_) body += hex(o) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    PLOG_ERROR("cannot write client records %s: %m", tmp.c_str());
    return;
  }
  bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0)
    PLOG_ERROR("cannot update client records %s", path_.c_str());
}

}  // namespace pnfsgw::nfs4
