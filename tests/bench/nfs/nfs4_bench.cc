// nfs4_bench: NFSv4.1 load generator on the project's own client
// (client/nfs4_client.h). Drives any NFSv4.1 server: each of --clients
// clients is one Nfs4Client with its own TCP connection and session, on its
// own thread, issuing one compound at a time.
//
// Workloads (one op is what the latency figures time):
//   null       a COMPOUND of SEQUENCE alone: the round-trip floor
//   getattr    PUTFH + GETATTR (the client's default 11 attributes) of one file
//   lookup     PUTFH + LOOKUP + GETFH of a random name among --lookup-names
//   create     OPEN(create) ; WRITE 4 KiB UNSTABLE ; CLOSE ; REMOVE (4 compounds)
//   readdir    a full READDIR listing (type, fileid) of a --dir-entries directory
//   seqwrite   --seq-io WRITEs (UNSTABLE) over a --file-size file, client k
//              writing the k-th of N contiguous stripes, then COMMIT
//   seqread    --seq-io READs of the same stripes (read_in_place: no copy),
//              each client going round its stripe until --duration is up
//   randread   4 KiB READs at random 4 KiB-aligned offsets of that file
//   randwrite  4 KiB UNSTABLE WRITEs likewise
//   manyfiles  --files OPEN(create)+CLOSE in directories of 1000, then
//              LOOKUP + GETATTR of each (two RESULT lines)
// Setup (directories, the big file) is done before the timed phase and kept
// across runs under --dir, so later runs only check it.
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client/nfs4_client.h"
#include "tests/bench/nfs/bench_harness.h"

namespace pnfsgw::bench {
namespace {

using client::Fh;
using client::Nfs4Client;
using client::OpenOptions;
using client::Stateid;

const std::vector<std::string> kWorkloads = {"null", "getattr",  "lookup",    "create",
                                             "readdir",  "seqwrite",  "seqread",
                                             "randread", "randwrite", "manyfiles"};

bool report(const char* what, int err) {
  fprintf(stderr, "nfs4_bench: %s: %s (%d)\n", what, client::status_name(err), err);
  return false;
}

class Nfs4Bench {
 public:
  explicit Nfs4Bench(Options o) : o_(std::move(o)) {}

  bool connect() {
    for (int c = 0; c < o_.clients; c++) {
      client::Nfs4ClientOptions co;
      co.owner = "pnfsgw-bench-" + std::to_string(getpid()) + "-" + std::to_string(c);
      co.machine = "pnfsgw-bench";
      co.timeout = std::chrono::seconds(60);
      auto cl = std::make_unique<Nfs4Client>(co);
      Status st = cl->mount(o_.host, o_.port);
      if (!st) return report("mount", st.err());
      clients_.push_back(std::move(cl));
    }
    // Keep I/O within what the server's session accepts.
    const auto& fa = clients_[0]->fore_attrs();
    uint32_t cap = std::min(fa.maxrequestsize, fa.maxresponsesize);
    if (cap > 4096 && o_.seq_io > cap - 1024) {
      uint32_t io = 1u << 12;
      while (io * 2 <= cap - 1024) io *= 2;
      fprintf(stderr, "nfs4_bench: server session limit %u, I/O size %u\n", cap, io);
      o_.seq_io = io;
    }
    auto root = c0().root_fh();
    if (!root) return report("PUTROOTFH", root.err());
    auto top = ensure_dir(*root, o_.dir);
    if (!top) return false;
    top_ = *top;
    return true;
  }

  ~Nfs4Bench() {
    for (auto& c : clients_) c->shutdown();
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
    if (w == "manyfiles") return manyfiles();
    return false;
  }

 private:
  Nfs4Client& c0() { return *clients_[0]; }
  Nfs4Client& cl(int c) { return *clients_[static_cast<size_t>(c)]; }
  std::string label(const std::string& w) const {
    return o_.quiet ? "" : o_.label + " nfs4 " + w + " c=" + std::to_string(o_.clients);
  }
  bool finish(const std::string& w, const PhaseResult& r) {
    print_result(o_, "nfs4", w, r);
    return r.errors == 0;
  }

  std::optional<Fh> ensure_dir(const Fh& parent, const std::string& name) {
    auto f = c0().lookup(parent, name);
    if (f) return *f;
    auto m = c0().mkdir(parent, name, 0777);
    if (!m) return report(("mkdir " + name).c_str(), m.err()), std::nullopt;
    return *m;
  }

  std::optional<Fh> ensure_file(Nfs4Client& c, const Fh& dir, const std::string& name) {
    OpenOptions oo;
    oo.create = true;
    oo.attrs.mode = 0666;
    auto f = c.open(dir, name, oo);
    if (!f) return report(("open " + name).c_str(), f.err()), std::nullopt;
    auto cr = c.close(f->fh, f->stateid);
    if (!cr) return report("close", cr.err()), std::nullopt;
    return f->fh;
  }

  // A directory holding n files prefix000000..; complete if the last exists.
  std::optional<Fh> filled_dir(const std::string& name, const char* prefix, uint32_t n) {
    auto d = ensure_dir(top_, name);
    if (!d) return std::nullopt;
    if (c0().lookup(*d, entry_name(prefix, n - 1))) return d;
    fprintf(stderr, "nfs4_bench: creating %u files in %s\n", n, name.c_str());
    PhaseResult r = run_phase(label("setup " + name), o_.clients, 0, [&](int c, uint64_t i) {
      uint64_t k = i * static_cast<uint64_t>(o_.clients) + static_cast<uint64_t>(c);
      if (k >= n) return kDone;
      return ensure_file(cl(c), *d, entry_name(prefix, k)) ? int64_t{0} : kFailed;
    });
    if (r.errors) return std::nullopt;
    return d;
  }

  // A COMPOUND of SEQUENCE alone: the least an NFSv4.1 call can be (the
  // NULL procedure bypasses the session), the floor under the others.
  bool null() {
    const client::CompoundBuilder none;
    auto r = run_phase(label("null"), o_.clients, o_.duration, [&](int c, uint64_t) {
      auto a = cl(c).compound(none);
      return a ? int64_t{0} : (report("SEQUENCE", a.err()), kFailed);
    });
    return finish("null", r);
  }

  bool getattr() {
    auto f = ensure_file(c0(), top_, "attr-file");
    if (!f) return false;
    auto mask = client::default_getattr_mask();
    auto r = run_phase(label("getattr"), o_.clients, o_.duration, [&](int c, uint64_t) {
      auto a = cl(c).getattr(*f, mask);
      return a ? int64_t{0} : (report("getattr", a.err()), kFailed);
    });
    return finish("getattr", r);
  }

  bool lookup() {
    auto d = filled_dir("names-" + std::to_string(o_.lookup_names), "n", o_.lookup_names);
    if (!d) return false;
    std::vector<std::mt19937_64> rng;
    for (int c = 0; c < o_.clients; c++) rng.emplace_back(c + 1);
    auto r = run_phase(label("lookup"), o_.clients, o_.duration, [&](int c, uint64_t) {
      uint64_t k = rng[static_cast<size_t>(c)]() % o_.lookup_names;
      auto f = cl(c).lookup(*d, entry_name("n", k));
      return f ? int64_t{0} : (report("lookup", f.err()), kFailed);
    });
    return finish("lookup", r);
  }

  bool create() {
    auto d = ensure_dir(top_, "create");
    if (!d) return false;
    auto data = pattern(o_.small_io, 7);
    const std::string tag = std::to_string(getpid());
    auto r = run_phase(label("create"), o_.clients, o_.duration, [&](int c, uint64_t n) {
      Nfs4Client& x = cl(c);
      std::string name = "f" + tag + "-" + std::to_string(c) + "-" + std::to_string(n);
      OpenOptions oo;
      oo.create = true;
      oo.attrs.mode = 0644;
      auto f = x.open(*d, name, oo);
      if (!f) return report("open(create)", f.err()), kFailed;
      auto w = x.write(f->fh, f->stateid, 0, data, nfs4::UNSTABLE4);
      if (!w) return report("write", w.err()), kFailed;
      auto cr = x.close(f->fh, f->stateid);
      if (!cr) return report("close", cr.err()), kFailed;
      Status rm = x.remove(*d, name);
      if (!rm) return report("remove", rm.err()), kFailed;
      return static_cast<int64_t>(data.size());
    });
    return finish("create", r);
  }

  bool readdir() {
    auto d = filled_dir("dir-" + std::to_string(o_.dir_entries), "e", o_.dir_entries);
    if (!d) return false;
    client::Bitmap4 attrs{nfs4::FATTR4_TYPE, nfs4::FATTR4_FILEID};
    auto r = run_phase(label("readdir"), o_.clients, o_.duration, [&](int c, uint64_t) {
      auto l = cl(c).readdir(*d, attrs);
      if (!l) return report("readdir", l.err()), kFailed;
      if (l->size() < o_.dir_entries) {
        fprintf(stderr, "nfs4_bench: readdir gave %zu entries\n", l->size());
        return kFailed;
      }
      return int64_t{0};
    });
    return finish("readdir", r);
  }

  // The big file, opened by every client; written once if too short.
  struct Opened {
    Fh fh;
    Stateid sid;
  };
  bool open_big(std::vector<Opened>* out, bool need_data) {
    auto f = ensure_file(c0(), top_, "big-file");
    if (!f) return false;
    if (need_data) {
      auto a = c0().getattr(*f, client::Bitmap4{nfs4::FATTR4_SIZE});
      if (!a) return report("getattr", a.err());
      if (a->size.value_or(0) < o_.file_size) {
        fprintf(stderr, "nfs4_bench: writing the %llu-byte file first\n",
                static_cast<unsigned long long>(o_.file_size));
        if (!seq(true, false)) return false;
      }
    }
    for (int c = 0; c < o_.clients; c++) {
      auto h = cl(c).open_fh(*f);
      if (!h) return report("open", h.err());
      out->push_back({h->fh, h->stateid});
    }
    return true;
  }
  void close_all(const std::vector<Opened>& h) {
    for (size_t c = 0; c < h.size(); c++) clients_[c]->close(h[c].fh, h[c].sid);
  }

  bool seq(bool write, bool print = true) {
    std::vector<Opened> h;
    if (!open_big(&h, !write)) return false;
    const uint64_t stripe = o_.file_size / static_cast<uint64_t>(o_.clients);
    auto data = pattern(o_.seq_io, 11);
    std::vector<client::ReadBuffer> bufs(static_cast<size_t>(o_.clients));
    const char* w = write ? "seqwrite" : "seqread";
    const uint64_t pieces = (stripe + o_.seq_io - 1) / o_.seq_io;
    // A write is one pass ending in COMMIT; reads go round for the duration
    // (one pass of 1 GiB at 16 clients is a quarter of a second).
    auto r = run_phase(label(w), o_.clients, write ? 0 : o_.duration, [&](int c, uint64_t n) {
      Nfs4Client& x = cl(c);
      const Opened& f = h[static_cast<size_t>(c)];
      uint64_t pos = write ? n * o_.seq_io : n % pieces * o_.seq_io;
      if (pos >= stripe) {
        if (!write) return kDone;
        auto cm = x.commit(f.fh);  // data on stable storage is part of the time
        return cm ? kDone : (report("commit", cm.err()), kFailed);
      }
      uint64_t off = static_cast<uint64_t>(c) * stripe + pos;
      uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(o_.seq_io, stripe - pos));
      if (write) {
        auto wr = x.write(f.fh, f.sid, off, std::span(data.data(), len), nfs4::UNSTABLE4);
        if (!wr) return report("write", wr.err()), kFailed;
        return static_cast<int64_t>(wr->count);
      }
      client::ReadBuffer& rd = bufs[static_cast<size_t>(c)];
      if (Status st = x.read_in_place(f.fh, f.sid, off, len, &rd); !st) {
        return report("read", st.err()), kFailed;
      }
      if (rd.data().size() != len) return report("short read", 0), kFailed;
      return static_cast<int64_t>(len);
    });
    close_all(h);
    return print ? finish(w, r) : r.errors == 0;
  }

  bool rand_io(bool write) {
    std::vector<Opened> h;
    if (!open_big(&h, true)) return false;
    const uint64_t blocks = o_.file_size / o_.small_io;
    auto data = pattern(o_.small_io, 13);
    std::vector<client::ReadBuffer> bufs(static_cast<size_t>(o_.clients));
    std::vector<std::mt19937_64> rng;
    for (int c = 0; c < o_.clients; c++) rng.emplace_back(c + 100);
    const char* w = write ? "randwrite" : "randread";
    auto r = run_phase(label(w), o_.clients, o_.duration, [&](int c, uint64_t) {
      Nfs4Client& x = cl(c);
      const Opened& f = h[static_cast<size_t>(c)];
      uint64_t off = rng[static_cast<size_t>(c)]() % blocks * o_.small_io;
      if (write) {
        auto wr = x.write(f.fh, f.sid, off, data, nfs4::UNSTABLE4);
        return wr ? static_cast<int64_t>(wr->count) : (report("write", wr.err()), kFailed);
      }
      client::ReadBuffer& rd = bufs[static_cast<size_t>(c)];
      Status st = x.read_in_place(f.fh, f.sid, off, o_.small_io, &rd);
      return st ? static_cast<int64_t>(rd.data().size()) : (report("read", st.err()), kFailed);
    });
    close_all(h);
    return finish(w, r);
  }

  bool manyfiles() {
    constexpr uint64_t kPerDir = 1000;
    auto top = ensure_dir(top_, "many");
    if (!top) return false;
    std::vector<Fh> dirs;
    for (uint64_t d = 0; d * kPerDir < o_.files; d++) {
      auto f = ensure_dir(*top, entry_name("d", d));
      if (!f) return false;
      dirs.push_back(*f);
    }
    const uint64_t clients = static_cast<uint64_t>(o_.clients);
    auto name_of = [&](int c, uint64_t n, uint64_t* k) {
      *k = n * clients + static_cast<uint64_t>(c);
      return entry_name("f", *k % kPerDir);
    };
    auto r1 = run_phase(label("manyfiles-create"), o_.clients, 0, [&](int c, uint64_t n) {
      uint64_t k;
      std::string name = name_of(c, n, &k);
      if (k >= o_.files) return kDone;
      return ensure_file(cl(c), dirs[k / kPerDir], name) ? int64_t{0} : kFailed;
    });
    bool ok = finish("manyfiles-create", r1);
    auto mask = client::default_getattr_mask();
    auto r2 = run_phase(label("manyfiles-stat"), o_.clients, 0, [&](int c, uint64_t n) {
      uint64_t k;
      std::string name = name_of(c, n, &k);
      if (k >= o_.files) return kDone;
      auto f = cl(c).lookup(dirs[k / kPerDir], name);
      if (!f) return report("lookup", f.err()), kFailed;
      auto a = cl(c).getattr(*f, mask);
      return a ? int64_t{0} : (report("getattr", a.err()), kFailed);
    });
    return finish("manyfiles-stat", r2) && ok;
  }

  Options o_;
  std::vector<std::unique_ptr<Nfs4Client>> clients_;
  Fh top_;
};

}  // namespace
}  // namespace pnfsgw::bench

int main(int argc, char** argv) {
  using namespace pnfsgw::bench;
  Options o;
  if (!o.parse(argc, argv, "nfs4_bench", kWorkloads)) return 2;
  Nfs4Bench b(o);
  if (!b.connect()) return 1;
  return b.run() ? 0 : 1;
}
