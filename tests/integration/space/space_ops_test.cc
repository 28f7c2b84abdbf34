// ALLOCATE, DEALLOCATE, SEEK and READ_PLUS (RFC 7862 15.1, 15.4, 15.11,
// 15.10) against the real server: contents, holes, sizes and attributes as
// a client sees them afterwards.
#include "tests/integration/space/space_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

class AllocateTest : public SpaceTest {};
class DeallocateTest : public SpaceTest {};
class SeekTest : public SpaceTest {};
class ReadPlusTest : public SpaceTest {};

// ---- ALLOCATE ----

TEST_F(AllocateTest, PastEndOfFileExtendsTheFileWithZeroes) {
  OpenResult f = open_new("alloc");
  write_at(f, 0, "head");
  ASSERT_OK(c42_->allocate(f.fh, f.stateid, 0, 1024 * kKiB));
  Fattr a = attrs(f.fh);
  EXPECT_EQ(a.size, 1024 * kKiB);
  ASSERT_TRUE(a.space_used);
  EXPECT_GE(*a.space_used, 1024 * kKiB) << "ALLOCATE must reserve the blocks";
  std::string want(1024 * kKiB, '\0');
  want.replace(0, 4, "head");
  EXPECT_EQ(read_file(f.fh), want);
}

TEST_F(AllocateTest, InsideTheFileKeepsContentsAndSize) {
  OpenResult f = open_new("alloc-inside");
  std::string data = pattern(200 * kKiB, 3);
  write_at(f, 0, data);
  ASSERT_OK(c42_->allocate(f.fh, f.stateid, 64 * kKiB, 64 * kKiB));
  EXPECT_EQ(attrs(f.fh).size, data.size());
  EXPECT_EQ(read_file(f.fh), data);
}

TEST_F(AllocateTest, FillsAHoleWithAllocatedZeroes) {
  Sparse s = make_sparse("alloc-hole");
  uint64_t used_before = attrs(s.f.fh).space_used.value_or(0);
  ASSERT_OK(c42_->allocate(s.f.fh, s.f.stateid, 64 * kKiB, 192 * kKiB));
  Fattr a = attrs(s.f.fh);
  EXPECT_EQ(a.size, 512 * kKiB);
  EXPECT_GE(a.space_used.value_or(0), used_before + 192 * kKiB);
  EXPECT_EQ(read_file(s.f.fh), s.whole());
}

TEST_F(AllocateTest, ChangesTheChangeAttributeAndMtime) {
  OpenResult f = open_new("alloc-change");
  Fattr before = attrs(f.fh);
  tick();
  ASSERT_OK(c42_->allocate(f.fh, f.stateid, 0, 64 * kKiB));
  Fattr after = attrs(f.fh);
  EXPECT_NE(after.change, before.change);
  ASSERT_TRUE(before.time_modify && after.time_modify);
  EXPECT_NE(*after.time_modify, *before.time_modify);
}

TEST_F(AllocateTest, WorksWithTheAnonymousStateidForAWriter) {
  Fh fh = make_file(root_, "alloc-anon", "x");
  ASSERT_OK(c42_->allocate(fh, Stateid::anonymous(), 0, 8 * kKiB));
  EXPECT_EQ(attrs(fh).size, 8 * kKiB);
}

TEST_F(AllocateTest, InOneCompoundWithOpenAndGetattrUsesTheCurrentStateid) {
  // As a kernel client sends it: the GETATTR after ALLOCATE sees the new size.
  OpenArgs open;
  open.share_access = OPEN4_SHARE_ACCESS_BOTH;
  open.owner = "compound-owner";
  open.create = true;
  open.attrs.mode = 0644;
  open.name = "alloc-compound";
  CompoundBuilder b;
  b.putfh(root_)
      .open(open)
      .allocate(Stateid::current(), 0, 256 * kKiB)
      .getattr(Bitmap4{FATTR4_SIZE});
  auto r = c42_->compound(b);
  ASSERT_TRUE(r) << err_name(r.err());
  ASSERT_EQ(r->status(), NFS4_OK);
  auto a = r->get<GetattrRes>(4);
  ASSERT_TRUE(a) << err_name(a.err());
  EXPECT_EQ(a->attrs.size, 256 * kKiB);
}

// ---- DEALLOCATE ----

TEST_F(DeallocateTest, PunchesAHoleThatReadsAsZeroesAndKeepsTheSize) {
  OpenResult f = open_new("punch");
  std::string data = pattern(256 * kKiB, 4);
  write_at(f, 0, data);
  uint64_t used_before = attrs(f.fh).space_used.value_or(0);
  ASSERT_OK(c42_->deallocate(f.fh, f.stateid, 64 * kKiB, 64 * kKiB));
  std::string want = data;
  want.replace(64 * kKiB, 64 * kKiB, std::string(64 * kKiB, '\0'));
  EXPECT_EQ(read_file(f.fh), want);
  Fattr a = attrs(f.fh);
  EXPECT_EQ(a.size, data.size());
  EXPECT_LE(a.space_used.value_or(0) + 64 * kKiB, used_before) << "the blocks must be freed";
  auto hole = c42_->seek(f.fh, f.stateid, 0, NFS4_CONTENT_HOLE);
  ASSERT_TRUE(hole) << err_name(hole.err());
  EXPECT_EQ(hole->offset, 64 * kKiB);
  EXPECT_FALSE(hole->eof);
}

TEST_F(DeallocateTest, PastEndOfFileChangesNothing) {
  OpenResult f = open_new("punch-past");
  write_at(f, 0, "data");
  ASSERT_OK(c42_->deallocate(f.fh, f.stateid, 64 * kKiB, 64 * kKiB));
  EXPECT_EQ(attrs(f.fh).size, 4u);
  EXPECT_EQ(read_file(f.fh), "data");
}

TEST_F(DeallocateTest, UnalignedRangeZeroesExactlyThoseBytes) {
  OpenResult f = open_new("punch-unaligned");
  std::string data = pattern(20000, 5);
  write_at(f, 0, data);
  ASSERT_OK(c42_->deallocate(f.fh, f.stateid, 1000, 9000));
  std::string want = data;
  want.replace(1000, 9000, std::string(9000, '\0'));
  EXPECT_EQ(read_file(f.fh), want);
}

TEST_F(DeallocateTest, ChangesTheChangeAttributeAndMtime) {
  OpenResult f = open_new("punch-change");
  write_at(f, 0, pattern(128 * kKiB, 6));
  Fattr before = attrs(f.fh);
  tick();
  ASSERT_OK(c42_->deallocate(f.fh, f.stateid, 0, 64 * kKiB));
  Fattr after = attrs(f.fh);
  EXPECT_NE(after.change, before.change);
  ASSERT_TRUE(before.time_modify && after.time_modify);
  EXPECT_NE(*after.time_modify, *before.time_modify);
}

// ---- SEEK ----

TEST_F(SeekTest, FindsEachDataRunAndHoleOfASparseFile) {
  Sparse s = make_sparse("seek");
  struct Case {
    uint64_t from;
    uint32_t what;
    uint64_t want;
    bool eof;
  };
  const Case cases[] = {
      {0, NFS4_CONTENT_DATA, 0, false},
      {0, NFS4_CONTENT_HOLE, 64 * kKiB, false},
      {10, NFS4_CONTENT_HOLE, 64 * kKiB, false},
      {64 * kKiB, NFS4_CONTENT_DATA, 256 * kKiB, false},
      {100 * kKiB, NFS4_CONTENT_HOLE, 100 * kKiB, false},
      {100 * kKiB, NFS4_CONTENT_DATA, 256 * kKiB, false},
      {256 * kKiB, NFS4_CONTENT_HOLE, 320 * kKiB, false},
      {300 * kKiB, NFS4_CONTENT_DATA, 300 * kKiB, false},
  };
  for (const Case& c : cases) {
    auto r = c42_->seek(s.f.fh, s.f.stateid, c.from, c.what);
    ASSERT_TRUE(r) << "from " << c.from << ": " << err_name(r.err());
    EXPECT_EQ(r->offset, c.want) << "from " << c.from << " what " << c.what;
    EXPECT_EQ(r->eof, c.eof) << "from " << c.from << " what " << c.what;
  }
}

TEST_F(SeekTest, NoDataAfterTheOffsetIsEof) {
  Sparse s = make_sparse("seek-tail");
  // RFC 7862 15.11.3: no such content: NFS4_OK with sr_eof TRUE.
  auto r = c42_->seek(s.f.fh, s.f.stateid, 400 * kKiB, NFS4_CONTENT_DATA);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_TRUE(r->eof);
}

TEST_F(SeekTest, AFileWithoutHolesHasTheVirtualHoleAtItsEnd) {
  OpenResult f = open_new("seek-dense");
  write_at(f, 0, pattern(100000, 7));
  auto r = c42_->seek(f.fh, f.stateid, 0, NFS4_CONTENT_HOLE);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(r->offset, 100000u);
  EXPECT_TRUE(r->eof);
}

TEST_F(SeekTest, AtOrBeyondEndOfFileIsNxio) {
  OpenResult f = open_new("seek-eof");
  write_at(f, 0, "0123456789");
  for (uint32_t what : {NFS4_CONTENT_DATA, NFS4_CONTENT_HOLE}) {
    EXPECT_NFS_ERR(c42_->seek(f.fh, f.stateid, 10, what), NFS4ERR_NXIO);
    EXPECT_NFS_ERR(c42_->seek(f.fh, f.stateid, 1 << 20, what), NFS4ERR_NXIO);
    EXPECT_NFS_ERR(c42_->seek(f.fh, f.stateid, UINT64_MAX, what), NFS4ERR_NXIO);
  }
  OpenResult empty = open_new("seek-empty");
  EXPECT_NFS_ERR(c42_->seek(empty.fh, empty.stateid, 0, NFS4_CONTENT_DATA), NFS4ERR_NXIO);
}

TEST_F(SeekTest, AnUnknownContentTypeIsBadXdr) {
  OpenResult f = open_new("seek-what");
  write_at(f, 0, "x");
  EXPECT_NFS_ERR(c42_->seek(f.fh, f.stateid, 0, 7), NFS4ERR_BADXDR);
}

// ---- READ_PLUS ----

// Lays READ_PLUS segments out into bytes, checking that they are in order,
// contiguous from `offset` and inside the file.
std::string assemble(const ReadPlusRes& r, uint64_t offset) {
  std::string out;
  uint64_t pos = offset;
  for (const ReadPlusSegment& s : r.segments) {
    EXPECT_EQ(s.offset, pos) << "segments must follow each other";
    if (s.content == NFS4_CONTENT_DATA) {
      out.append(s.data.begin(), s.data.end());
    } else {
      out.append(s.length, '\0');
    }
    pos += s.length;
  }
  return out;
}

TEST_F(ReadPlusTest, ReturnsDataAndHoleSegmentsOfASparseFile) {
  Sparse s = make_sparse("rp");
  auto r = c42_->read_plus(s.f.fh, s.f.stateid, 0, 1 << 20);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_TRUE(r->eof);
  EXPECT_EQ(assemble(*r, 0), s.whole());
  ASSERT_EQ(r->segments.size(), 4u);
  const uint32_t kinds[] = {NFS4_CONTENT_DATA, NFS4_CONTENT_HOLE, NFS4_CONTENT_DATA,
                            NFS4_CONTENT_HOLE};
  const uint64_t starts[] = {0, 64 * kKiB, 256 * kKiB, 320 * kKiB};
  const uint64_t lengths[] = {64 * kKiB, 192 * kKiB, 64 * kKiB, 192 * kKiB};
  for (size_t i = 0; i < 4; i++) {
    EXPECT_EQ(r->segments[i].content, kinds[i]) << i;
    EXPECT_EQ(r->segments[i].offset, starts[i]) << i;
    EXPECT_EQ(r->segments[i].length, lengths[i]) << i;
  }
}

TEST_F(ReadPlusTest, ARangeInsideTheFileIsCutToThatRange) {
  Sparse s = make_sparse("rp-range");
  auto r = c42_->read_plus(s.f.fh, s.f.stateid, 100 * kKiB, 200 * kKiB);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_FALSE(r->eof);
  EXPECT_EQ(assemble(*r, 100 * kKiB), s.whole().substr(100 * kKiB, 200 * kKiB));
  ASSERT_EQ(r->segments.size(), 2u);
  EXPECT_EQ(r->segments[0].content, NFS4_CONTENT_HOLE);
  EXPECT_EQ(r->segments[0].length, 156 * kKiB);
  EXPECT_EQ(r->segments[1].content, NFS4_CONTENT_DATA);
  EXPECT_EQ(r->segments[1].length, 44 * kKiB);
}

TEST_F(ReadPlusTest, MatchesReadOnADenseFile) {
  OpenResult f = open_new("rp-dense");
  std::string data = pattern(300000, 8);
  write_at(f, 0, data);
  auto r = c42_->read_plus(f.fh, f.stateid, 1234, 200000);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_FALSE(r->eof);
  EXPECT_EQ(assemble(*r, 1234), data.substr(1234, 200000));
  auto tail = c42_->read_plus(f.fh, f.stateid, 250000, 100000);
  ASSERT_TRUE(tail) << err_name(tail.err());
  EXPECT_TRUE(tail->eof);
  EXPECT_EQ(assemble(*tail, 250000), data.substr(250000));
}

TEST_F(ReadPlusTest, AtOrPastEndOfFileIsEofWithNoContents) {
  OpenResult f = open_new("rp-eof");
  write_at(f, 0, "abc");
  for (uint64_t off : {uint64_t{3}, uint64_t{4096}, UINT64_MAX}) {
    auto r = c42_->read_plus(f.fh, f.stateid, off, 100);
    ASSERT_TRUE(r) << off << ": " << err_name(r.err());
    EXPECT_TRUE(r->eof) << off;
    EXPECT_TRUE(r->segments.empty()) << off;
  }
}

TEST_F(ReadPlusTest, ZeroCountReturnsNothing) {
  OpenResult f = open_new("rp-zero");
  write_at(f, 0, "abc");
  auto r = c42_->read_plus(f.fh, f.stateid, 0, 0);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_FALSE(r->eof);
  EXPECT_TRUE(r->segments.empty());
}

TEST_F(ReadPlusTest, AFileThatIsOneHoleIsOneHoleSegment) {
  OpenResult f = open_new("rp-allhole");
  set_size(f, 1024 * kKiB);
  auto r = c42_->read_plus(f.fh, f.stateid, 0, 1 << 20);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_TRUE(r->eof);
  ASSERT_EQ(r->segments.size(), 1u);
  EXPECT_EQ(r->segments[0].content, NFS4_CONTENT_HOLE);
  EXPECT_EQ(r->segments[0].offset, 0u);
  EXPECT_EQ(r->segments[0].length, 1024 * kKiB);
}

TEST_F(ReadPlusTest, AWriteOnlyOpenMayStillRead) {
  // As READ: clients fill partial pages through write-only opens.
  Sparse s = make_sparse("rp-wronly");
  OpenResult w = open_existing(s.f.fh, OPEN4_SHARE_ACCESS_WRITE);
  auto r = c42_->read_plus(s.f.fh, w.stateid, 0, 64 * kKiB);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(assemble(*r, 0), s.first);
}

// ---- space_used ----

TEST_F(AllocateTest, SpaceUsedFollowsAllocateAndDeallocate) {
  OpenResult f = open_new("space-used");
  uint64_t empty = attrs(f.fh).space_used.value_or(~0ull);
  ASSERT_OK(c42_->allocate(f.fh, f.stateid, 0, 512 * kKiB));
  uint64_t full = attrs(f.fh).space_used.value_or(0);
  EXPECT_GE(full, empty + 512 * kKiB);
  ASSERT_OK(c42_->deallocate(f.fh, f.stateid, 0, 512 * kKiB));
  uint64_t punched = attrs(f.fh).space_used.value_or(~0ull);
  EXPECT_LE(punched, empty + 64 * kKiB);
  EXPECT_EQ(attrs(f.fh).size, 512 * kKiB);
}

}  // namespace
}  // namespace pnfsgw::client::test
