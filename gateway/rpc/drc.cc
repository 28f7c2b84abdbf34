#include "gateway/rpc/drc.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace pnfsgw::rpc {
namespace {

// FNV-1a: a retransmit carries byte-identical arguments, so any decent
// spread is enough; this is not a defence against a forging client, which
// could send a different request with the same xid anyway.
uint64_t fnv1a(std::span<const uint8_t> bytes, uint64_t h = 0xcbf29ce484222325ull) {
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t mix(uint64_t h, uint64_t v) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&v);
  return fnv1a({p, sizeof(v)}, h);
}

// The arguments' checksum, 8 bytes a step: byte-wise FNV over the 1 KiB of
// a WRITE's arguments cost ~6k instructions a call. Each word goes through a
// multiply-xorshift so that every input bit reaches the whole state.
uint64_t args_checksum(std::span<const uint8_t> bytes) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return fnv1a(bytes.subspan(i), h);
}

}  // namespace

// ---- Claim ----

DuplicateRequestCache::Claim::Claim(Claim&& o) noexcept
    : cache_(o.cache_),
      lookup_(o.lookup_),
      entry_id_(std::exchange(o.entry_id_, 0)),
      key_(std::move(o.key_)),
      stat_(o.stat_),
      results_(std::move(o.results_)) {}

DuplicateRequestCache::Claim::~Claim() {
  if (entry_id_ != 0) cache_->finish(*this, false, SUCCESS, {});
}

void DuplicateRequestCache::Claim::complete(AcceptStat stat, std::span<const uint8_t> results) {
  if (entry_id_ == 0) return;
  cache_->finish(*this, true, stat, results);
  entry_id_ = 0;
}

// ---- DuplicateRequestCache ----

DuplicateRequestCache::DuplicateRequestCache(Options opts) : opts_(std::move(opts)) {}

std::string_view DuplicateRequestCache::address_of(std::string_view peer) {
  size_t colon = peer.rfind(':');
  // "[::1]" alone (no port) ends in ']' and keeps its colons.
  if (colon == std::string_view::npos || peer.back() == ']') return peer;
  return peer.substr(0, colon);
}

size_t DuplicateRequestCache::KeyHash::operator()(const Key& k) const {
  uint64_t h = fnv1a({reinterpret_cast<const uint8_t*>(k.client.data()), k.client.size()});
  h = mix(h, (uint64_t{k.xid} << 32) | k.proc);
  h = mix(h, (uint64_t{k.prog} << 32) | k.vers);
  h = mix(h, (uint64_t{k.uid} << 32) | k.gid);
  h = mix(h, k.args_sum ^ k.args_len);
  return static_cast<size_t>(h);
}

DuplicateRequestCache::Key DuplicateRequestCache::key_of(const CallContext& call,
                                                         std::span<const uint8_t> args) {
  Key k;
  if (call.conn) k.client = std::string(address_of(call.conn->peer()));
  k.xid = call.hdr.xid;
  k.prog = call.hdr.prog;
  k.vers = call.hdr.vers;
  k.proc = call.hdr.proc;
  if (call.hdr.flavor == AUTH_SYS) {
    k.uid = call.hdr.sys.uid;
    k.gid = call.hdr.sys.gid;
  }
  k.args_len = static_cast<uint32_t>(args.size());
  k.args_sum = args_checksum(args.first(std::min(args.size(), kChecksumBytes)));
  return k;
}

bool DuplicateRequestCache::expired(const Entry& e, Clock::time_point now) const {
  return e.done && now - e.at > opts_.max_age;
}

void DuplicateRequestCache::erase(Lru::iterator it) {
  index_.erase(it->key);
  lru_.erase(it);
}

void DuplicateRequestCache::make_room(Clock::time_point now) {
  while (!lru_.empty() && expired(lru_.back(), now)) erase(std::prev(lru_.end()));
  // Whatever its state: an in-progress entry that 4096 newer requests
  // passed is the oldest thing here; its claim finds it gone and stores
  // nothing, and a retransmit of it runs again.
  while (!lru_.empty() && lru_.size() >= std::max<size_t>(opts_.max_entries, 1)) {
    erase(std::prev(lru_.end()));
    ++stats_.evictions;
  }
}

DuplicateRequestCache::Claim DuplicateRequestCache::begin(const CallContext& call,
                                                          std::span<const uint8_t> args) {
  Claim c(this);
  Key key = key_of(call, args);
  const Clock::time_point now = opts_.now();
  std::lock_guard lk(mu_);
  if (auto f = index_.find(key); f != index_.end()) {
    Lru::iterator it = f->second;
    if (!it->done) {
      ++stats_.in_progress_drops;
      c.lookup_ = Lookup::kInProgress;
      return c;
    }
    if (!expired(*it, now)) {
      ++stats_.replays;
      lru_.splice(lru_.begin(), lru_, it);
      c.lookup_ = Lookup::kReplay;
      c.stat_ = it->stat;
      c.results_ = it->results;
      return c;
    }
    erase(it);
  }
  ++stats_.misses;
  make_room(now);
  lru_.push_front(Entry{key, next_id_++, false, now, SUCCESS, {}});
  index_.emplace(std::move(key), lru_.begin());
  c.lookup_ = Lookup::kNew;
  c.entry_id_ = lru_.front().id;
  c.key_ = lru_.front().key;
  return c;
}

DuplicateRequestCache::Lru::iterator DuplicateRequestCache::find_claimed(const Claim& c) {
  auto f = index_.find(c.key_);
  if (f == index_.end() || f->second->id != c.entry_id_) return lru_.end();
  return f->second;
}

void DuplicateRequestCache::finish(const Claim& c, bool keep, AcceptStat stat,
                                   std::span<const uint8_t> results) {
  if (stat != SUCCESS) results = {};  // the transport sends only the status
  const Clock::time_point now = opts_.now();
  std::lock_guard lk(mu_);
  Lru::iterator it = find_claimed(c);
  if (it == lru_.end()) return;  // evicted meanwhile
  if (!keep || results.size() > opts_.max_reply) {
    erase(it);
    return;
  }
  it->done = true;
  it->at = now;
  it->stat = stat;
  it->results.assign(results.begin(), results.end());
}

size_t DuplicateRequestCache::size() const {
  std::lock_guard lk(mu_);
  return lru_.size();
}

DuplicateRequestCache::Stats DuplicateRequestCache::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

}  // namespace pnfsgw::rpc
