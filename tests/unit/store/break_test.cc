#include "backend/store/break.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace pnfsgw::store {
namespace {

static_assert(!std::is_copy_constructible_v<BreakToken>);
static_assert(!std::is_copy_assignable_v<BreakToken>);
static_assert(std::is_nothrow_move_constructible_v<BreakToken>);
// Only an ExtentBreaker makes tokens.
static_assert(
    !std::is_constructible_v<BreakToken, ExtentBreaker*, uint64_t, uint64_t, uint64_t, BreakKind>);
static_assert(!std::is_default_constructible_v<BreakToken>);

TEST(BreakToken, CarriesFileRangeAndKind) {
  NullBreaker b;
  BreakToken t = b.break_range(7, 4096, 8192, BreakKind::kUnmap);
  EXPECT_EQ(t.file(), 7u);
  EXPECT_EQ(t.off(), 4096u);
  EXPECT_EQ(t.len(), 8192u);
  EXPECT_EQ(t.kind(), BreakKind::kUnmap);
}

TEST(BreakToken, CoversOnlyItsFileAndRangeAndUnmapImpliesWrite) {
  NullBreaker b;
  BreakToken w = b.break_range(1, 100, 100, BreakKind::kWrite);
  EXPECT_TRUE(w.covers(1, 100, 100, BreakKind::kWrite));
  EXPECT_TRUE(w.covers(1, 150, 50, BreakKind::kWrite));
  EXPECT_FALSE(w.covers(1, 150, 51, BreakKind::kWrite));
  EXPECT_FALSE(w.covers(1, 99, 10, BreakKind::kWrite));
  EXPECT_FALSE(w.covers(2, 100, 10, BreakKind::kWrite));
  EXPECT_FALSE(w.covers(1, 100, 10, BreakKind::kUnmap));
  BreakToken u = b.break_range(1, 0, UINT64_MAX, BreakKind::kUnmap);  // to EOF
  EXPECT_TRUE(u.covers(1, UINT64_MAX - 5, 5, BreakKind::kWrite));
  EXPECT_TRUE(u.covers(1, 0, UINT64_MAX, BreakKind::kUnmap));
}

TEST(BreakToken, EndsTheBreakOnceWhenDestroyedEvenAfterMoves) {
  NullBreaker b;
  {
    BreakToken t = b.break_range(1, 0, 10, BreakKind::kWrite);
    BreakToken t2 = std::move(t);
    EXPECT_FALSE(t.valid());  // NOLINT(bugprone-use-after-move): moved-from is inert
    EXPECT_FALSE(t.covers(1, 0, 1, BreakKind::kWrite));
    EXPECT_EQ(b.active(), 1);
    BreakToken t3 = b.break_range(2, 0, 10, BreakKind::kWrite);
    t3 = std::move(t2);  // ends t3's own break
    EXPECT_EQ(b.active(), 1);
    EXPECT_EQ(t3.file(), 1u);
  }
  EXPECT_EQ(b.active(), 0);
  EXPECT_EQ(b.breaks(), 2);
}

TEST(NullBreaker, ReleasesQuarantinedBlocksAtOnce) {
  NullBreaker b;
  BreakToken t = b.break_range(1, 0, 10, BreakKind::kUnmap);
  std::vector<PhysRange> got;
  b.release_quarantine(t, {{5, 2}, {9, 1}}, [&](std::vector<PhysRange> r) { got = std::move(r); });
  EXPECT_EQ(got, (std::vector<PhysRange>{{5, 2}, {9, 1}}));
}

}  // namespace
}  // namespace pnfsgw::store
