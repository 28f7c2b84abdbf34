// nfs3_bench: NFSv3 load generator on libnfs (Debian's libnfs 4.0). Uses
// libnfs's raw RPC layer (one NFSv3 procedure per call, AUTH_SYS as root)
// rather than its path API, which would add a LOOKUP walk and GETATTRs to
// every call and blur what is measured. Each of --clients clients is one
// rpc_context (one TCP connection) on its own thread, one call at a time.
//
// Workloads, as in nfs4_bench but one RPC per step:
//   null       the NULL procedure: one round trip through the server's RPC
//              layer, nothing else (the floor under every other workload)
//   getattr    GETATTR of one file
//   lookup     LOOKUP of a random name among --lookup-names
//   create     CREATE (UNCHECKED) ; WRITE 4 KiB UNSTABLE ; REMOVE
//   readdir    a full READDIRPLUS listing (dircount 32 KiB, maxcount 64 KiB)
//   seqwrite   --seq-io WRITEs (UNSTABLE) over per-client stripes, then COMMIT
//   seqread    --seq-io READs of the same stripes, each client going round
//              its stripe again until --duration is up
//   randread   4 KiB READs at random 4 KiB-aligned offsets
//   randwrite  4 KiB UNSTABLE WRITEs likewise
// The root filehandle comes from MOUNT "/" on --mount-port.
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/bench/nfs/bench_harness.h"

// libnfs.h first: the raw headers use its EXTERN.
// clang-format off
extern "C" {
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
}
// clang-format on

namespace pnfsgw::bench {
namespace {

const std::vector<std::string> kWorkloads = {"null", "getattr",  "lookup",  "create",   "readdir",
                                             "seqwrite", "seqread", "randread", "randwrite"};

using Fh3 = std::vector<char>;

nfs_fh3 as_nfs_fh3(const Fh3& fh) {
  nfs_fh3 f;
  f.data.data_len = static_cast<u_int>(fh.size());
  f.data.data_val = const_cast<char*>(fh.data());
  return f;
}
Fh3 from_nfs_fh3(const nfs_fh3& f) {
  return Fh3(f.data.data_val, f.data.data_val + f.data.data_len);
}

// One RPC connection used synchronously: start an async call, then service
// the socket until its callback ran. The callback's `data` (the decoded
// reply) is only valid inside it, so callers copy what they need there.
class SyncRpc {
 public:
  SyncRpc() : rpc_(rpc_init_context()) {}
  ~SyncRpc() {
    if (rpc_) rpc_destroy_context(rpc_);
  }
  SyncRpc(const SyncRpc&) = delete;
  SyncRpc& operator=(const SyncRpc&) = delete;

  bool connect(const std::string& host, int port, int prog, int vers) {
    return call(
        "connect",
        [&](rpc_cb cb, void* p) {
          return rpc_connect_port_async(rpc_, host.c_str(), port, prog, vers, cb, p);
        },
        [](void*) { return true; });
  }

  // start(cb, private) issues the call; on_reply(data) checks and copies
  // the reply and says whether it was a success.
  bool call(const char* what, const std::function<int(rpc_cb, void*)>& start,
            const std::function<bool(void*)>& on_reply) {
    Pending p;
    p.on_reply = &on_reply;
    if (start(&SyncRpc::callback, &p) != 0) {
      fprintf(stderr, "nfs3_bench: %s: %s\n", what, rpc_get_error(rpc_));
      return false;
    }
    while (!p.done) {
      pollfd pfd{rpc_get_fd(rpc_), static_cast<short>(rpc_which_events(rpc_)), 0};
      int n = poll(&pfd, 1, 1000);
      if (n < 0 && errno != EINTR) {
        fprintf(stderr, "nfs3_bench: %s: poll: %s\n", what, strerror(errno));
        return false;
      }
      if (rpc_service(rpc_, n > 0 ? pfd.revents : 0) < 0) {
        fprintf(stderr, "nfs3_bench: %s: %s\n", what, rpc_get_error(rpc_));
        return false;
      }
    }
    if (!p.ok)
      fprintf(stderr, "nfs3_bench: %s failed%s%s\n", what, p.error.empty() ? "" : ": ",
              p.error.c_str());
    return p.ok;
  }

  rpc_context* get() { return rpc_; }

 private:
  struct Pending {
    const std::function<bool(void*)>* on_reply = nullptr;
    bool done = false, ok = false;
    std::string error;
  };
  static void callback(rpc_context*, int status, void* data, void* priv) {
    auto* p = static_cast<Pending*>(priv);
    p->done = true;
    if (status == RPC_STATUS_SUCCESS)
      p->ok = (*p->on_reply)(data);
    else if (status == RPC_STATUS_ERROR && data)
      p->error = static_cast<const char*>(data);
    else
      p->error = status == RPC_STATUS_CANCEL ? "cancelled" : "RPC error";
  }

  rpc_context* rpc_;
};

bool nfs_ok(nfsstat3 st, const char* what) {
  if (st == NFS3_OK) return true;
  fprintf(stderr, "nfs3_bench: %s: nfsstat3 %d\n", what, static_cast<int>(st));
  return false;
}

// The NFSv3 procedures the workloads use, synchronously on one connection.
class Nfs3Conn {
 public:
  bool connect(const Options& o) { return rpc_.connect(o.host, o.port, NFS_PROGRAM, NFS_V3); }

  bool null() {
    return rpc_.call(
        "NULL", [&](rpc_cb cb, void* p) { return rpc_nfs3_null_async(rpc_.get(), cb, p); },
        [](void*) { return true; });
  }

  bool getattr(const Fh3& fh, uint64_t* size = nullptr) {
    GETATTR3args a{as_nfs_fh3(fh)};
    return rpc_.call(
        "GETATTR",
        [&](rpc_cb cb, void* p) { return rpc_nfs3_getattr_async(rpc_.get(), cb, &a, p); },
        [&](void* d) {
          auto* r = static_cast<GETATTR3res*>(d);
          if (!nfs_ok(r->status, "GETATTR")) return false;
          if (size) *size = r->GETATTR3res_u.resok.obj_attributes.size;
          return true;
        });
  }

  // LOOKUP; with quiet_noent a missing name is an expected answer: an
  // empty handle.
  std::optional<Fh3> lookup(const Fh3& dir, const std::string& name, bool quiet_noent = false) {
    LOOKUP3args a{};
    a.what.dir = as_nfs_fh3(dir);
    a.what.name = const_cast<char*>(name.c_str());
    std::optional<Fh3> out;
    bool ok = rpc_.call(
        "LOOKUP", [&](rpc_cb cb, void* p) { return rpc_nfs3_lookup_async(rpc_.get(), cb, &a, p); },
        [&](void* d) {
          auto* r = static_cast<LOOKUP3res*>(d);
          if (r->status == NFS3ERR_NOENT && quiet_noent) {
            out = Fh3{};  // empty: no such name
            return true;
          }
          if (!nfs_ok(r->status, "LOOKUP")) return false;
          out = from_nfs_fh3(r->LOOKUP3res_u.resok.object);
          return true;
        });
    return ok ? out : std::nullopt;
  }

  // CREATE (UNCHECKED) or MKDIR; a LOOKUP after it if the reply has no handle.
  std::optional<Fh3> create(const Fh3& dir, const std::string& name, bool is_dir = false) {
    auto f = create_or_mkdir(dir, name, is_dir);
    if (f && f->empty()) return lookup(dir, name);
    return f;
  }

  bool remove(const Fh3& dir, const std::string& name) {
    REMOVE3args a{};
    a.object.dir = as_nfs_fh3(dir);
    a.object.name = const_cast<char*>(name.c_str());
    return rpc_.call(
        "REMOVE", [&](rpc_cb cb, void* p) { return rpc_nfs3_remove_async(rpc_.get(), cb, &a, p); },
        [&](void* d) { return nfs_ok(static_cast<REMOVE3res*>(d)->status, "REMOVE"); });
  }

  int64_t write(const Fh3& fh, uint64_t off, const uint8_t* data, uint32_t len) {
    WRITE3args a{};
    a.file = as_nfs_fh3(fh);
    a.offset = off;
    a.count = len;
    a.stable = UNSTABLE;
    a.data.data_len = len;
    a.data.data_val = reinterpret_cast<char*>(const_cast<uint8_t*>(data));
    int64_t n = kFailed;
    rpc_.call(
        "WRITE", [&](rpc_cb cb, void* p) { return rpc_nfs3_write_async(rpc_.get(), cb, &a, p); },
        [&](void* d) {
          auto* r = static_cast<WRITE3res*>(d);
          if (!nfs_ok(r->status, "WRITE")) return false;
          n = r->WRITE3res_u.resok.count;
          return true;
        });
    return n;
  }

  int64_t read(const Fh3& fh, uint64_t off, uint32_t len) {
    READ3args a{};
    a.file = as_nfs_fh3(fh);
    a.offset = off;
    a.count = len;
    int64_t n = kFailed;
    rpc_.call(
        "READ", [&](rpc_cb cb, void* p) { return rpc_nfs3_read_async(rpc_.get(), cb, &a, p); },
        [&](void* d) {
          auto* r = static_cast<READ3res*>(d);
          if (!nfs_ok(r->status, "READ")) return false;
          n = r->READ3res_u.resok.data.data_len;
          return true;
        });
    return n;
  }

  bool commit(const Fh3& fh) {
    COMMIT3args a{};
    a.file = as_nfs_fh3(fh);
    return rpc_.call(
        "COMMIT", [&](rpc_cb cb, void* p) { return rpc_nfs3_commit_async(rpc_.get(), cb, &a, p); },
        [&](void* d) { return nfs_ok(static_cast<COMMIT3res*>(d)->status, "COMMIT"); });
  }

  // A full READDIRPLUS listing; the number of entries, or -1.
  int64_t readdirplus(const Fh3& dir) {
    READDIRPLUS3args a{};
    a.dir = as_nfs_fh3(dir);
    a.dircount = 32768;
    a.maxcount = 65536;
    int64_t count = 0;
    for (bool eof = false; !eof;) {
      bool ok = rpc_.call(
          "READDIRPLUS",
          [&](rpc_cb cb, void* p) { return rpc_nfs3_readdirplus_async(rpc_.get(), cb, &a, p); },
          [&](void* d) {
            auto* r = static_cast<READDIRPLUS3res*>(d);
            if (!nfs_ok(r->status, "READDIRPLUS")) return false;
            auto& ok = r->READDIRPLUS3res_u.resok;
            for (entryplus3* e = ok.reply.entries; e; e = e->nextentry) {
              if (strcmp(e->name, ".") != 0 && strcmp(e->name, "..") != 0) count++;
              a.cookie = e->cookie;
            }
            memcpy(a.cookieverf, ok.cookieverf, sizeof a.cookieverf);
            eof = ok.reply.eof;
            return true;
          });
      if (!ok) return -1;
    }
    return count;
  }

 private:
  // The handle from the reply; an empty one if the server sent none.
  std::optional<Fh3> create_or_mkdir(const Fh3& dir, const std::string& name, bool is_dir) {
    std::optional<Fh3> out;
    auto take = [&](nfsstat3 st, const post_op_fh3& obj, const char* what) {
      if (!nfs_ok(st, what)) return false;
      out = obj.handle_follows ? from_nfs_fh3(obj.post_op_fh3_u.handle) : Fh3{};
      return true;
    };
    if (is_dir) {
      MKDIR3args a{};
      a.where.dir = as_nfs_fh3(dir);
      a.where.name = const_cast<char*>(name.c_str());
      a.attributes.mode.set_it = 1;
      a.attributes.mode.set_mode3_u.mode = 0777;
      bool ok = rpc_.call(
          "MKDIR", [&](rpc_cb cb, void* p) { return rpc_nfs3_mkdir_async(rpc_.get(), cb, &a, p); },
          [&](void* d) {
            auto* r = static_cast<MKDIR3res*>(d);
            return take(r->status, r->MKDIR3res_u.resok.obj, "MKDIR");
          });
      return ok ? out : std::nullopt;
    }
    CREATE3args a{};
    a.where.dir = as_nfs_fh3(dir);
    a.where.name = const_cast<char*>(name.c_str());
    a.how.mode = UNCHECKED;
    a.how.createhow3_u.obj_attributes.mode.set_it = 1;
    a.how.createhow3_u.obj_attributes.mode.set_mode3_u.mode = 0666;
    bool ok = rpc_.call(
        "CREATE", [&](rpc_cb cb, void* p) { return rpc_nfs3_create_async(rpc_.get(), cb, &a, p); },
        [&](void* d) {
          auto* r = static_cast<CREATE3res*>(d);
          return take(r->status, r->CREATE3res_u.resok.obj, "CREATE");
        });
    return ok ? out : std::nullopt;
  }

  SyncRpc rpc_;
};

std::optional<Fh3> mount_root(const Options& o) {
  SyncRpc m;
  if (!m.connect(o.host, o.mount_port, MOUNT_PROGRAM, MOUNT_V3)) return std::nullopt;
  std::optional<Fh3> root;
  char path[] = "/";
  bool ok = m.call(
      "MOUNT /", [&](rpc_cb cb, void* p) { return rpc_mount3_mnt_async(m.get(), cb, path, p); },
      [&](void* d) {
        auto* r = static_cast<mountres3*>(d);
        if (r->fhs_status != MNT3_OK) {
          fprintf(stderr, "nfs3_bench: MOUNT /: status %d\n", static_cast<int>(r->fhs_status));
          return false;
        }
        auto& fh = r->mountres3_u.mountinfo.fhandle;
        root = Fh3(fh.fhandle3_val, fh.fhandle3_val + fh.fhandle3_len);
        return true;
      });
  return ok ? root : std::nullopt;
}

class Nfs3Bench {
 public:
  explicit Nfs3Bench(Options o) : o_(std::move(o)) {}

  bool connect() {
    auto root = mount_root(o_);
    if (!root) return false;
    for (int c = 0; c < o_.clients; c++) {
      conns_.push_back(std::make_unique<Nfs3Conn>());
      if (!conns_.back()->connect(o_)) return false;
    }
    auto top = ensure(*root, o_.dir, true);
    if (!top) return false;
    top_ = *top;
    return true;
  }

  bool run() {
    const std::string& w = o_.workload;
    if (w == "null") return null();
    if (w == "getattr") return getattr();
    if (w == "lookup") return lookup();
    if (w == "create") return create();
    if (w == "readdir") return readdir();
    if (w == "seqwrite" || w == "seqread") return seq(w == "seqwrite");
    if (w == "randread" || w == "randwrite") return rand_io(w == "randwrite");
    return false;
  }

 private:
  Nfs3Conn& cn(int c) { return *conns_[static_cast<size_t>(c)]; }
  std::string label(const std::string& w) const {
    return o_.quiet ? "" : o_.label + " nfs3 " + w + " c=" + std::to_string(o_.clients);
  }
  bool finish(const std::string& w, const PhaseResult& r) {
    print_result(o_, "nfs3", w, r);
    return r.errors == 0;
  }

  // Lookup, else create (a file or a directory) on connection c.
  std::optional<Fh3> ensure(const Fh3& dir, const std::string& name, bool is_dir, int c = 0) {
    Nfs3Conn& x = cn(c);
    auto f = x.lookup(dir, name, true);
    if (!f) return std::nullopt;  // an error other than NOENT
    if (!f->empty()) return f;
    return x.create(dir, name, is_dir);
  }

  std::optional<Fh3> filled_dir(const std::string& name, const char* prefix, uint32_t n) {
    auto d = ensure(top_, name, true);
    if (!d) return std::nullopt;
    auto last = cn(0).lookup(*d, entry_name(prefix, n - 1), true);
    if (last && !last->empty()) return d;
    fprintf(stderr, "nfs3_bench: creating %u files in %s\n", n, name.c_str());
    PhaseResult r = run_phase(label("setup " + name), o_.clients, 0, [&](int c, uint64_t i) {
      uint64_t k = i * static_cast<uint64_t>(o_.clients) + static_cast<uint64_t>(c);
      if (k >= n) return kDone;
      return ensure(*d, entry_name(prefix, k), false, c) ? int64_t{0} : kFailed;
    });
    if (r.errors) return std::nullopt;
    return d;
  }

  bool null() {
    auto r = run_phase(label("null"), o_.clients, o_.duration,
                       [&](int c, uint64_t) { return cn(c).null() ? int64_t{0} : kFailed; });
    return finish("null", r);
  }

  bool getattr() {
    auto f = ensure(top_, "attr-file", false);
    if (!f) return false;
    auto r = run_phase(label("getattr"), o_.clients, o_.duration,
                       [&](int c, uint64_t) { return cn(c).getattr(*f) ? int64_t{0} : kFailed; });
    return finish("getattr", r);
  }

  bool lookup() {
    auto d = filled_dir("names-" + std::to_string(o_.lookup_names), "n", o_.lookup_names);
    if (!d) return false;
    std::vector<std::mt19937_64> rng;
    for (int c = 0; c < o_.clients; c++) rng.emplace_back(c + 1);
    auto r = run_phase(label("lookup"), o_.clients, o_.duration, [&](int c, uint64_t) {
      uint64_t k = rng[static_cast<size_t>(c)]() % o_.lookup_names;
      return cn(c).lookup(*d, entry_name("n", k)) ? int64_t{0} : kFailed;
    });
    return finish("lookup", r);
  }

  bool create() {
    auto d = ensure(top_, "create", true);
    if (!d) return false;
    auto data = pattern(o_.small_io, 7);
    const std::string tag = std::to_string(getpid());
    auto r = run_phase(label("create"), o_.clients, o_.duration, [&](int c, uint64_t n) {
      Nfs3Conn& x = cn(c);
      std::string name = "f" + tag + "-" + std::to_string(c) + "-" + std::to_string(n);
      auto f = x.create(*d, name);
      if (!f) return kFailed;
      int64_t w = x.write(*f, 0, data.data(), o_.small_io);
      if (w < 0) return kFailed;
      return x.remove(*d, name) ? w : kFailed;
    });
    return finish("create", r);
  }

  bool readdir() {
    auto d = filled_dir("dir-" + std::to_string(o_.dir_entries), "e", o_.dir_entries);
    if (!d) return false;
    auto r = run_phase(label("readdir"), o_.clients, o_.duration, [&](int c, uint64_t) {
      int64_t n = cn(c).readdirplus(*d);
      if (n < 0) return kFailed;
      if (n < o_.dir_entries) {
        fprintf(stderr, "nfs3_bench: readdirplus gave %lld entries\n", static_cast<long long>(n));
        return kFailed;
      }
      return int64_t{0};
    });
    return finish("readdir", r);
  }

  std::optional<Fh3> big_file(bool need_data) {
    auto f = ensure(top_, "big-file", false);
    if (!f) return std::nullopt;
    uint64_t size = 0;
    if (need_data && cn(0).getattr(*f, &size) && size < o_.file_size) {
      fprintf(stderr, "nfs3_bench: writing the %llu-byte file first\n",
              static_cast<unsigned long long>(o_.file_size));
      if (!seq(true, false)) return std::nullopt;
    }
    return f;
  }

  bool seq(bool write, bool print = true) {
    auto f = big_file(!write);
    if (!f) return false;
    const uint64_t stripe = o_.file_size / static_cast<uint64_t>(o_.clients);
    auto data = pattern(o_.seq_io, 11);
    const char* w = write ? "seqwrite" : "seqread";
    const uint64_t pieces = (stripe + o_.seq_io - 1) / o_.seq_io;
    // A write is one pass ending in COMMIT; reads go round for the duration
    // (one pass of 1 GiB at 16 clients is a quarter of a second).
    auto r = run_phase(label(w), o_.clients, write ? 0 : o_.duration, [&](int c, uint64_t n) {
      Nfs3Conn& x = cn(c);
      uint64_t pos = write ? n * o_.seq_io : n % pieces * o_.seq_io;
      if (pos >= stripe) return !write || x.commit(*f) ? kDone : kFailed;
      uint64_t off = static_cast<uint64_t>(c) * stripe + pos;
      uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(o_.seq_io, stripe - pos));
      int64_t got = write ? x.write(*f, off, data.data(), len) : x.read(*f, off, len);
      if (got >= 0 && got != len) {
        fprintf(stderr, "nfs3_bench: %s moved %lld of %u bytes\n", w, static_cast<long long>(got),
                len);
        return kFailed;
      }
      return got;
    });
    return print ? finish(w, r) : r.errors == 0;
  }

  bool rand_io(bool write) {
    auto f = big_file(true);
    if (!f) return false;
    const uint64_t blocks = o_.file_size / o_.small_io;
    auto data = pattern(o_.small_io, 13);
    std::vector<std::mt19937_64> rng;
    for (int c = 0; c < o_.clients; c++) rng.emplace_back(c + 100);
    const char* w = write ? "randwrite" : "randread";
    auto r = run_phase(label(w), o_.clients, o_.duration, [&](int c, uint64_t) {
      uint64_t off = rng[static_cast<size_t>(c)]() % blocks * o_.small_io;
      return write ? cn(c).write(*f, off, data.data(), o_.small_io)
                   : cn(c).read(*f, off, o_.small_io);
    });
    return finish(w, r);
  }

  Options o_;
  std::vector<std::unique_ptr<Nfs3Conn>> conns_;
  Fh3 top_;
};

}  // namespace
}  // namespace pnfsgw::bench

int main(int argc, char** argv) {
  using namespace pnfsgw::bench;
  Options o;
  if (!o.parse(argc, argv, "nfs3_bench", kWorkloads)) return 2;
  Nfs3Bench b(o);
  if (!b.connect()) return 1;
  return b.run() ? 0 : 1;
}
