// Store micro-benchmarks: extent map lookup/insert at 10^6 extents, allocation
// on a device fragmented by freeing every other block, and clone of a file
// with 10^5 extents (a copy of its extent map). See docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <random>

#include "backend/store/allocator.h"
#include "backend/store/extent_map.h"

namespace pnfsgw::store {
namespace {

// n one-block extents with a one-block hole after each, physically scattered.
ExtentMap make_map(uint64_t n) {
  ExtentMap m;
  for (uint64_t i = 0; i < n; ++i) (void)m.insert({2 * i, 1, 7 * i, i % 3 == 0});
  return m;
}

const ExtentMap& million() {
  static const ExtentMap m = make_map(1'000'000);
  return m;
}

void BM_ExtentLookup(benchmark::State& state) {
  const ExtentMap& m = million();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto e = m.lookup(rng() % 2'000'000);
    benchmark::DoNotOptimize(e);
  }
  state.counters["extents"] = static_cast<double>(m.size());
}
BENCHMARK(BM_ExtentLookup);

// Replaces one extent at a random place (punch + insert, the count stays).
void BM_ExtentInsertReplace(benchmark::State& state) {
  ExtentMap m = million();
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    auto d = m.insert({2 * (rng() % 1'000'000), 1, rng() % (1ull << 40), false});
    benchmark::DoNotOptimize(d);
  }
  state.counters["extents"] = static_cast<double>(m.size());
}
BENCHMARK(BM_ExtentInsertReplace);

// Fills a hole at a random place, splitting nothing (the count grows).
void BM_ExtentInsertIntoHole(benchmark::State& state) {
  ExtentMap m = million();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    auto d = m.insert({2 * (rng() % 1'000'000) + 1, 1, rng() % (1ull << 40), false});
    benchmark::DoNotOptimize(d);
  }
  state.counters["extents"] = static_cast<double>(m.size());
}
BENCHMARK(BM_ExtentInsertIntoHole);

// A device of 2*10^6 blocks with every other block free: 10^6 one-block free
// extents. Each iteration allocates range(0) blocks (range(0) pieces when
// > 1) near a random goal, then frees them again so the state is steady.
void BM_AllocFragmented(benchmark::State& state) {
  constexpr uint64_t kN = 2'000'000;
  Allocator a(kN);
  (void)a.reserve(0, kN);
  for (uint64_t b = 0; b < kN; b += 2) (void)a.free(b, 1);
  const uint64_t len = static_cast<uint64_t>(state.range(0));
  std::mt19937_64 rng(4);
  for (auto _ : state) {
    auto r = a.allocate(len, rng() % kN);
    for (const auto& p : *r) (void)a.free(p.pblk, p.len);
  }
  state.counters["free_extents"] = static_cast<double>(a.free_extents());
}
BENCHMARK(BM_AllocFragmented)->Arg(1)->Arg(8)->Arg(64);

// Contiguous allocation at the goal on an empty device, for comparison.
void BM_AllocContiguousAtGoal(benchmark::State& state) {
  constexpr uint64_t kN = 1ull << 40;
  Allocator a(kN);
  uint64_t goal = 0;
  for (auto _ : state) {
    auto r = a.allocate(16, goal);
    goal = r->back().pblk + 16;
    if (goal + 16 >= kN) goal = 0;
  }
}
BENCHMARK(BM_AllocContiguousAtGoal);

void BM_CloneExtentMap(benchmark::State& state) {
  const ExtentMap src = make_map(static_cast<uint64_t>(state.range(0)));
  for (auto _ : state) {
    ExtentMap copy = src;
    benchmark::DoNotOptimize(copy);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CloneExtentMap)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pnfsgw::store

BENCHMARK_MAIN();
