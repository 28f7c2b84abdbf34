#include "gateway/mount/mount_list.h"

namespace pnfsgw::mount {

void MountList::add(const std::string& host, const std::string& dir) {
  std::lock_guard<std::mutex> lk(mu_);
  if (entries_.size() < kMaxEntries) entries_.emplace(host, dir);
}

void MountList::remove(const std::string& host, const std::string& dir) {
  std::lock_guard<std::mutex> lk(mu_);
  entries_.erase({host, dir});
}

void MountList::remove_host(const std::string& host) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = entries_.lower_bound({host, ""}); it != entries_.end() && it->first == host;)
    it = entries_.erase(it);
}

std::vector<MountList::Entry> MountList::entries() const {
  std::lock_guard<std::mutex> lk(mu_);
  return {entries_.begin(), entries_.end()};
}

std::string host_of_peer(const std::string& peer) {
  auto colon = peer.rfind(':');
  std::string host = colon == std::string::npos ? peer : peer.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

}  // namespace pnfsgw::mount
