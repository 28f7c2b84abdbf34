// DuplicateRequestCache: the RPC duplicate request cache (DRC) for programs
// without sessions (NFSv3; NFSv4.0 could use it too). A client that lost a
// reply retransmits the call with the same xid, usually on a new connection;
// re-executing a non-idempotent call (REMOVE, RENAME, MKDIR, ...) would
// answer an error although the first one succeeded. The cache remembers the
// encoded results of the calls a program marks as cacheable and replays
// them, and drops a retransmit whose original is still running.
//
// A request is identified by (client IP address, xid, prog, vers, proc,
// AUTH_SYS uid/gid, args length, checksum of the first kChecksumBytes of
// args). The address leaves out the port: a client that reconnects after a
// dropped connection may come from a new source port (Linux tries to reuse
// its port, other clients do not), and a DRC that misses exactly those
// retransmits would be useless. Two hosts behind one NAT address would have
// to send the same xid for the same procedure with the same arguments and
// credential to collide. The checksum catches xid reuse (a rebooted client,
// xid wrap) with different arguments, as knfsd's does.
//
// Memory is bounded: at most max_entries entries, least recently used evicted
// first, and results over max_reply bytes are not kept. A completed entry
// older than max_age is a miss. Program-agnostic on purpose: the key is all
// RPC-level, what is stored is opaque result bytes, and the program decides
// which procedures to cache. Safe from any thread.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/rpc/rpc.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::rpc {

class DuplicateRequestCache {
 public:
  using Clock = std::chrono::steady_clock;

  // Bytes of arguments the checksum covers: all of every cached NFSv3
  // argument except long symlink targets and WRITE data.
  static constexpr size_t kChecksumBytes = 1024;

  struct Options {
    size_t max_entries = 4096;
    // Linux NFS over TCP retransmits after timeo (60 s) or a reconnect.
    std::chrono::seconds max_age{120};
    size_t max_reply = 4096;  // larger results are not cached
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
  };

  enum class Lookup {
    kNew,         // not seen: run it, then complete() the claim
    kInProgress,  // the original is still running: send nothing
    kReplay,      // seen and answered: send the stored results
  };

  struct Stats {
    uint64_t misses = 0;
    uint64_t replays = 0;
    uint64_t in_progress_drops = 0;
    uint64_t evictions = 0;
  };

 private:
  struct Key {
    std::string client;  // IP address, no port
    uint32_t xid = 0, prog = 0, vers = 0, proc = 0;
    uint32_t uid = 0, gid = 0;
    uint32_t args_len = 0;
    uint64_t args_sum = 0;
    bool operator==(const Key&) const = default;
  };

 public:
  // begin()'s answer. For kNew the caller owns the in-progress entry until
  // it calls complete(); a claim destroyed without complete() (the handler
  // threw, or chose not to reply) removes the entry, so a retransmit runs.
  // Move-only; must not outlive the cache.
  class Claim {
   public:
    Claim(Claim&& o) noexcept;
    Claim& operator=(Claim&&) = delete;
    ~Claim();

    Lookup lookup() const { return lookup_; }
    // For kReplay: the stored accept status and results.
    AcceptStat stat() const { return stat_; }
    const std::vector<uint8_t>& results() const { return results_; }
    // For kNew: stores the reply. Results are kept only for SUCCESS.
    void complete(AcceptStat stat, std::span<const uint8_t> results);

   private:
    friend class DuplicateRequestCache;
    explicit Claim(DuplicateRequestCache* cache) : cache_(cache) {}

    DuplicateRequestCache* cache_;
    Lookup lookup_ = Lookup::kNew;
    uint64_t entry_id_ = 0;  // kNew, until completed or abandoned
    Key key_;
    AcceptStat stat_ = SUCCESS;
    std::vector<uint8_t> results_;
  };

  explicit DuplicateRequestCache(Options opts);
  DuplicateRequestCache(const DuplicateRequestCache&) = delete;
  DuplicateRequestCache& operator=(const DuplicateRequestCache&) = delete;

  // Looks the call up (args: its undecoded procedure arguments) and, when
  // it is new, records it as in progress.
  Claim begin(const CallContext& call, std::span<const uint8_t> args);

  // The whole dance for an RpcProgram::handle(): run() decodes args, runs
  // the procedure, appends its results to out, sets *stat and returns the
  // disposition. It runs at most once per distinct request while the entry
  // lives; a retransmit gets the same bytes, or kDrop while run() is busy.
  template <typename Run>
  Disposition serve(const CallContext& call, const xdr::XdrDecoder& args, xdr::XdrEncoder& out,
                    AcceptStat* stat, Run&& run) {
    Claim claim = begin(call, {args.position(), args.remaining()});
    switch (claim.lookup()) {
      case Lookup::kInProgress:
        return Disposition::kDrop;
      case Lookup::kReplay:
        *stat = claim.stat();
        out.fixed_opaque(claim.results().data(), claim.results().size());
        return Disposition::kReply;
      case Lookup::kNew:
        break;
    }
    const size_t start = out.size();
    Disposition d = run();
    if (d == Disposition::kReply) {
      claim.complete(*stat, std::span<const uint8_t>(out.buffer()).subspan(start));
    }
    return d;
  }

  size_t size() const;
  Stats stats() const;

  // "10.0.0.1:812" -> "10.0.0.1", "[::1]:812" -> "[::1]".
  static std::string_view address_of(std::string_view peer);

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    Key key;
    uint64_t id;  // unique: a claim finds its own entry, not a successor's
    bool done = false;
    Clock::time_point at;  // completion time (begin time while in progress)
    AcceptStat stat = SUCCESS;
    std::vector<uint8_t> results;
  };
  using Lru = std::list<Entry>;

  static Key key_of(const CallContext& call, std::span<const uint8_t> args);
  void finish(const Claim& c, bool keep, AcceptStat stat, std::span<const uint8_t> results);
  Lru::iterator find_claimed(const Claim& c);  // lru_.end() when gone
  void erase(Lru::iterator it);
  void make_room(Clock::time_point now);
  bool expired(const Entry& e, Clock::time_point now) const;

  const Options opts_;
  mutable std::mutex mu_;
  Lru lru_;                                                // GUARDED_BY(mu_); front = newest
  std::unordered_map<Key, Lru::iterator, KeyHash> index_;  // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;                                   // GUARDED_BY(mu_)
  Stats stats_;                                            // GUARDED_BY(mu_)
};

}  // namespace pnfsgw::rpc
