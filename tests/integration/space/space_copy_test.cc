// COPY and CLONE (RFC 7862 15.2, 15.13): SAVED_FH is the source, CURRENT_FH
// the destination; contents, sizes and attributes as a client sees them.
#include "tests/integration/space/space_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

class CopyTest : public SpaceTest {
 protected:
  CopyArgs args(const OpenResult& src, const OpenResult& dst, uint64_t src_off, uint64_t dst_off,
                uint64_t count) {
    CopyArgs a;
    a.src_stateid = src.stateid;
    a.dst_stateid = dst.stateid;
    a.src_offset = src_off;
    a.dst_offset = dst_off;
    a.count = count;
    return a;
  }
};
class CloneTest : public SpaceTest {};

TEST_F(CopyTest, CopiesARangeIntoAnotherFileSynchronously) {
  OpenResult src = open_new("copy-src");
  OpenResult dst = open_new("copy-dst");
  std::string s = pattern(300 * kKiB, 11);
  std::string d = pattern(100 * kKiB, 12);
  write_at(src, 0, s);
  write_at(dst, 0, d);
  auto r = c42_->copy(src.fh, dst.fh, args(src, dst, 10000, 5000, 200000));
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(r->count, 200000u);
  EXPECT_FALSE(r->callback_id) << "a synchronous copy has no callback id";
  EXPECT_TRUE(r->synchronous);
  EXPECT_TRUE(r->consecutive);
  EXPECT_LE(r->committed, FILE_SYNC4);
  std::string want = d;
  want.resize(205000);
  want.replace(5000, 200000, s.substr(10000, 200000));
  EXPECT_EQ(read_file(dst.fh), want);
  EXPECT_EQ(read_file(src.fh), s) << "the source must not change";
  // The verifier is the one COMMIT gives (RFC 7862 15.2.3 wr_writeverf).
  auto v = c42_->commit(dst.fh);
  ASSERT_TRUE(v) << err_name(v.err());
  EXPECT_EQ(r->verf, *v);
}

TEST_F(CopyTest, CountZeroCopiesToTheEndOfTheSource) {
  OpenResult src = open_new("copy0-src");
  OpenResult dst = open_new("copy0-dst");
  std::string s = pattern(150000, 13);
  write_at(src, 0, s);
  auto r = c42_->copy(src.fh, dst.fh, args(src, dst, 1000, 0, 0));
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(r->count, s.size() - 1000);
  EXPECT_EQ(read_file(dst.fh), s.substr(1000));
}

TEST_F(CopyTest, PastTheDestinationsEndExtendsItWithAHoleBefore) {
  OpenResult src = open_new("copyx-src");
  OpenResult dst = open_new("copyx-dst");
  write_at(src, 0, "0123456789");
  auto r = c42_->copy(src.fh, dst.fh, args(src, dst, 0, 1 << 20, 10));
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(attrs(dst.fh).size, (1u << 20) + 10);
  std::string want(1 << 20, '\0');
  want += "0123456789";
  EXPECT_EQ(read_file(dst.fh), want);
}

TEST_F(CopyTest, WithinOneFileCopiesBetweenDisjointRanges) {
  OpenResult f = open_new("copy-self");
  std::string s = pattern(200 * kKiB, 14);
  write_at(f, 0, s);
  auto r = c42_->copy(f.fh, f.fh, args(f, f, 0, 100 * kKiB, 100 * kKiB));
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(read_file(f.fh), s.substr(0, 100 * kKiB) + s.substr(0, 100 * kKiB));
}

TEST_F(CopyTest, AnAsynchronousRequestIsAnsweredSynchronously) {
  OpenResult src = open_new("copy-async-src");
  OpenResult dst = open_new("copy-async-dst");
  write_at(src, 0, "payload");
  CopyArgs a = args(src, dst, 0, 0, 7);
  a.synchronous = false;
  a.consecutive = true;
  auto r = c42_->copy(src.fh, dst.fh, a);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_TRUE(r->synchronous);
  EXPECT_FALSE(r->callback_id);
  EXPECT_EQ(r->count, 7u);
  EXPECT_EQ(read_file(dst.fh), "payload");
}

TEST_F(CopyTest, AnonymousStateidsWorkWithFilePermissions) {
  Fh src = make_file(root_, "copy-anon-src", "anonymous");
  Fh dst = make_file(root_, "copy-anon-dst", "");
  CopyArgs a;
  a.count = 9;
  auto r = c42_->copy(src, dst, a);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(read_file(dst), "anonymous");
}

TEST_F(CopyTest, ChangesTheDestinationsChangeAttributeAndMtime) {
  OpenResult src = open_new("copy-chg-src");
  OpenResult dst = open_new("copy-chg-dst");
  write_at(src, 0, pattern(5000, 15));
  Fattr before = attrs(dst.fh);
  Fattr src_before = attrs(src.fh);
  tick();
  ASSERT_TRUE(c42_->copy(src.fh, dst.fh, args(src, dst, 0, 0, 5000)));
  Fattr after = attrs(dst.fh);
  EXPECT_NE(after.change, before.change);
  ASSERT_TRUE(before.time_modify && after.time_modify);
  EXPECT_NE(*after.time_modify, *before.time_modify);
  EXPECT_EQ(attrs(src.fh).change, src_before.change) << "reading the source changes nothing";
}

TEST_F(CopyTest, ReadOnlyAndWriteOnlyOpensAreEnoughForSourceAndDestination) {
  Fh src = make_file(root_, "copy-modes-src", "modes");
  Fh dst = make_file(root_, "copy-modes-dst", "");
  OpenResult rd = open_existing(src, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE, "reader");
  OpenResult wr = open_existing(dst, OPEN4_SHARE_ACCESS_WRITE, OPEN4_SHARE_DENY_NONE, "writer");
  auto r = c42_->copy(src, dst, args(rd, wr, 0, 0, 5));
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(read_file(dst), "modes");
}

// ---- CLONE ----

TEST_F(CloneTest, WholeFileCloneHasTheSameContents) {
  OpenResult src = open_new("clone-src");
  OpenResult dst = open_new("clone-dst");
  std::string s = pattern(256 * kKiB, 21);
  write_at(src, 0, s);
  ASSERT_OK(c42_->clone(src.fh, src.stateid, dst.fh, dst.stateid, 0, 0, 0));
  EXPECT_EQ(read_file(dst.fh), s);
  EXPECT_EQ(attrs(dst.fh).size, s.size());
  // The clone is a copy as far as anyone can tell: writing one leaves the other.
  write_at(dst, 0, "changed");
  EXPECT_EQ(read_file(src.fh), s);
}

TEST_F(CloneTest, AlignedRangeLandsAtTheDestinationOffset) {
  OpenResult src = open_new("clone-range-src");
  OpenResult dst = open_new("clone-range-dst");
  std::string s = pattern(256 * kKiB, 22);
  std::string d = pattern(256 * kKiB, 23);
  write_at(src, 0, s);
  write_at(dst, 0, d);
  ASSERT_OK(
      c42_->clone(src.fh, src.stateid, dst.fh, dst.stateid, 64 * kKiB, 128 * kKiB, 64 * kKiB));
  std::string want = d;
  want.replace(128 * kKiB, 64 * kKiB, s.substr(64 * kKiB, 64 * kKiB));
  EXPECT_EQ(read_file(dst.fh), want);
}

TEST_F(CloneTest, PastTheDestinationsEndExtendsIt) {
  OpenResult src = open_new("clone-ext-src");
  OpenResult dst = open_new("clone-ext-dst");
  std::string s = pattern(64 * kKiB, 24);
  write_at(src, 0, s);
  ASSERT_OK(c42_->clone(src.fh, src.stateid, dst.fh, dst.stateid, 0, 128 * kKiB, 64 * kKiB));
  EXPECT_EQ(attrs(dst.fh).size, 192 * kKiB);
  EXPECT_EQ(read_file(dst.fh), std::string(128 * kKiB, '\0') + s);
}

TEST_F(CloneTest, ChangesTheDestinationsChangeAttribute) {
  OpenResult src = open_new("clone-chg-src");
  OpenResult dst = open_new("clone-chg-dst");
  write_at(src, 0, pattern(64 * kKiB, 25));
  Fattr before = attrs(dst.fh);
  tick();
  ASSERT_OK(c42_->clone(src.fh, src.stateid, dst.fh, dst.stateid, 0, 0, 0));
  Fattr after = attrs(dst.fh);
  EXPECT_NE(after.change, before.change);
  ASSERT_TRUE(before.time_modify && after.time_modify);
  EXPECT_NE(*after.time_modify, *before.time_modify);
}

}  // namespace
}  // namespace pnfsgw::client::test
