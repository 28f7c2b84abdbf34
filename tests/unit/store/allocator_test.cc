#include "backend/store/allocator.h"

#include <gtest/gtest.h>

#include <random>

namespace pnfsgw::store {
namespace {

using P = std::vector<PhysRange>;

TEST(Allocator, AllocatesContiguouslyAtTheGoal) {
  Allocator a(1000);
  EXPECT_EQ(*a.allocate(10, 100), (P{{100, 10}}));
  EXPECT_EQ(*a.allocate(10, 110), (P{{110, 10}}));  // the file grows in place
  EXPECT_EQ(a.free_blocks(), 980u);
  EXPECT_TRUE(a.check().is_ok());
}

TEST(Allocator, GoalInsideATooShortExtentMovesToTheNextThatFits) {
  Allocator a(100);
  ASSERT_TRUE(a.reserve(10, 5).is_ok());  // free: [0,10) [15,100)
  EXPECT_EQ(*a.allocate(8, 5), (P{{15, 8}}));
  EXPECT_TRUE(a.check().is_ok());
}

TEST(Allocator, WithoutRoomAtTheGoalTakesTheBestFit) {
  Allocator a(100);
  ASSERT_TRUE(a.reserve(0, 100).is_ok());
  ASSERT_TRUE(a.free(0, 20).is_ok());
  ASSERT_TRUE(a.free(30, 6).is_ok());
  ASSERT_TRUE(a.free(50, 8).is_ok());
  EXPECT_EQ(*a.allocate(7, 90), (P{{50, 7}}));  // smallest extent >= 7
  EXPECT_TRUE(a.check().is_ok());
}

TEST(Allocator, FragmentedSpaceIsReturnedInSeveralPiecesLargestFirst) {
  Allocator a(100);
  ASSERT_TRUE(a.reserve(0, 100).is_ok());
  ASSERT_TRUE(a.free(0, 3).is_ok());
  ASSERT_TRUE(a.free(10, 5).is_ok());
  ASSERT_TRUE(a.free(20, 2).is_ok());
  EXPECT_EQ(*a.allocate(9, 0), (P{{10, 5}, {0, 3}, {20, 1}}));
  EXPECT_EQ(a.free_blocks(), 1u);
  EXPECT_TRUE(a.check().is_ok());
}

TEST(Allocator, NotEnoughSpaceIsEnospcAndAllocatesNothing) {
  Allocator a(10);
  EXPECT_EQ(a.allocate(11).err(), ENOSPC);
  EXPECT_EQ(a.allocate(0).err(), EINVAL);
  EXPECT_EQ(a.free_blocks(), 10u);
}

TEST(Allocator, FreeCoalescesWithBothNeighbours) {
  Allocator a(30);
  ASSERT_TRUE(a.reserve(0, 30).is_ok());
  ASSERT_TRUE(a.free(0, 10).is_ok());
  ASSERT_TRUE(a.free(20, 10).is_ok());
  EXPECT_EQ(a.free_extents(), 2u);
  ASSERT_TRUE(a.free(10, 10).is_ok());
  EXPECT_EQ(a.free_list(), (P{{0, 30}}));
  EXPECT_TRUE(a.check().is_ok());
}

TEST(Allocator, DoubleFreeAndFreeOutsideTheDeviceAreRejectedWithoutChange) {
  Allocator a(100);
  ASSERT_TRUE(a.reserve(10, 20).is_ok());
  const P before = a.free_list();
  EXPECT_EQ(a.free(0, 5).err(), EINVAL);    // all free
  EXPECT_EQ(a.free(5, 10).err(), EINVAL);   // head overlaps free
  EXPECT_EQ(a.free(25, 10).err(), EINVAL);  // tail overlaps free
  EXPECT_EQ(a.free(5, 30).err(), EINVAL);   // covers the used run
  EXPECT_EQ(a.free(95, 10).err(), EINVAL);  // past the end
  EXPECT_EQ(a.free(10, 0).err(), EINVAL);
  EXPECT_EQ(a.free_list(), before);
  EXPECT_TRUE(a.check().is_ok());
  EXPECT_TRUE(a.free(10, 20).is_ok());
  EXPECT_EQ(a.free(10, 1).err(), EINVAL);
}

TEST(Allocator, ReserveOfUsedBlocksIsRejected) {
  Allocator a(100);
  ASSERT_TRUE(a.reserve(10, 10).is_ok());
  EXPECT_EQ(a.reserve(15, 10).err(), EINVAL);
  EXPECT_EQ(a.reserve(90, 20).err(), EINVAL);
  EXPECT_EQ(a.free_blocks(), 90u);
}

// Random allocate/free (including bad frees) against a bitmap of used blocks.
TEST(AllocatorRandom, MatchesABitmapOverThousandsOfSeededOps) {
  constexpr uint64_t kN = 2048;
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
    Allocator a(kN);
    std::vector<bool> used(kN, false);
    uint64_t nused = 0;
    std::vector<PhysRange> held;
    for (int step = 0; step < 4000; ++step) {
      const int op = static_cast<int>(pick(5));
      if (op <= 1) {
        const uint64_t len = 1 + pick(pick(4) == 0 ? 300 : 20);
        auto r = a.allocate(len, pick(kN));
        if (len > kN - nused) {
          ASSERT_EQ(r.err(), ENOSPC);
        } else {
          ASSERT_TRUE(r.is_ok());
          uint64_t got = 0;
          for (const auto& p : *r) {
            for (uint64_t b = p.pblk; b < p.pblk + p.len; ++b) {
              ASSERT_LT(b, kN);
              ASSERT_FALSE(used[b]) << "step " << step << " block " << b << " handed out twice";
              used[b] = true;
            }
            got += p.len;
            held.push_back(p);
          }
          ASSERT_EQ(got, len);
          nused += len;
        }
      } else if (op <= 3 && !held.empty()) {  // free part of something held
        const size_t i = pick(held.size());
        PhysRange p = held[i];
        const uint64_t cut = pick(p.len);
        PhysRange f{p.pblk + cut, p.len - cut};
        ASSERT_TRUE(a.free(f.pblk, f.len).is_ok()) << "step " << step;
        for (uint64_t b = f.pblk; b < f.pblk + f.len; ++b) used[b] = false;
        nused -= f.len;
        if (cut == 0) {
          held.erase(held.begin() + static_cast<ptrdiff_t>(i));
        } else {
          held[i].len = cut;
        }
      } else {  // a random free: must succeed iff every block is used
        const uint64_t pblk = pick(kN);
        const uint64_t len = 1 + pick(8);
        bool all_used = pblk + len <= kN;
        for (uint64_t b = pblk; all_used && b < pblk + len; ++b) all_used = used[b];
        if (!all_used) {
          ASSERT_EQ(a.free(pblk, len).err(), EINVAL) << "step " << step;
        }
        // (a valid random free would desynchronise `held`; skip it)
      }
      ASSERT_TRUE(a.check().is_ok()) << "step " << step;
      ASSERT_EQ(a.free_blocks(), kN - nused);
      uint64_t b = 0;
      for (const auto& f : a.free_list()) {
        for (; b < f.pblk; ++b) ASSERT_TRUE(used[b]) << "step " << step;
        for (; b < f.pblk + f.len; ++b) ASSERT_FALSE(used[b]) << "step " << step;
      }
      for (; b < kN; ++b) ASSERT_TRUE(used[b]) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace pnfsgw::store
