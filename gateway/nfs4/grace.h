// The grace period after a restart (RFC 8881 8.4.2) and the client records
// that decide it. Client owners that hold state are recorded in
// STATE_DIR/clients (one hex-encoded owner per line, rewritten atomically
// when the set changes, which is rare: a client's first session, its
// DESTROY_CLIENTID or expiry). At start, the previous instance's records say
// who may reclaim; grace ends when each of them sent RECLAIM_COMPLETE or the
// grace time is up, and is skipped when there are none. Safe from any thread.
#pragma once
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <string>

namespace pnfsgw::nfs4 {

class GraceManager {
 public:
  using Clock = std::chrono::steady_clock;
  GraceManager(std::string state_dir, std::chrono::seconds grace,
               std::function<Clock::time_point()> now = [] { return Clock::now(); });

  bool in_grace();
  // The owner held state before the restart and has not finished reclaiming.
  bool may_reclaim(const std::string& owner);
  void reclaim_complete(const std::string& owner);
  // Record changes; persisted before returning.
  void client_active(const std::string& owner);
  void client_gone(const std::string& owner);
  size_t previous_clients();

 private:
  void persist_locked();
  std::string path_;
  std::function<Clock::time_point()> now_;
  std::mutex mu_;
  Clock::time_point grace_end_;        // guarded by mu_
  std::set<std::string> reclaimable_;  // guarded by mu_: previous owners still reclaiming
  size_t previous_ = 0;                // guarded by mu_
  std::set<std::string> active_;       // guarded by mu_: owners recorded now
};

}  // namespace pnfsgw::nfs4
