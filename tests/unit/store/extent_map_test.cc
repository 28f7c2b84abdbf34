#include "backend/store/extent_map.h"

#include <gtest/gtest.h>

namespace pnfsgw::store {
namespace {

using V = std::vector<Extent>;
using P = std::vector<PhysRange>;

ExtentMap make(const V& es) {
  ExtentMap m;
  for (const auto& e : es) EXPECT_TRUE(m.insert(e).is_ok());
  EXPECT_TRUE(m.check().is_ok());
  return m;
}

TEST(ExtentMap, LookupFindsCoveringExtentOrTheNextOne) {
  ExtentMap m = make({{10, 5, 100, false}, {20, 5, 200, false}});
  EXPECT_EQ(m.lookup(12), (Extent{10, 5, 100, false}));
  EXPECT_EQ(m.lookup(0), (Extent{10, 5, 100, false}));
  EXPECT_EQ(m.lookup(15), (Extent{20, 5, 200, false}));
  EXPECT_FALSE(m.lookup(25).has_value());
}

TEST(ExtentMap, QueryClipsToTheRangeAndLeavesHolesImplied) {
  ExtentMap m = make({{10, 10, 100, false}, {30, 10, 300, true}});
  EXPECT_EQ(m.query(15, 20), (V{{15, 5, 105, false}, {30, 5, 300, true}}));
  EXPECT_TRUE(m.query(20, 10).empty());
  EXPECT_TRUE(m.query(0, 0).empty());
}

TEST(ExtentMap, InsertOverlappingBothEndsTrimsNeighboursAndReturnsTheMiddle) {
  ExtentMap m = make({{0, 10, 100, false}, {10, 10, 200, false}});
  auto d = m.insert({5, 10, 500, false});
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(*d, (P{{105, 5}, {200, 5}}));
  EXPECT_EQ(m.all(), (V{{0, 5, 100, false}, {5, 10, 500, false}, {15, 5, 205, false}}));
  EXPECT_TRUE(m.check().is_ok());
}

TEST(ExtentMap, InsertExactlyCoveringAnExtentReplacesIt) {
  ExtentMap m = make({{0, 10, 100, false}});
  EXPECT_EQ(*m.insert({0, 10, 900, true}), (P{{100, 10}}));
  EXPECT_EQ(m.all(), (V{{0, 10, 900, true}}));
}

TEST(ExtentMap, InsertInsideOneExtentSplitsItIntoThree) {
  ExtentMap m = make({{0, 10, 100, false}});
  EXPECT_EQ(*m.insert({3, 4, 900, false}), (P{{103, 4}}));
  EXPECT_EQ(m.all(), (V{{0, 3, 100, false}, {3, 4, 900, false}, {7, 3, 107, false}}));
  EXPECT_TRUE(m.check().is_ok());
}

TEST(ExtentMap, InsertRejectsEmptyAndOverflowingRanges) {
  ExtentMap m;
  EXPECT_EQ(m.insert({0, 0, 1, false}).err(), EINVAL);
  EXPECT_EQ(m.insert({ExtentMap::kMaxLblk, 1, 1, false}).err(), EINVAL);
  EXPECT_EQ(m.insert({0, 2, UINT64_MAX, false}).err(), EINVAL);
  EXPECT_TRUE(m.empty());
}

TEST(ExtentMap, PunchAcrossManyExtentsReturnsEachDisplacedPiece) {
  ExtentMap m =
      make({{0, 4, 100, false}, {4, 4, 200, true}, {10, 4, 300, false}, {20, 4, 400, false}});
  EXPECT_EQ(*m.punch(2, 20), (P{{102, 2}, {200, 4}, {300, 4}, {400, 2}}));
  EXPECT_EQ(m.all(), (V{{0, 2, 100, false}, {22, 2, 402, false}}));
  EXPECT_TRUE(m.punch(50, 10)->empty());
  EXPECT_TRUE(m.check().is_ok());
}

TEST(ExtentMap, SetUnwrittenSplitsAtTheRangeEndsAndSkipsHoles) {
  ExtentMap m = make({{0, 10, 100, true}, {20, 10, 200, true}});
  ASSERT_TRUE(m.set_unwritten(5, 20, false).is_ok());
  EXPECT_EQ(m.all(),
            (V{{0, 5, 100, true}, {5, 5, 105, false}, {20, 5, 200, false}, {25, 5, 205, true}}));
  EXPECT_TRUE(m.check().is_ok());
}

TEST(ExtentMap, ShiftUpSplitsTheStraddlingExtentAndKeepsHolesAndState) {
  ExtentMap m = make({{0, 10, 100, false}, {15, 5, 200, true}, {30, 1, 300, false}});
  ASSERT_TRUE(m.shift_up(5, 100).is_ok());
  EXPECT_EQ(
      m.all(),
      (V{{0, 5, 100, false}, {105, 5, 105, false}, {115, 5, 200, true}, {130, 1, 300, false}}));
  EXPECT_TRUE(m.check().is_ok());
}

TEST(ExtentMap, ShiftUpPastTheLimitIsEfbigAndChangesNothing) {
  ExtentMap m = make({{10, 10, 100, false}});
  EXPECT_EQ(m.shift_up(0, ExtentMap::kMaxLblk - 15).err(), EFBIG);
  EXPECT_EQ(m.all(), (V{{10, 10, 100, false}}));
  EXPECT_TRUE(m.shift_up(20, ExtentMap::kMaxLblk).is_ok());  // nothing after 20
}

TEST(ExtentMap, ShiftDownCollapsesAPunchedRange) {
  ExtentMap m = make({{0, 10, 100, false}, {20, 5, 200, true}, {40, 5, 300, false}});
  ASSERT_TRUE(m.punch(5, 10).is_ok());
  ASSERT_TRUE(m.shift_down(15, 10).is_ok());
  EXPECT_EQ(m.all(), (V{{0, 5, 100, false}, {10, 5, 200, true}, {30, 5, 300, false}}));
  EXPECT_TRUE(m.check().is_ok());
}

TEST(ExtentMap, ShiftDownOverMappedBlocksIsRejected) {
  ExtentMap m = make({{0, 10, 100, false}, {20, 5, 200, false}});
  EXPECT_EQ(m.shift_down(20, 15).err(), EINVAL);  // [5,20) holds blocks 5..9
  EXPECT_EQ(m.shift_down(22, 1).err(), EINVAL);   // straddles 22
  EXPECT_EQ(m.shift_down(5, 10).err(), EINVAL);   // below zero
  EXPECT_EQ(m.all(), (V{{0, 10, 100, false}, {20, 5, 200, false}}));
  EXPECT_TRUE(m.shift_down(20, 10).is_ok());
  EXPECT_EQ(m.all(), (V{{0, 10, 100, false}, {10, 5, 200, false}}));
}

TEST(ExtentMap, MergeFoldsContiguousSameStateNeighboursOnly) {
  ExtentMap m = make({{0, 5, 100, false},
                      {5, 5, 105, false},
                      {10, 5, 110, true},
                      {15, 5, 115, true},
                      {20, 5, 200, true},
                      {26, 4, 205, true}});
  m.merge(0, 30);
  EXPECT_EQ(m.all(),
            (V{{0, 10, 100, false}, {10, 10, 110, true}, {20, 5, 200, true}, {26, 4, 205, true}}));
  EXPECT_TRUE(m.check().is_ok());
}

TEST(ExtentMap, MergeOfARangeAlsoFoldsItsLeftNeighbour) {
  ExtentMap m =
      make({{0, 5, 100, false}, {5, 5, 105, false}, {50, 5, 150, false}, {55, 5, 155, false}});
  m.merge(5, 1);
  EXPECT_EQ(m.all(), (V{{0, 10, 100, false}, {50, 5, 150, false}, {55, 5, 155, false}}));
}

TEST(ExtentMap, CopyIsAnIndependentClone) {
  ExtentMap a = make({{0, 5, 100, false}});
  ExtentMap b = a;
  ASSERT_TRUE(b.punch(0, 5).is_ok());
  EXPECT_EQ(a.size(), 1u);
  EXPECT_TRUE(b.empty());
}

}  // namespace
}  // namespace pnfsgw::store
