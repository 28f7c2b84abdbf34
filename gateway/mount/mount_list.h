// The mounts clients told us about (MOUNT MNT/UMNT/UMNTALL), for DUMP.
// Advisory only, as RFC 1813 appendix I says: kept in memory, lost on
// restart, never used for access decisions. Safe from any thread.
#pragma once
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pnfsgw::mount {

class MountList {
 public:
  using Entry = std::pair<std::string, std::string>;  // host, directory

  void add(const std::string& host, const std::string& dir);
  void remove(const std::string& host, const std::string& dir);
  void remove_host(const std::string& host);
  std::vector<Entry> entries() const;  // sorted by host, then directory

 private:
  static constexpr size_t kMaxEntries = 4096;  // a bound against chatty clients
  mutable std::mutex mu_;
  std::set<Entry> entries_;  // GUARDED_BY(mu_)
};

// "ip:port" (or "[ip6]:port") -> "ip".
std::string host_of_peer(const std::string& peer);

}  // namespace pnfsgw::mount
