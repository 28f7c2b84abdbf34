// StoreFs crash consistency: for each seed, a random sequence of namespace,
// data and space operations on a FaultDevice, a power cut at a random device
// call, a crash that tears the unflushed blocks, then a reopen that must give
// a clean fsck and exactly the contents the byte model allows (crash_model.h;
// the operation in flight may have happened or not). The reopened store must
// then keep working.
//
// PNFSGW_CRASH_SEEDS (default 2000, about 10 s on 2 cores) and PNFSGW_CRASH_FIRST_SEED (default 1)
// choose the seeds; a failure names its seed and the operations that led to it.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>

#include "backend/device/fault_device.h"
#include "backend/store/store_fs.h"
#include "tests/crash/crash_model.h"

namespace pnfsgw::store::crash {
namespace {

using backend::InodeId;

constexpr uint64_t kDevSize = 8ull << 20;
constexpr uint64_t kMaxOff = 40 * 1024;  // files stay small: a few dozen blocks
const char* const kNames[] = {"a", "b", "c", "d"};
const char* const kDirs[] = {"d0", "d1"};

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = getenv(name);
  return v && *v ? strtoull(v, nullptr, 10) : dflt;
}

// A scratch directory for the LMDB metadata, on /dev/shm when there is one:
// LMDB syncs every commit, which tmpfs makes free.
class ScratchDir {
 public:
  ScratchDir() {
    std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    std::string tmpl = base + "/pnfsgw-crash-XXXXXX";
    if (!mkdtemp(tmpl.data())) abort();
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string dir_of(const std::string& path) {
  size_t s = path.find('/');
  return s == std::string::npos ? "" : path.substr(0, s);
}
std::string base_of(const std::string& path) {
  size_t s = path.find('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

struct Stats {
  uint64_t crash_points = 0, in_flight = 0, ops = 0, torn_files = 0;
};

// One seed: the store, the device under it, the model, and the log of what
// was done (printed on failure).
class CrashRun {
 public:
  explicit CrashRun(uint64_t seed) : seed_(seed), rng_(seed), dev_(kDevSize) {
    opt_.meta_dir = dir_.path() + "/meta";
    opt_.meta_map_size = 64ull << 20;
  }

  // Empty on success, else what went wrong.
  std::string run(Stats& stats);

 private:
  struct OpResult {
    Status st;
    std::vector<Model> mids;                    // states between sub-steps (copy_range)
    std::map<std::string, BlockKinds> kinds;  // files written, blocks before the op
  };

  std::string fail(const std::string& what) const;
  bool open_store(std::string* why);
  uint64_t rnd(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  std::string random_bytes(size_t n);
  std::optional<InodeId> resolve(const std::string& path);
  BlockKinds kinds_of(InodeId ino);
  std::string pick_file();
  std::string pick_new_path();
  OpResult run_op(bool track);
  OpResult data_op(const std::string& path, InodeId ino, bool track);
  OpResult two_file_op(bool track);
  std::string verify(const Model& m);
  void settle_to_store();

  uint64_t seed_;
  std::mt19937_64 rng_;
  ScratchDir dir_;
  backend::device::FaultDevice dev_;
  StoreOptions opt_;
  std::unique_ptr<StoreFs> fs_;
  Model m_;
  std::vector<std::string> log_;
  struct Clone {
    std::string src, dst;
    uint64_t s_off, d_off, len;
  };
  std::optional<Clone> last_clone_;  // where dedupe finds equal bytes
};

std::string CrashRun::fail(const std::string& what) const {
  std::string s = "seed " + std::to_string(seed_) + ": " + what + "\n  operations:";
  for (const std::string& l : log_) s += "\n    " + l;
  return s;
}

bool CrashRun::open_store(std::string* why) {
  auto f = StoreFs::open(&dev_, nullptr, opt_);
  if (!f) {
    *why = std::string("open: ") + strerror(f.err());
    return false;
  }
  fs_ = std::move(f).value();
  return true;
}

std::string CrashRun::random_bytes(size_t n) {
  std::string s(n, '\0');
  uint64_t x = rng_() | 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

std::optional<InodeId> CrashRun::resolve(const std::string& path) {
  InodeId dir = kRootIno;
  if (!dir_of(path).empty()) {
    auto d = fs_->lookup(kRootIno, dir_of(path));
    if (!d) return std::nullopt;
    dir = d.value().ino;
  }
  auto a = fs_->lookup(dir, base_of(path));
  if (!a) return std::nullopt;
  return a.value().ino;
}

// list_extents() flags a whole extent as shared when any of its blocks is;
// which blocks are is counted here over every file's mappings.
BlockKinds CrashRun::kinds_of(InodeId ino) {
  std::map<uint64_t, int> refs;  // device block -> mappings
  std::vector<backend::FileExtent> mine;
  for (const auto& [p, f] : m_.files) {
    auto i = resolve(p);
    auto ext = i ? fs_->list_extents(*i, 0, UINT64_MAX) : Result<std::vector<backend::FileExtent>>::error(ENOENT);
    if (!ext) continue;
    for (const backend::FileExtent& e : ext.value())
      for (uint64_t b = 0; b < e.length / kB; b++) refs[e.physical / kB + b]++;
    if (*i == ino) mine = ext.value();
  }
  BlockKinds k;
  for (const backend::FileExtent& e : mine) {
    uint64_t b0 = e.offset / kB, b1 = (e.offset + e.length) / kB;
    if (k.size() < b1) k.resize(b1, BlockKind::kHole);
    for (uint64_t b = b0; b < b1; b++) {
      bool shared = refs[e.physical / kB + (b - b0)] > 1;
      k[b] = e.unwritten ? BlockKind::kUnwritten : shared ? BlockKind::kShared : BlockKind::kPrivate;
    }
  }
  return k;
}

std::string CrashRun::pick_file() {
  if (m_.files.empty()) return "";
  auto it = m_.files.begin();
  std::advance(it, rnd(m_.files.size()));
  return it->first;
}

std::string CrashRun::pick_new_path() {
  std::string dir = rnd(2) ? "" : kDirs[rnd(2)];
  if (!dir.empty() && !m_.dirs.count(dir)) dir = "";
  return (dir.empty() ? "" : dir + "/") + kNames[rnd(4)];
}

// Runs one random operation and applies it to m_ (as if it completed).
CrashRun::OpResult CrashRun::run_op(bool track) {
  OpResult r;
  uint64_t pick = rnd(100);
  if (m_.files.empty() || pick < 8) {  // create
    std::string p = pick_new_path();
    if (m_.files.count(p)) return r;
    auto d = dir_of(p).empty() ? std::optional<InodeId>(kRootIno) : resolve(dir_of(p));
    log_.push_back("create " + p);
    bool created;
    auto a = fs_->create(d.value_or(0), base_of(p), 0644, {}, backend::CreateMode::kExclusive, &created);
    r.st = a ? Status::ok() : a.status();
    m_.files[p] = {};
    return r;
  }
  if (pick < 11) {  // mkdir / rmdir
    std::string d = kDirs[rnd(2)];
    if (!m_.dirs.count(d)) {
      log_.push_back("mkdir " + d);
      auto a = fs_->mkdir(kRootIno, d, 0755, {});
      r.st = a ? Status::ok() : a.status();
      m_.dirs.insert(d);
      return r;
    }
    for (const auto& [p, f] : m_.files)
      if (dir_of(p) == d) return r;  // not empty
    log_.push_back("rmdir " + d);
    r.st = fs_->rmdir(kRootIno, d);
    m_.dirs.erase(d);
    return r;
  }
  std::string p = pick_file();
  auto ino = resolve(p);
  if (!ino) {
    r.st = Status::error(ENOENT);
    log_.push_back("lookup " + p + " failed");
    return r;
  }
  auto parent = [&](const std::string& path) {
    return dir_of(path).empty() ? kRootIno : resolve(dir_of(path)).value_or(0);
  };
  if (pick < 15) {  // unlink
    log_.push_back("unlink " + p);
    r.st = fs_->unlink(parent(p), base_of(p));
    m_.files.erase(p);
    return r;
  }
  if (pick < 20) {  // rename, maybe over another file
    std::string q = pick_new_path();
    log_.push_back("rename " + p + " -> " + q);
    r.st = fs_->rename(parent(p), base_of(p), parent(q), base_of(q));
    if (q != p) {
      m_.files[q] = std::move(m_.files[p]);
      m_.files.erase(p);
    }
    return r;
  }
  if (pick < 32) return two_file_op(track);
  return data_op(p, *ino, track);
}

CrashRun::OpResult CrashRun::data_op(const std::string& p, InodeId ino, bool) {
  OpResult r;
  FileModel& f = m_.files[p];
  BlockKinds kinds = kinds_of(ino);
  r.kinds[p] = kinds;
  uint64_t pick = rnd(100), size = f.size();
  char buf[160];
  auto note = [&](const char* op, uint64_t a, uint64_t b) {
    snprintf(buf, sizeof buf, "%s %s %llu %llu (size %llu)", op, p.c_str(), (unsigned long long)a,
             (unsigned long long)b, (unsigned long long)size);
    log_.push_back(buf);
  };
  if (pick < 45) {  // write, unaligned or whole blocks
    uint64_t off = rnd(2) ? rnd(kMaxOff) : rnd(kMaxOff / kB) * kB;
    uint64_t len = rnd(2) ? 1 + rnd(3 * kB + 100) : (1 + rnd(3)) * kB;
    std::string data = random_bytes(len);
    note("write", off, len);
    auto w = fs_->write(ino, off, std::span(reinterpret_cast<const uint8_t*>(data.data()), len));
    r.st = w ? Status::ok() : w.status();
    model_write(f, off, data, kinds);
  } else if (pick < 55) {
    note("fsync", 0, 0);
    r.st = fs_->fsync(ino, false);
    model_fsync(f);
  } else if (pick < 65) {
    uint64_t to = rnd(3) == 0 ? rnd(kMaxOff + 8 * kB) : rnd(size + 1);
    note("truncate", to, 0);
    backend::SetAttr sa;
    sa.size = to;
    auto a = fs_->setattr(ino, sa);
    r.st = a ? Status::ok() : a.status();
    model_truncate(f, to);
  } else if (pick < 73) {
    uint64_t off = rnd(size + kB), len = 1 + rnd(3 * kB);
    note("punch", off, len);
    r.st = fs_->punch_hole(ino, off, len);
    model_punch(f, off, len);
  } else if (pick < 81) {
    uint64_t off = rnd(kMaxOff), len = 1 + rnd(3 * kB);
    note("zero_range", off, len);
    r.st = fs_->zero_range(ino, off, len);
    model_zero_range(f, off, len);
  } else if (pick < 87) {
    uint64_t off = rnd(kMaxOff), len = 1 + rnd(3 * kB);
    note("allocate", off, len);
    r.st = fs_->allocate(ino, off, len);
    model_allocate(f, off, len);
  } else if (pick < 94) {
    if (size == 0 || size > kMaxOff) return r;
    uint64_t off = rnd((size - 1) / kB + 1) * kB, len = (1 + rnd(2)) * kB;
    note("insert", off, len);
    r.st = fs_->insert_range(ino, off, len);
    model_insert(f, off, len);
  } else {
    uint64_t len = (1 + rnd(2)) * kB;
    if (size <= len) return r;
    uint64_t off = rnd((size - len - 1) / kB + 1) * kB;
    note("collapse", off, len);
    r.st = fs_->collapse_range(ino, off, len);
    model_collapse(f, off, len);
  }
  return r;
}

// clone, copy_range, dedupe between two files (clone also within one).
CrashRun::OpResult CrashRun::two_file_op(bool track) {
  OpResult r;
  std::string sp = pick_file(), dp = pick_file();
  auto si = resolve(sp), di = resolve(dp);
  if (!si || !di) {
    r.st = Status::error(ENOENT);
    log_.push_back("lookup " + sp + " or " + dp + " failed");
    return r;
  }
  uint64_t ssize = m_.files[sp].size(), dsize = m_.files[dp].size();
  if (ssize == 0) return r;
  char buf[200];
  auto note = [&](const char* op, uint64_t so, uint64_t doff, uint64_t len) {
    snprintf(buf, sizeof buf, "%s %s@%llu -> %s@%llu len %llu (sizes %llu, %llu)", op, sp.c_str(),
             (unsigned long long)so, dp.c_str(), (unsigned long long)doff, (unsigned long long)len,
             (unsigned long long)ssize, (unsigned long long)dsize);
    log_.push_back(buf);
  };
  uint64_t pick = rnd(100);
  if (pick < 40) {  // clone: whole blocks, or a tail ending at the source's EOF
    uint64_t s_off = rnd((ssize - 1) / kB + 1) * kB;
    uint64_t len = std::min<uint64_t>((1 + rnd(3)) * kB, (ssize - s_off) / kB * kB);
    bool tail = len == 0 || rnd(4) == 0;
    if (tail) len = ssize - s_off;
    uint64_t d_off = rnd(kMaxOff / kB) * kB;
    if (tail && d_off + len < dsize) d_off = (dsize + kB - 1) / kB * kB;
    if (sp == dp && s_off < d_off + len + kB && d_off < s_off + len + kB) d_off = (ssize + kB - 1) / kB * kB + kB;
    note("clone", s_off, d_off, len);
    r.st = fs_->clone_range(*si, s_off, *di, d_off, len);
    model_clone(m_.files[sp], s_off, m_.files[dp], d_off, len);
    if (len >= kB) last_clone_ = Clone{sp, dp, s_off, d_off, len / kB * kB};
    return r;
  }
  if (pick < 60) {  // dedupe what a clone made equal (unless changed since), else anything
    uint64_t s_off = rnd((ssize - 1) / kB + 1) * kB, d_off = rnd(kMaxOff / kB) * kB, len = kB;
    if (last_clone_ && m_.files.count(last_clone_->src) && m_.files.count(last_clone_->dst) && rnd(4)) {
      sp = last_clone_->src, dp = last_clone_->dst;
      si = resolve(sp), di = resolve(dp);
      ssize = m_.files[sp].size(), dsize = m_.files[dp].size();
      s_off = last_clone_->s_off, d_off = last_clone_->d_off, len = last_clone_->len;
    }
    if (sp == dp) return r;
    FileModel& s = m_.files[sp];
    FileModel& d = m_.files[dp];
    bool inside = s_off + len <= ssize && d_off + len <= dsize;
    bool same = inside && s.data.compare(s_off, len, d.data, d_off, len) == 0;
    note("dedupe", s_off, d_off, len);
    auto x = fs_->dedupe_range(*si, s_off, *di, d_off, len);
    int want = same ? 0 : inside ? EBADE : EINVAL;
    if (!x && x.err() != want) r.st = x.status();
    else if (x && want != 0) r.st = Status::error(EPROTO);  // succeeded on bytes that differ
    if (same) model_clone(s, s_off, d, d_off, len);
    return r;
  }
  // copy_range: the store copies the edges with write() and reflinks the
  // aligned middle; mirror its steps, each a state a crash may leave.
  if (sp == dp) return r;
  uint64_t s_off = rnd(ssize), len = 1 + rnd(3 * kB);
  uint64_t d_off = rnd(2) ? s_off % kB + rnd(kMaxOff / kB) * kB : rnd(kMaxOff);
  BlockKinds kinds = kinds_of(*di);
  r.kinds[dp] = kinds;
  note("copy_range", s_off, d_off, len);
  auto x = fs_->copy_range(*si, s_off, *di, d_off, len);
  len = std::min(len, ssize - s_off);
  if (x && x.value() != len) r.st = Status::error(EPROTO);
  else if (!x) r.st = x.status();
  FileModel src = m_.files[sp];
  FileModel& dst = m_.files[dp];
  uint64_t done = 0;
  auto copy_bytes = [&](uint64_t n) {
    if (n == 0) return;
    if (track && done > 0) r.mids.push_back(m_);
    model_write(dst, d_off + done, std::string_view(src.data).substr(s_off + done, n), kinds);
    done += n;
  };
  if (s_off % kB == d_off % kB) {
    copy_bytes(std::min(len, (s_off + kB - 1) / kB * kB - s_off));
    uint64_t mid = (len - done) / kB * kB;
    if (s_off + len == ssize && d_off + len >= dsize) mid = len - done;
    if (mid > 0) {
      if (track && done > 0) r.mids.push_back(m_);
      model_clone(src, s_off + done, dst, d_off + done, mid);
      done += mid;
    }
  }
  copy_bytes(len - done);
  return r;
}

// Empty if the store holds what m allows.
std::string CrashRun::verify(const Model& m) {
  std::set<std::string> dirs, files;
  std::vector<std::pair<std::string, InodeId>> todo = {{"", kRootIno}};
  while (!todo.empty()) {
    auto [dpath, dino] = todo.back();
    todo.pop_back();
    for (uint64_t cookie = 0;;) {
      auto page = fs_->readdir(dino, cookie, 64);
      if (!page) return "readdir " + dpath + ": " + strerror(page.err());
      for (const backend::DirEntry& e : page.value().entries) {
        std::string path = dpath.empty() ? e.name : dpath + "/" + e.name;
        if (e.type == backend::FileType::kDirectory) dirs.insert(path), todo.push_back({path, e.ino});
        else files.insert(path);
        cookie = e.cookie;
      }
      if (page.value().eof || page.value().entries.empty()) break;
    }
  }
  if (dirs != m.dirs) return "directories differ from the model";
  for (const auto& [p, f] : m.files)
    if (!files.count(p)) return "file " + p + " is missing";
  for (const std::string& p : files)
    if (!m.files.count(p)) return "file " + p + " should not exist";
  for (const auto& [p, f] : m.files) {
    InodeId ino = resolve(p).value_or(0);
    auto a = fs_->getattr(ino);
    if (!a) return "getattr " + p + ": " + strerror(a.err());
    std::string got(a.value().size, '\0');
    bool eof;
    auto rd = fs_->read(ino, 0, std::span(reinterpret_cast<uint8_t*>(got.data()), got.size()), &eof);
    if (!rd || rd.value() != got.size()) return "read " + p + " failed";
    if (std::string why = file_mismatch(f, got); !why.empty()) return p + ": " + why;
  }
  return "";
}

// After a verified crash: the model takes what the store holds (one of the
// contents it allowed), so later operations start from the same bytes.
void CrashRun::settle_to_store() {
  for (auto& [p, f] : m_.files) {
    std::string got(f.size(), '\0');
    bool eof;
    (void)fs_->read(resolve(p).value_or(0), 0, std::span(reinterpret_cast<uint8_t*>(got.data()), got.size()), &eof);
    f.data = got;
    f.alts.clear();
  }
}

std::string CrashRun::run(Stats& stats) {
  if (Status st = StoreFs::format(dev_, opt_); !st) return fail(std::string("format: ") + strerror(st.err()));
  std::string why;
  if (!open_store(&why)) return fail(why);
  uint64_t nops = 20 + rnd(41), arm_at = rnd(nops), budget = rnd(24);
  std::vector<Model> states;
  for (uint64_t i = 0; i < nops; i++) {
    if (i == arm_at) {
      dev_.power_cut_after(budget);
      log_.push_back("(power cut after " + std::to_string(budget) + " device calls)");
    }
    if (dev_.power_cut()) break;
    bool track = i >= arm_at;
    std::optional<Model> pre;
    if (track) pre = m_;
    OpResult r = run_op(track);
    stats.ops++;
    if (dev_.power_cut()) {  // this operation was in flight
      log_.push_back("(power cut: in flight; it answered " + std::string(r.st ? "ok" : strerror(r.st.err())) + ")");
      states.push_back(std::move(*pre));
      for (Model& mid : r.mids) states.push_back(std::move(mid));
      states.push_back(m_);
      loosen(states, r.kinds);
      stats.in_flight++;
      break;
    }
    if (!r.st) return fail(log_.back() + ": " + strerror(r.st.err()));
  }
  if (states.empty()) states.push_back(m_);
  stats.crash_points++;

  // The crash: unflushed blocks tear, the process state is gone.
  dev_.crash(seed_ * 0x9e3779b97f4a7c15ull);
  fs_.reset();
  if (!open_store(&why)) return fail("after the crash: " + why);
  auto problems = fs_->check();
  if (!problems) return fail(std::string("fsck: ") + strerror(problems.err()));
  if (!problems.value().empty()) {
    std::string s = "fsck after the crash:";
    for (const FsckProblem& p : problems.value()) s += "\n    " + p.what;
    return fail(s);
  }
  std::string first_why;
  bool matched = false;
  for (size_t i = states.size(); i-- > 0 && !matched;) {  // the completed state first
    std::string w = verify(states[i]);
    if (w.empty()) {
      m_ = std::move(states[i]);
      matched = true;
    } else {
      first_why += (first_why.empty() ? "" : "\n    or, if the operation in flight ") +
                   std::string(i + 1 == states.size() ? "" : i == 0 ? "did not happen: " : "stopped halfway: ") + w;
    }
  }
  if (!matched) return fail("after the crash: " + first_why);
  for (const auto& [p, f] : m_.files) stats.torn_files += !f.alts.empty();

  // Recovery left a usable store: grow every file to its block end (bytes
  // past EOF must read as zeroes), run more operations, check again.
  settle_to_store();
  log_.push_back("(reopened)");
  for (auto& [p, f] : m_.files) {
    if (f.size() % kB == 0) continue;
    backend::SetAttr sa;
    sa.size = (f.size() + kB - 1) / kB * kB;
    log_.push_back("truncate " + p + " " + std::to_string(*sa.size) + " (past-EOF probe)");
    auto a = fs_->setattr(resolve(p).value_or(0), sa);
    if (!a) return fail(log_.back() + ": " + strerror(a.err()));
    model_truncate(f, *sa.size);
  }
  for (int i = 0; i < 8; i++) {
    OpResult r = run_op(false);
    if (!r.st) return fail(log_.back() + ": " + strerror(r.st.err()));
  }
  for (auto& [p, f] : m_.files) f.alts.clear();  // no crash since: the latest bytes
  if (std::string w = verify(m_); !w.empty()) return fail("after recovery and more operations: " + w);
  problems = fs_->check();
  if (!problems || !problems.value().empty())
    return fail("fsck after recovery and more operations: " +
                (problems ? problems.value().front().what : std::string(strerror(problems.err()))));
  return "";
}

TEST(StoreCrash, EveryCrashPointReopensCleanWithEveryCompletedChangeAndFsyncedByte) {
  uint64_t first = env_u64("PNFSGW_CRASH_FIRST_SEED", 1), n = env_u64("PNFSGW_CRASH_SEEDS", 2000);
  Stats stats;
  int failures = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seed = first; seed < first + n && failures < 50; seed++) {
    CrashRun run(seed);
    std::string why = run.run(stats);
    if (!why.empty()) {
      ADD_FAILURE() << why;
      failures++;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("crash points: %llu (seeds %llu..%llu), operations %llu, in flight at the cut %llu, files "
         "with unflushed blocks %llu, %.1f s\n",
         (unsigned long long)stats.crash_points, (unsigned long long)first,
         (unsigned long long)(first + n - 1), (unsigned long long)stats.ops,
         (unsigned long long)stats.in_flight, (unsigned long long)stats.torn_files, secs);
  RecordProperty("crash_points", std::to_string(stats.crash_points));
  EXPECT_GE(stats.crash_points, n - failures);
}

}  // namespace
}  // namespace pnfsgw::store::crash
