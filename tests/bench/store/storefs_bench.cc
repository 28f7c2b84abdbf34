// StoreFs micro-benchmarks on the persistent maps (LMDB): extent lookup and
// insert in a file of 10^6 extents, clone of a file of 10^5 extents. The
// extents are preallocated (unwritten) one-block runs with a hole after
// each, so building them writes no data; the device is a sparse file. The
// metadata lives on /dev/shm when it exists: LMDB syncs at every commit and
// the figures are about the maps, not the disk. See docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>

#include "backend/device/file_device.h"
#include "backend/store/store_fs.h"

namespace pnfsgw::store {
namespace {

constexpr uint64_t B = kBlockSize;

struct Bed {
  std::string dir;
  std::unique_ptr<backend::device::FileDevice> dev;
  std::unique_ptr<StoreFs> fs;
  backend::InodeId big = 0, mid = 0;
  int clones = 0;
};

// A file of n one-block unwritten extents at blocks 0, 2, 4, ...
backend::InodeId make_file(StoreFs& fs, const std::string& name, uint64_t n) {
  auto a = fs.create(fs.root(), name, 0644, {}, backend::CreateMode::kExclusive, nullptr);
  if (!a) abort();
  for (uint64_t i = 0; i < n; i++)
    if (!fs.allocate(a.value().ino, 2 * i * B, B)) abort();
  return a.value().ino;
}

Bed& bed() {
  static Bed* b = [] {
    auto* b = new Bed;
    char tmpl[] = "/dev/shm/storefs-bench-XXXXXX";
    char tmpl2[] = "/tmp/storefs-bench-XXXXXX";
    char* d = access("/dev/shm", W_OK) == 0 ? mkdtemp(tmpl) : mkdtemp(tmpl2);
    if (!d) abort();
    b->dir = d;
    b->dev = std::move(backend::device::open_file_device(b->dir + "/device", 64ull << 30)).value();
    StoreOptions opt;
    opt.meta_dir = b->dir + "/meta";
    opt.meta_map_size = 8ull << 30;
    if (!StoreFs::format(*b->dev, opt)) abort();
    b->fs = std::move(StoreFs::open(b->dev.get(), nullptr, opt)).value();
    fprintf(stderr, "building a file of 10^6 extents and one of 10^5 in %s ...\n", b->dir.c_str());
    b->big = make_file(*b->fs, "big", 1'000'000);
    b->mid = make_file(*b->fs, "mid", 100'000);
    return b;
  }();
  return *b;
}

void BM_StoreExtentLookup(benchmark::State& state) {
  Bed& b = bed();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto e = b.fs->list_extents(b.big, (rng() % 2'000'000) * B, B);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_StoreExtentLookup);

// A 4 KiB read at a random place: snapshot, lookup, pin, (no device I/O for
// preallocated blocks), unpin.
void BM_StoreRead4k(benchmark::State& state) {
  Bed& b = bed();
  std::mt19937_64 rng(2);
  std::vector<uint8_t> buf(B);
  for (auto _ : state) {
    bool eof;
    auto r = b.fs->read(b.big, (rng() % 2'000'000) * B, buf, &eof);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_StoreRead4k);

// Maps one block into a random hole and unmaps it again: two changes, each
// a committed KV transaction; the file keeps 10^6 extents.
void BM_StoreExtentInsertAndPunch(benchmark::State& state) {
  Bed& b = bed();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    uint64_t off = (2 * (rng() % 1'000'000) + 1) * B;
    if (!b.fs->allocate(b.big, off, B) || !b.fs->punch_hole(b.big, off, B)) state.SkipWithError("failed");
  }
}
BENCHMARK(BM_StoreExtentInsertAndPunch);

void BM_StoreClone100kExtents(benchmark::State& state) {
  Bed& b = bed();
  for (auto _ : state) {
    std::string name = "clone" + std::to_string(b.clones++);
    auto a = b.fs->create(b.fs->root(), name, 0644, {}, backend::CreateMode::kExclusive, nullptr);
    if (!a || !b.fs->clone_range(b.mid, 0, a.value().ino, 0, 0)) state.SkipWithError("failed");
    state.PauseTiming();
    if (!b.fs->unlink(b.fs->root(), name)) state.SkipWithError("unlink failed");
    state.ResumeTiming();
  }
}
BENCHMARK(BM_StoreClone100kExtents)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace pnfsgw::store

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  auto& b = pnfsgw::store::bed();
  b.fs.reset();
  b.dev.reset();
  std::string cmd = "rm -rf '" + b.dir + "'";
  return system(cmd.c_str()) == 0 ? 0 : 1;
}
