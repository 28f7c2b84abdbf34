// HostDirFs space operations: fallocate modes, clone, dedupe, copy, seek and
// extent listing, with the range rules of backend/fs.h.
//
// Features the host filesystem lacks (reflink on ext4) skip, and only when
// the host answers ENOTSUP for exactly that feature. PNFSGW_TEST_HOSTDIR=DIR
// runs everything on another filesystem (e.g. an xfs mount with reflink).
#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/hostdir/hostdir_test_util.h"

namespace pnfsgw::backend::testing {
namespace {

constexpr uint64_t kBlock = 4096;
constexpr uint64_t kMaxOff = static_cast<uint64_t>(INT64_MAX);

#define SKIP_IF_HOST_LACKS(status_or_result, feature)                             \
  do {                                                                            \
    if ((status_or_result).err() == ENOTSUP)                                      \
      GTEST_SKIP() << feature << " is not supported by the host filesystem here"; \
  } while (0)

class HostDirFsSpace : public HostDirFsTest {
 protected:
  std::string blocks(std::string_view letters) {
    std::string s;
    for (char c : letters) s += std::string(kBlock, c);
    return s;
  }
  std::string read_range(InodeId ino, uint64_t off, size_t len) {
    std::vector<uint8_t> buf(len);
    bool eof = false;
    auto r = fs_->read(ino, off, buf, &eof);
    EXPECT_TRUE(r) << std::strerror(r.err());
    return r ? std::string(reinterpret_cast<const char*>(buf.data()), *r) : std::string();
  }
};

// --- fallocate modes --------------------------------------------------------

TEST_F(HostDirFsSpace, AllocateExtendsTheFileAndReservesSpace) {
  Attr f = create(root(), "f");
  ASSERT_TRUE(fs_->allocate(f.ino, 0, 1 << 20));
  Attr a = getattr(f.ino);
  EXPECT_EQ(a.size, 1u << 20);
  EXPECT_GE(a.space_used, 1u << 20);
  EXPECT_EQ(read_all(f.ino), std::string(1 << 20, '\0'));
}

TEST_F(HostDirFsSpace, AllocateInsideTheFileKeepsItsSizeAndData) {
  Attr f = file_with("f", blocks("ab"));
  ASSERT_TRUE(fs_->allocate(f.ino, 100, 200));
  EXPECT_EQ(read_all(f.ino), blocks("ab"));
}

TEST_F(HostDirFsSpace, AllocatePastEndOfFileSetsTheSizeToTheRangeEnd) {
  Attr f = file_with("f", "abc");
  ASSERT_TRUE(fs_->allocate(f.ino, 10000, 100));  // RFC 7862 15.1.3
  EXPECT_EQ(getattr(f.ino).size, 10100u);
  EXPECT_EQ(read_all(f.ino), "abc" + std::string(10097, '\0'));
}

TEST_F(HostDirFsSpace, PunchHoleZeroesTheRangeAndKeepsTheSize) {
  Attr f = file_with("f", blocks("xxx"));
  ASSERT_TRUE(fs_->punch_hole(f.ino, kBlock, kBlock));
  EXPECT_EQ(read_all(f.ino), blocks("x") + std::string(kBlock, '\0') + blocks("x"));
  auto hole = fs_->seek(f.ino, 0, SeekWhat::kHole);
  ASSERT_TRUE(hole);
  EXPECT_EQ(*hole, kBlock);
}

TEST_F(HostDirFsSpace, PunchHolePastEndOfFileDoesNotGrowIt) {
  Attr f = file_with("f", "0123456789");
  ASSERT_TRUE(fs_->punch_hole(f.ino, 5, 1 << 20));
  EXPECT_EQ(read_all(f.ino), "01234" + std::string(5, '\0'));
}

TEST_F(HostDirFsSpace, ZeroRangeReadsBackAsZeros) {
  Attr f = file_with("f", std::string(100, 'x'));
  ASSERT_TRUE(fs_->zero_range(f.ino, 10, 20));
  EXPECT_EQ(read_all(f.ino), std::string(10, 'x') + std::string(20, '\0') + std::string(70, 'x'));
}

TEST_F(HostDirFsSpace, ZeroRangePastEndOfFileExtendsIt) {
  Attr f = file_with("f", "xy");
  ASSERT_TRUE(fs_->zero_range(f.ino, 1, 9));
  EXPECT_EQ(read_all(f.ino), "x" + std::string(9, '\0'));
}

TEST_F(HostDirFsSpace, CollapseAndInsertRangeShiftTheFollowingData) {
  Attr f = file_with("f", blocks("abc"));
  ASSERT_TRUE(fs_->collapse_range(f.ino, kBlock, kBlock));
  EXPECT_EQ(read_all(f.ino), blocks("ac"));
  ASSERT_TRUE(fs_->insert_range(f.ino, kBlock, kBlock));
  EXPECT_EQ(read_all(f.ino), blocks("a") + std::string(kBlock, '\0') + blocks("c"));
  EXPECT_EQ(getattr(f.ino).size, 3 * kBlock);
}

TEST_F(HostDirFsSpace, InsertAndCollapseRefuseRangesTheKernelRefuses) {
  Attr f = file_with("f", blocks("abc"));
  EXPECT_EQ(fs_->collapse_range(f.ino, 1, 10).err(), EINVAL);  // unaligned
  EXPECT_EQ(fs_->insert_range(f.ino, 1, kBlock).err(), EINVAL);
  // Collapse may not reach end of file; insert may not start at or after it.
  EXPECT_EQ(fs_->collapse_range(f.ino, kBlock, 2 * kBlock).err(), EINVAL);
  EXPECT_EQ(fs_->insert_range(f.ino, 3 * kBlock, kBlock).err(), EINVAL);
  EXPECT_EQ(read_all(f.ino), blocks("abc"));
}

TEST_F(HostDirFsSpace, ZeroLengthIsInvalidForEveryFallocateMode) {
  Attr f = file_with("f", blocks("ab"));
  EXPECT_EQ(fs_->allocate(f.ino, 0, 0).err(), EINVAL);
  EXPECT_EQ(fs_->punch_hole(f.ino, 0, 0).err(), EINVAL);
  EXPECT_EQ(fs_->zero_range(f.ino, 0, 0).err(), EINVAL);
  EXPECT_EQ(fs_->collapse_range(f.ino, 0, 0).err(), EINVAL);
  EXPECT_EQ(fs_->insert_range(f.ino, 0, 0).err(), EINVAL);
  EXPECT_EQ(fs_->unshare(f.ino, 0, 0).err(), EINVAL);
}

TEST_F(HostDirFsSpace, RangesEndingPastTheLargestOffsetAreInvalid) {
  Attr f = file_with("f", blocks("ab"));
  Attr g = file_with("g", blocks("ab"));
  const uint64_t wraps = UINT64_MAX - 1;  // offset + length wraps around 2^64
  for (uint64_t off : {kMaxOff, wraps}) {
    SCOPED_TRACE(off);
    EXPECT_EQ(fs_->allocate(f.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->punch_hole(f.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->zero_range(f.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->collapse_range(f.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->insert_range(f.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->unshare(f.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->clone_range(f.ino, off, g.ino, 0, 4).err(), EINVAL);
    EXPECT_EQ(fs_->clone_range(f.ino, 0, g.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->dedupe_range(f.ino, off, g.ino, 0, 4).err(), EINVAL);
    EXPECT_EQ(fs_->dedupe_range(f.ino, 0, g.ino, off, 4).err(), EINVAL);
    EXPECT_EQ(fs_->copy_range(f.ino, off, g.ino, 0, 4).err(), EINVAL);
    EXPECT_EQ(fs_->copy_range(f.ino, 0, g.ino, off, 4).err(), EINVAL);
  }
  EXPECT_EQ(fs_->allocate(f.ino, 1, UINT64_MAX).err(), EINVAL);
  EXPECT_EQ(read_all(f.ino), blocks("ab"));
  EXPECT_EQ(read_all(g.ino), blocks("ab"));
}

TEST_F(HostDirFsSpace, SpaceOperationsWorkOnRegularFilesOnly) {
  Attr d = mkdir(root(), "d");
  auto fifo = fs_->mknod(root(), "p", FileType::kFifo, 0644, 0, 0, Cred{});
  ASSERT_TRUE(fifo);
  auto link = fs_->symlink(root(), "l", "d", Cred{});
  ASSERT_TRUE(link);
  Attr f = file_with("f", blocks("a"));
  EXPECT_EQ(fs_->allocate(d.ino, 0, 10).err(), EISDIR);
  EXPECT_EQ(fs_->punch_hole(d.ino, 0, 10).err(), EISDIR);
  EXPECT_EQ(fs_->seek(d.ino, 0, SeekWhat::kData).err(), EISDIR);
  EXPECT_EQ(fs_->list_extents(d.ino, 0, 10).err(), EISDIR);
  EXPECT_EQ(fs_->copy_range(f.ino, 0, d.ino, 0, 10).err(), EISDIR);
  EXPECT_EQ(fs_->clone_range(d.ino, 0, f.ino, 0, 10).err(), EISDIR);
  for (InodeId other : {fifo->ino, link->ino}) {
    EXPECT_EQ(fs_->zero_range(other, 0, 10).err(), EINVAL);
    EXPECT_EQ(fs_->insert_range(other, 0, 10).err(), EINVAL);
    EXPECT_EQ(fs_->seek(other, 0, SeekWhat::kHole).err(), EINVAL);
    EXPECT_EQ(fs_->dedupe_range(f.ino, 0, other, 0, 10).err(), EINVAL);
    EXPECT_EQ(fs_->copy_range(other, 0, f.ino, 0, 10).err(), EINVAL);
  }
}

TEST_F(HostDirFsSpace, AnUnknownInodeIsStale) {
  const InodeId nobody = 0x7fffffffffffULL;
  EXPECT_EQ(fs_->punch_hole(nobody, 0, 10).err(), ESTALE);
  EXPECT_EQ(fs_->seek(nobody, 0, SeekWhat::kData).err(), ESTALE);
  EXPECT_EQ(fs_->list_extents(nobody, 0, 10).err(), ESTALE);
}

TEST_F(HostDirFsSpace, SpaceChangesAdvanceTheChangeAttribute) {
  Attr f = file_with("f", blocks("abc"));
  uint64_t before = getattr(f.ino).change;
  ASSERT_TRUE(fs_->punch_hole(f.ino, 0, kBlock));
  uint64_t after_punch = getattr(f.ino).change;
  EXPECT_NE(after_punch, before);
  ASSERT_TRUE(fs_->collapse_range(f.ino, 0, kBlock));
  EXPECT_NE(getattr(f.ino).change, after_punch);
}

// --- reflink: clone, dedupe, unshare ------------------------------------------

TEST_F(HostDirFsSpace, CloneRangeSharesTheSourceBytes) {
  Attr src = file_with("src", blocks("st"));
  Attr dst = file_with("dst", blocks("dd"));
  auto st = fs_->clone_range(src.ino, kBlock, dst.ino, 0, kBlock);
  SKIP_IF_HOST_LACKS(st, "clone (FICLONERANGE)");
  ASSERT_TRUE(st) << std::strerror(st.err());
  EXPECT_EQ(read_all(dst.ino), blocks("td"));
  auto ext = fs_->list_extents(dst.ino, 0, kBlock);
  ASSERT_TRUE(ext);
  ASSERT_FALSE(ext->empty());
  EXPECT_TRUE(ext->front().shared);
}

TEST_F(HostDirFsSpace, CloneRangeOfLengthZeroClonesToTheEndOfTheSource) {
  Attr src = file_with("src", blocks("abc"));
  Attr dst = create(root(), "dst");
  auto st = fs_->clone_range(src.ino, kBlock, dst.ino, 0, 0);
  SKIP_IF_HOST_LACKS(st, "clone (FICLONERANGE)");
  ASSERT_TRUE(st) << std::strerror(st.err());
  EXPECT_EQ(read_all(dst.ino), blocks("bc"));
}

TEST_F(HostDirFsSpace, DedupeSharesIdenticalRanges) {
  Attr a = file_with("a", blocks("xy"));
  Attr b = file_with("b", blocks("yx"));
  auto n = fs_->dedupe_range(a.ino, kBlock, b.ino, 0, kBlock);
  SKIP_IF_HOST_LACKS(n, "dedupe (FIDEDUPERANGE)");
  ASSERT_TRUE(n) << std::strerror(n.err());
  EXPECT_EQ(*n, kBlock);
  EXPECT_EQ(read_all(b.ino), blocks("yx"));
  auto ext = fs_->list_extents(b.ino, 0, kBlock);
  ASSERT_TRUE(ext);
  ASSERT_FALSE(ext->empty());
  EXPECT_TRUE(ext->front().shared);
}

TEST_F(HostDirFsSpace, DedupeOfDifferentBytesIsEbadeAndChangesNothing) {
  Attr a = file_with("a", blocks("xy"));
  Attr b = file_with("b", blocks("zz"));
  auto n = fs_->dedupe_range(a.ino, 0, b.ino, 0, kBlock);
  SKIP_IF_HOST_LACKS(n, "dedupe (FIDEDUPERANGE)");
  EXPECT_EQ(n.err(), EBADE);
  EXPECT_EQ(read_all(b.ino), blocks("zz"));
}

TEST_F(HostDirFsSpace, DedupeOfLengthZeroDoesNothing) {
  Attr a = file_with("a", blocks("x"));
  Attr b = file_with("b", blocks("y"));
  auto n = fs_->dedupe_range(a.ino, 0, b.ino, 0, 0);
  ASSERT_TRUE(n) << std::strerror(n.err());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(read_all(b.ino), blocks("y"));
}

TEST_F(HostDirFsSpace, UnshareGivesAClonedRangePrivateBlocks) {
  Attr f = file_with("f", blocks("ab"));
  auto st = fs_->unshare(f.ino, 0, 2 * kBlock);
  SKIP_IF_HOST_LACKS(st, "unshare (FALLOC_FL_UNSHARE_RANGE)");
  ASSERT_TRUE(st) << std::strerror(st.err());
  Attr g = create(root(), "g");
  auto cl = fs_->clone_range(f.ino, 0, g.ino, 0, 0);
  SKIP_IF_HOST_LACKS(cl, "clone (FICLONERANGE)");
  ASSERT_TRUE(cl) << std::strerror(cl.err());
  ASSERT_TRUE(fs_->unshare(g.ino, 0, 2 * kBlock));
  auto ext = fs_->list_extents(g.ino, 0, 2 * kBlock);
  ASSERT_TRUE(ext);
  for (const FileExtent& e : *ext) EXPECT_FALSE(e.shared) << e.offset;
  EXPECT_EQ(read_all(g.ino), blocks("ab"));
  EXPECT_EQ(getattr(g.ino).size, 2 * kBlock);  // KEEP_SIZE
}

// --- copy -------------------------------------------------------------------------

TEST_F(HostDirFsSpace, CopyRangeCopiesBytesUpToTheEndOfTheSource) {
  Attr src = file_with("src", "0123456789");
  Attr dst = file_with("dst", "__________");
  auto n = fs_->copy_range(src.ino, 2, dst.ino, 4, 3);
  ASSERT_TRUE(n) << std::strerror(n.err());
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(read_all(dst.ino), "____234___");
  n = fs_->copy_range(src.ino, 8, dst.ino, 0, 100);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(read_all(dst.ino), "89__234___");
}

TEST_F(HostDirFsSpace, CopyRangeOfNothingCopiesNothing) {
  Attr src = file_with("src", "0123456789");
  Attr dst = file_with("dst", "__");
  auto n = fs_->copy_range(src.ino, 0, dst.ino, 0, 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  n = fs_->copy_range(src.ino, 10, dst.ino, 0, 5);  // at end of src
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(read_all(dst.ino), "__");
}

TEST_F(HostDirFsSpace, CopyRangeGrowsTheDestination) {
  Attr src = file_with("src", blocks("ab"));
  Attr dst = create(root(), "dst");
  auto n = fs_->copy_range(src.ino, 0, dst.ino, 3 * kBlock, 2 * kBlock);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2 * kBlock);
  EXPECT_EQ(read_all(dst.ino), std::string(3 * kBlock, '\0') + blocks("ab"));
}

TEST_F(HostDirFsSpace, CopyRangeWithinOneFileRefusesOverlap) {
  Attr f = file_with("f", blocks("abcd"));
  EXPECT_EQ(fs_->copy_range(f.ino, 0, f.ino, kBlock, 2 * kBlock).err(), EINVAL);
  auto n = fs_->copy_range(f.ino, 0, f.ino, 2 * kBlock, 2 * kBlock);
  ASSERT_TRUE(n) << std::strerror(n.err());
  EXPECT_EQ(read_all(f.ino), blocks("abab"));
}

// --- seek -------------------------------------------------------------------------

TEST_F(HostDirFsSpace, SeekFindsDataAndHolesInASparseFile) {
  Attr f = create(root(), "f");
  const uint64_t data_at = 1 << 20;
  ASSERT_TRUE(fs_->write(f.ino, data_at, as_bytes(std::string(kBlock, 'd'))));
  ASSERT_TRUE(fs_->write(f.ino, 4 << 20, as_bytes("e")));
  auto data = fs_->seek(f.ino, 0, SeekWhat::kData);
  ASSERT_TRUE(data) << std::strerror(data.err());
  EXPECT_EQ(*data, data_at);
  auto hole = fs_->seek(f.ino, 0, SeekWhat::kHole);
  ASSERT_TRUE(hole);
  EXPECT_EQ(*hole, 0u);
  hole = fs_->seek(f.ino, data_at, SeekWhat::kHole);
  ASSERT_TRUE(hole);
  EXPECT_EQ(*hole, data_at + kBlock);
}

TEST_F(HostDirFsSpace, SeekAtOrPastEndOfFileIsEnxio) {
  Attr f = file_with("f", "12345");
  EXPECT_EQ(fs_->seek(f.ino, 5, SeekWhat::kData).err(), ENXIO);
  EXPECT_EQ(fs_->seek(f.ino, 5, SeekWhat::kHole).err(), ENXIO);
  EXPECT_EQ(fs_->seek(f.ino, UINT64_MAX, SeekWhat::kData).err(), ENXIO);
  Attr empty = create(root(), "empty");
  EXPECT_EQ(fs_->seek(empty.ino, 0, SeekWhat::kData).err(), ENXIO);
}

TEST_F(HostDirFsSpace, TheEndOfAFileCountsAsAHole) {
  Attr f = file_with("f", "12345");
  auto hole = fs_->seek(f.ino, 1, SeekWhat::kHole);
  ASSERT_TRUE(hole);
  EXPECT_EQ(*hole, 5u);
}

// --- extents ----------------------------------------------------------------------

TEST_F(HostDirFsSpace, ListExtentsShowsTheMappedRangesInFileOrder) {
  Attr f = create(root(), "f");
  ASSERT_TRUE(fs_->write(f.ino, 0, as_bytes(blocks("a"))));
  ASSERT_TRUE(fs_->write(f.ino, 1 << 20, as_bytes(blocks("bc"))));
  auto ext = fs_->list_extents(f.ino, 0, UINT64_MAX);
  SKIP_IF_HOST_LACKS(ext, "FIEMAP");
  ASSERT_TRUE(ext) << std::strerror(ext.err());
  ASSERT_EQ(ext->size(), 2u);
  EXPECT_EQ((*ext)[0].offset, 0u);
  EXPECT_EQ((*ext)[0].length, kBlock);
  EXPECT_EQ((*ext)[1].offset, 1u << 20);
  EXPECT_EQ((*ext)[1].length, 2 * kBlock);
  for (const FileExtent& e : *ext) {
    EXPECT_FALSE(e.unwritten);
    EXPECT_FALSE(e.shared);
    EXPECT_NE(e.physical, 0u);
  }
}

TEST_F(HostDirFsSpace, ListExtentsReturnsOnlyExtentsOverlappingTheRange) {
  Attr f = create(root(), "f");
  ASSERT_TRUE(fs_->write(f.ino, 0, as_bytes(blocks("a"))));
  ASSERT_TRUE(fs_->write(f.ino, 1 << 20, as_bytes(blocks("b"))));
  auto ext = fs_->list_extents(f.ino, 512 << 10, 1 << 20);
  SKIP_IF_HOST_LACKS(ext, "FIEMAP");
  ASSERT_TRUE(ext) << std::strerror(ext.err());
  ASSERT_EQ(ext->size(), 1u);
  EXPECT_EQ((*ext)[0].offset, 1u << 20);
  auto none = fs_->list_extents(f.ino, 8 << 20, 4096);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(HostDirFsSpace, AllocatedButUnwrittenSpaceIsFlaggedUnwritten) {
  Attr f = create(root(), "f");
  ASSERT_TRUE(fs_->allocate(f.ino, 0, 4 * kBlock));
  auto ext = fs_->list_extents(f.ino, 0, UINT64_MAX);
  SKIP_IF_HOST_LACKS(ext, "FIEMAP");
  ASSERT_TRUE(ext) << std::strerror(ext.err());
  ASSERT_FALSE(ext->empty());
  EXPECT_TRUE(ext->front().unwritten);
}

TEST_F(HostDirFsSpace, ListExtentsOfAnEmptyFileOrAnEmptyRange) {
  Attr f = create(root(), "f");
  auto ext = fs_->list_extents(f.ino, 0, UINT64_MAX);
  SKIP_IF_HOST_LACKS(ext, "FIEMAP");
  ASSERT_TRUE(ext) << std::strerror(ext.err());
  EXPECT_TRUE(ext->empty());
  EXPECT_EQ(fs_->list_extents(f.ino, 0, 0).err(), EINVAL);
  auto far = fs_->list_extents(f.ino, UINT64_MAX, 10);
  ASSERT_TRUE(far);
  EXPECT_TRUE(far->empty());
}

TEST_F(HostDirFsSpace, ListExtentsFollowsAFileWithManyExtents) {
  // More extents than one FIEMAP batch (128): every other block written.
  Attr f = create(root(), "f");
  constexpr int kCount = 300;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(fs_->write(f.ino, 2 * kBlock * i, as_bytes(blocks("z"))));
  }
  auto ext = fs_->list_extents(f.ino, 0, UINT64_MAX);
  SKIP_IF_HOST_LACKS(ext, "FIEMAP");
  ASSERT_TRUE(ext) << std::strerror(ext.err());
  // In order, without overlap or repeats across batches. xfs may map the
  // gaps as preallocated (unwritten) space; the written blocks are exact.
  std::vector<uint64_t> written;
  for (size_t i = 0; i < ext->size(); ++i) {
    const FileExtent& e = (*ext)[i];
    if (i > 0) EXPECT_GE(e.offset, (*ext)[i - 1].offset + (*ext)[i - 1].length);
    if (!e.unwritten) written.push_back(e.offset);
  }
  ASSERT_EQ(written.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(written[i], 2 * kBlock * i);
}

}  // namespace
}  // namespace pnfsgw::backend::testing
