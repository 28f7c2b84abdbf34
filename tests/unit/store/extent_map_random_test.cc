// ExtentMap against a reference model: one slot per logical block holding its
// physical block (or -1 for a hole) and its unwritten flag.
#include <gtest/gtest.h>

#include <random>

#include "backend/store/extent_map.h"

namespace pnfsgw::store {
namespace {

constexpr uint64_t kBlocks = 1024;

struct Model {
  std::vector<int64_t> pblk = std::vector<int64_t>(kBlocks, -1);
  std::vector<bool> unwritten = std::vector<bool>(kBlocks, false);

  // Blocks [lblk, lblk+len) leave the map; returns their physical blocks in order.
  std::vector<uint64_t> clear(uint64_t lblk, uint64_t len) {
    std::vector<uint64_t> out;
    for (uint64_t b = lblk; b < lblk + len; ++b) {
      if (pblk[b] >= 0) out.push_back(static_cast<uint64_t>(pblk[b]));
      pblk[b] = -1;
      unwritten[b] = false;
    }
    return out;
  }
  uint64_t last_end() const {
    for (uint64_t b = kBlocks; b > 0; --b) {
      if (pblk[b - 1] >= 0) return b;
    }
    return 0;
  }
};

std::vector<uint64_t> expand(const std::vector<PhysRange>& rs) {
  std::vector<uint64_t> out;
  for (const auto& r : rs) {
    for (uint64_t i = 0; i < r.len; ++i) out.push_back(r.pblk + i);
  }
  return out;
}

void expect_same(const ExtentMap& m, const Model& model, int step) {
  ASSERT_TRUE(m.check().is_ok()) << "step " << step;
  Model seen;
  for (const Extent& e : m.all()) {
    ASSERT_LE(e.lend(), kBlocks) << "step " << step;
    for (uint64_t i = 0; i < e.len; ++i) {
      seen.pblk[e.lblk + i] = static_cast<int64_t>(e.pblk + i);
      seen.unwritten[e.lblk + i] = e.unwritten;
    }
  }
  ASSERT_EQ(seen.pblk, model.pblk) << "step " << step;
  ASSERT_EQ(seen.unwritten, model.unwritten) << "step " << step;
}

void run(uint32_t seed, int steps) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  ExtentMap m;
  Model model;
  uint64_t next_pblk = 1'000'000;
  for (int step = 0; step < steps; ++step) {
    const uint64_t lblk = pick(kBlocks / 2);
    const uint64_t len = 1 + pick(pick(4) == 0 ? 200 : 16);
    switch (pick(6)) {
      case 0:
      case 1: {  // insert; half the time contiguous with the block before
        uint64_t pblk = next_pblk;
        if (lblk > 0 && model.pblk[lblk - 1] >= 0 && pick(2) == 0) {
          pblk = static_cast<uint64_t>(model.pblk[lblk - 1]) + 1;
        } else {
          next_pblk += len + 1;
        }
        const bool uw = pick(3) == 0;
        auto d = m.insert({lblk, len, pblk, uw});
        ASSERT_TRUE(d.is_ok());
        ASSERT_EQ(expand(*d), model.clear(lblk, len)) << "step " << step;
        for (uint64_t i = 0; i < len; ++i) {
          model.pblk[lblk + i] = static_cast<int64_t>(pblk + i);
          model.unwritten[lblk + i] = uw;
        }
        break;
      }
      case 2: {
        auto d = m.punch(lblk, len);
        ASSERT_TRUE(d.is_ok());
        ASSERT_EQ(expand(*d), model.clear(lblk, len)) << "step " << step;
        break;
      }
      case 3: {
        const bool uw = pick(2) == 0;
        ASSERT_TRUE(m.set_unwritten(lblk, len, uw).is_ok());
        for (uint64_t b = lblk; b < lblk + len; ++b) {
          if (model.pblk[b] >= 0) model.unwritten[b] = uw;
        }
        break;
      }
      case 4: {  // insert range, or collapse a punched range
        const uint64_t delta = 1 + pick(32);
        if (pick(2) == 0) {
          if (model.last_end() + delta > kBlocks) break;
          ASSERT_TRUE(m.shift_up(lblk, delta).is_ok());
          model.pblk.insert(model.pblk.begin() + lblk, delta, -1);
          model.pblk.resize(kBlocks);
          model.unwritten.insert(model.unwritten.begin() + lblk, delta, false);
          model.unwritten.resize(kBlocks);
        } else {
          if (lblk < delta) break;
          bool hole = true;
          for (uint64_t b = lblk - delta; b < lblk; ++b) hole = hole && model.pblk[b] < 0;
          Status st = m.shift_down(lblk, delta);
          if (!hole) {
            ASSERT_EQ(st.err(), EINVAL) << "step " << step;
            break;
          }
          ASSERT_TRUE(st.is_ok()) << "step " << step;
          model.pblk.erase(model.pblk.begin() + (lblk - delta), model.pblk.begin() + lblk);
          model.pblk.resize(kBlocks, -1);
          model.unwritten.erase(model.unwritten.begin() + (lblk - delta),
                                model.unwritten.begin() + lblk);
          model.unwritten.resize(kBlocks, false);
        }
        break;
      }
      case 5: {
        m.merge(lblk, len);  // the block-level model does not change
        // lookup: the covering extent or the next one.
        auto e = m.lookup(lblk);
        uint64_t b = lblk;
        while (b < kBlocks && model.pblk[b] < 0) ++b;
        if (b == kBlocks) {
          ASSERT_FALSE(e.has_value()) << "step " << step;
        } else {
          ASSERT_TRUE(e.has_value()) << "step " << step;
          ASSERT_TRUE(e->lblk <= b && b < e->lend()) << "step " << step;
          ASSERT_EQ(static_cast<int64_t>(e->pblk + (b - e->lblk)), model.pblk[b]);
        }
        // query: clipped extents tile exactly the mapped blocks of the range.
        uint64_t covered = 0;
        for (const Extent& q : m.query(lblk, len)) {
          ASSERT_TRUE(q.lblk >= lblk && q.lend() <= lblk + len) << "step " << step;
          for (uint64_t i = 0; i < q.len; ++i) {
            ASSERT_EQ(model.pblk[q.lblk + i], static_cast<int64_t>(q.pblk + i));
          }
          covered += q.len;
        }
        uint64_t mapped = 0;
        for (uint64_t i = lblk; i < lblk + len; ++i) mapped += model.pblk[i] >= 0;
        ASSERT_EQ(covered, mapped) << "step " << step;
        break;
      }
    }
    expect_same(m, model, step);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // After a full merge no two neighbours are mergeable.
  m.merge(0, kBlocks);
  expect_same(m, model, steps);
  auto all = m.all();
  for (size_t i = 1; i < all.size(); ++i) {
    const Extent& a = all[i - 1];
    const Extent& b = all[i];
    EXPECT_FALSE(a.lend() == b.lblk && a.pblk + a.len == b.pblk && a.unwritten == b.unwritten);
  }
}

TEST(ExtentMapRandom, MatchesABlockModelOverThousandsOfSeededOps) {
  for (uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(seed);
    run(seed, 3000);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace pnfsgw::store
