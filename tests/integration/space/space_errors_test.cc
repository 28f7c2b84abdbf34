// The errors of the NFSv4.2 space operations: minor version gating, file
// types, stateids and share modes, byte ranges (RFC 7862 15.1-15.13; the
// READ/WRITE rules of RFC 8881 18.22.3 and 18.32.3 they borrow), and the
// 4.2 operations this server does not offer.
#include "tests/integration/space/space_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

class SpaceErrorsTest : public SpaceTest {
 protected:
  // A stateid of this server instance that it never handed out: a real
  // one's boot id with a counter far ahead (a stateid of another boot id is
  // NFS4ERR_STALE_STATEID instead).
  Stateid bogus() {
    if (!known_) known_ = open_new("bogus-source").stateid;
    Stateid s = *known_;
    std::fill(s.other.begin() + 4, s.other.end(), 0x5a);
    return s;
  }
  std::optional<Stateid> known_;
};

TEST_F(SpaceErrorsTest, SpaceOpsAreIllegalInMinorVersionOne) {
  Fh fh = make_file(root_, "v41", "data");
  // client_ is an NFSv4.1 client. An op its minor version does not have is
  // answered by ILLEGAL4res (RFC 8881 18.54): that version has no result
  // arm for it.
  const uint32_t v42_ops[] = {OP_ALLOCATE,       OP_COPY,        OP_COPY_NOTIFY, OP_DEALLOCATE,
                              OP_IO_ADVISE,      OP_LAYOUTERROR, OP_LAYOUTSTATS, OP_OFFLOAD_CANCEL,
                              OP_OFFLOAD_STATUS, OP_READ_PLUS,   OP_SEEK,        OP_WRITE_SAME,
                              OP_CLONE};
  for (uint32_t op : v42_ops) {
    CompoundBuilder b;
    b.putfh(fh).raw_op(op, {});
    auto r = client_->compound(b);
    ASSERT_TRUE(r) << op << ": " << err_name(r.err());
    EXPECT_EQ(r->status(), NFS4ERR_OP_ILLEGAL) << op;
    ASSERT_EQ(r->size(), 3u) << op;
    EXPECT_EQ(r->at(2).op, OP_ILLEGAL) << op;
  }
  EXPECT_NFS_ERR(client_->allocate(fh, Stateid::anonymous(), 0, 4096), NFS4ERR_OP_ILLEGAL);
  EXPECT_NFS_ERR(client_->seek(fh, Stateid::anonymous(), 0, NFS4_CONTENT_HOLE), NFS4ERR_OP_ILLEGAL);
}

TEST_F(SpaceErrorsTest, OpsThisServerDoesNotOfferAreNotsupp) {
  Fh fh = make_file(root_, "notsupp", "data");
  // COPY_NOTIFY (inter-server copy source), IO_ADVISE, WRITE_SAME and the
  // layout reports answer NOTSUPP before reading their arguments.
  for (uint32_t op :
       {OP_COPY_NOTIFY, OP_IO_ADVISE, OP_WRITE_SAME, OP_LAYOUTERROR, OP_LAYOUTSTATS}) {
    CompoundBuilder b;
    b.putfh(fh).raw_op(op, {});
    auto r = c42_->compound(b);
    ASSERT_TRUE(r) << op << ": " << err_name(r.err());
    EXPECT_EQ(r->status(), NFS4ERR_NOTSUPP) << op;
    EXPECT_EQ(r->at(r->size() - 1).op, op);
  }
}

TEST_F(SpaceErrorsTest, OffloadStatusAndCancelKnowNoStateid) {
  // Every COPY is synchronous, so no offload stateid exists.
  Fh fh = make_file(root_, "offload", "data");
  CompoundBuilder b;
  b.putfh(fh).offload_status(bogus());
  auto r = c42_->compound(b);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(r->status(), NFS4ERR_BAD_STATEID);
  CompoundBuilder c;
  c.putfh(fh).offload_cancel(bogus());
  r = c42_->compound(c);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(r->status(), NFS4ERR_BAD_STATEID);
}

TEST_F(SpaceErrorsTest, WithoutAFilehandleIsNofilehandle) {
  CompoundBuilder b;
  b.allocate(Stateid::anonymous(), 0, 10);
  auto r = c42_->compound(b);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status(), NFS4ERR_NOFILEHANDLE);
  // COPY and CLONE need a saved filehandle too.
  Fh fh = make_file(root_, "nosaved", "data");
  CompoundBuilder c;
  c.putfh(fh).clone(Stateid::anonymous(), Stateid::anonymous(), 0, 0, 0);
  r = c42_->compound(c);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status(), NFS4ERR_NOFILEHANDLE);
  CompoundBuilder d;
  CopyArgs a;
  d.putfh(fh).copy(a);
  r = c42_->compound(d);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status(), NFS4ERR_NOFILEHANDLE);
}

TEST_F(SpaceErrorsTest, OneFileOpsOnADirectoryAreIsdirOnASymlinkSymlink) {
  auto dir = client_->mkdir(root_, "adir");
  ASSERT_TRUE(dir) << err_name(dir.err());
  auto link = client_->symlink(root_, "alink", "target");
  ASSERT_TRUE(link) << err_name(link.err());
  const Stateid anon = Stateid::anonymous();
  EXPECT_NFS_ERR(c42_->allocate(*dir, anon, 0, 10), NFS4ERR_ISDIR);
  EXPECT_NFS_ERR(c42_->deallocate(*dir, anon, 0, 10), NFS4ERR_ISDIR);
  EXPECT_NFS_ERR(c42_->seek(*dir, anon, 0, NFS4_CONTENT_DATA), NFS4ERR_ISDIR);
  EXPECT_NFS_ERR(c42_->read_plus(*dir, anon, 0, 10), NFS4ERR_ISDIR);
  EXPECT_NFS_ERR(c42_->allocate(*link, anon, 0, 10), NFS4ERR_SYMLINK);
  EXPECT_NFS_ERR(c42_->read_plus(*link, anon, 0, 10), NFS4ERR_SYMLINK);
}

TEST_F(SpaceErrorsTest, CopyAndCloneOfANonRegularFileAreWrongType) {
  auto dir = client_->mkdir(root_, "cdir");
  ASSERT_TRUE(dir) << err_name(dir.err());
  Fh file = make_file(root_, "cfile", "data");
  const Stateid anon = Stateid::anonymous();
  CopyArgs a;
  a.count = 4;
  EXPECT_NFS_ERR(c42_->copy(*dir, file, a), NFS4ERR_WRONG_TYPE);
  EXPECT_NFS_ERR(c42_->copy(file, *dir, a), NFS4ERR_WRONG_TYPE);
  EXPECT_NFS_ERR(c42_->clone(*dir, anon, file, anon, 0, 0, 0), NFS4ERR_WRONG_TYPE);
  EXPECT_NFS_ERR(c42_->clone(file, anon, *dir, anon, 0, 0, 0), NFS4ERR_WRONG_TYPE);
}

TEST_F(SpaceErrorsTest, AnUnknownStateidIsBadStateid) {
  OpenResult f = open_new("badsid");
  write_at(f, 0, "data");
  EXPECT_NFS_ERR(c42_->allocate(f.fh, bogus(), 0, 10), NFS4ERR_BAD_STATEID);
  EXPECT_NFS_ERR(c42_->deallocate(f.fh, bogus(), 0, 10), NFS4ERR_BAD_STATEID);
  EXPECT_NFS_ERR(c42_->seek(f.fh, bogus(), 0, NFS4_CONTENT_DATA), NFS4ERR_BAD_STATEID);
  EXPECT_NFS_ERR(c42_->read_plus(f.fh, bogus(), 0, 10), NFS4ERR_BAD_STATEID);
  CopyArgs a;
  a.src_stateid = bogus();
  a.dst_stateid = f.stateid;
  EXPECT_NFS_ERR(c42_->copy(f.fh, f.fh, a), NFS4ERR_BAD_STATEID);
  EXPECT_NFS_ERR(c42_->clone(f.fh, f.stateid, f.fh, bogus(), 0, 0, 0), NFS4ERR_BAD_STATEID);
}

TEST_F(SpaceErrorsTest, AStateidOfAnotherFileIsBadStateid) {
  OpenResult a = open_new("sid-a");
  OpenResult b = open_new("sid-b");
  write_at(a, 0, "data");
  EXPECT_NFS_ERR(c42_->allocate(a.fh, b.stateid, 0, 10), NFS4ERR_BAD_STATEID);
  CopyArgs args;
  args.src_stateid = b.stateid;  // not the source's
  args.dst_stateid = b.stateid;
  EXPECT_NFS_ERR(c42_->copy(a.fh, b.fh, args), NFS4ERR_BAD_STATEID);
}

TEST_F(SpaceErrorsTest, AReadOnlyOpenCannotChangeTheFile) {
  Fh fh = make_file(root_, "rdonly", pattern(8192, 31));
  OpenResult rd = open_existing(fh, OPEN4_SHARE_ACCESS_READ);
  EXPECT_NFS_ERR(c42_->allocate(fh, rd.stateid, 0, 65536), NFS4ERR_OPENMODE);
  EXPECT_NFS_ERR(c42_->deallocate(fh, rd.stateid, 0, 4096), NFS4ERR_OPENMODE);
  Fh src = make_file(root_, "rdonly-src", "data");
  OpenResult src_rd = open_existing(src, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE, "o2");
  CopyArgs a;
  a.src_stateid = src_rd.stateid;
  a.dst_stateid = rd.stateid;  // read-only open of the destination
  a.count = 4;
  EXPECT_NFS_ERR(c42_->copy(src, fh, a), NFS4ERR_OPENMODE);
  EXPECT_NFS_ERR(c42_->clone(src, src_rd.stateid, fh, rd.stateid, 0, 0, 0), NFS4ERR_OPENMODE);
  // Reading through it is fine.
  EXPECT_OK(c42_->seek(fh, rd.stateid, 0, NFS4_CONTENT_HOLE));
  EXPECT_EQ(read_file(fh), pattern(8192, 31)) << "nothing may have changed";
}

TEST_F(SpaceErrorsTest, ADenyWriteShareStopsAnonymousChanges) {
  Fh fh = make_file(root_, "denied", "data");
  OpenResult holder = open_existing(fh, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_WRITE);
  (void)holder;
  EXPECT_NFS_ERR(c42_->allocate(fh, Stateid::anonymous(), 0, 4096), NFS4ERR_LOCKED);
  EXPECT_NFS_ERR(c42_->deallocate(fh, Stateid::anonymous(), 0, 4096), NFS4ERR_LOCKED);
  EXPECT_EQ(attrs(fh).size, 4u);
}

TEST_F(SpaceErrorsTest, WithoutWritePermissionAnonymousChangesAreAccess) {
  Fh fh = make_file(root_, "perm", "data", 0444);
  Nfs4ClientOptions o;
  o.minorversion = 2;
  o.uid = 4242;
  o.gid = 4242;
  auto other = new_client("uid4242", o);
  ASSERT_TRUE(other);
  EXPECT_NFS_ERR(other->allocate(fh, Stateid::anonymous(), 0, 4096), NFS4ERR_ACCESS);
  EXPECT_NFS_ERR(other->deallocate(fh, Stateid::anonymous(), 0, 4), NFS4ERR_ACCESS);
  CopyArgs a;
  a.count = 4;
  EXPECT_NFS_ERR(other->copy(fh, fh, a), NFS4ERR_ACCESS);  // dst not writable
  EXPECT_OK(other->seek(fh, Stateid::anonymous(), 0, NFS4_CONTENT_HOLE));
  other->shutdown();
}

TEST_F(SpaceErrorsTest, BadRangesAreInval) {
  OpenResult f = open_new("ranges");
  write_at(f, 0, pattern(100, 32));
  // Zero length and ranges that wrap or pass the largest file offset.
  EXPECT_NFS_ERR(c42_->allocate(f.fh, f.stateid, 0, 0), NFS4ERR_INVAL);
  EXPECT_NFS_ERR(c42_->deallocate(f.fh, f.stateid, 0, 0), NFS4ERR_INVAL);
  EXPECT_NFS_ERR(c42_->allocate(f.fh, f.stateid, UINT64_MAX - 10, 100), NFS4ERR_INVAL);
  EXPECT_NFS_ERR(c42_->deallocate(f.fh, f.stateid, 100, UINT64_MAX), NFS4ERR_INVAL);
  EXPECT_NFS_ERR(c42_->allocate(f.fh, f.stateid, INT64_MAX, 1), NFS4ERR_INVAL);
  EXPECT_EQ(attrs(f.fh).size, 100u);
}

TEST_F(SpaceErrorsTest, CopyRangesOutsideTheSourceAreInval) {
  OpenResult src = open_new("crange-src");
  OpenResult dst = open_new("crange-dst");
  write_at(src, 0, pattern(1000, 33));
  CopyArgs a;
  a.src_stateid = src.stateid;
  a.dst_stateid = dst.stateid;
  // RFC 7862 15.2.3: source offset, or offset + count, past the source's end.
  a.src_offset = 1001;
  EXPECT_NFS_ERR(c42_->copy(src.fh, dst.fh, a), NFS4ERR_INVAL);
  a.src_offset = 500;
  a.count = 501;
  EXPECT_NFS_ERR(c42_->copy(src.fh, dst.fh, a), NFS4ERR_INVAL);
  a.count = UINT64_MAX;
  EXPECT_NFS_ERR(c42_->copy(src.fh, dst.fh, a), NFS4ERR_INVAL);
  // The destination range must not wrap around.
  a.count = 100;
  a.dst_offset = UINT64_MAX - 50;
  EXPECT_NFS_ERR(c42_->copy(src.fh, dst.fh, a), NFS4ERR_INVAL);
  // Overlapping ranges within one file.
  a.dst_stateid = src.stateid;
  a.src_offset = 0;
  a.dst_offset = 50;
  EXPECT_NFS_ERR(c42_->copy(src.fh, src.fh, a), NFS4ERR_INVAL);
  // Copying nothing from the very end is fine.
  a.dst_stateid = dst.stateid;
  a.src_offset = 1000;
  a.dst_offset = 0;
  a.count = 0;
  auto r = c42_->copy(src.fh, dst.fh, a);
  ASSERT_TRUE(r) << err_name(r.err());
  EXPECT_EQ(r->count, 0u);
  EXPECT_EQ(attrs(dst.fh).size, 0u);
}

TEST_F(SpaceErrorsTest, CloneRangesOutsideTheSourceAreInval) {
  OpenResult src = open_new("clrange-src");
  OpenResult dst = open_new("clrange-dst");
  write_at(src, 0, pattern(128 * kKiB, 34));
  EXPECT_NFS_ERR(c42_->clone(src.fh, src.stateid, dst.fh, dst.stateid, 192 * kKiB, 0, 0),
                 NFS4ERR_INVAL);
  EXPECT_NFS_ERR(c42_->clone(src.fh, src.stateid, dst.fh, dst.stateid, 64 * kKiB, 0, 128 * kKiB),
                 NFS4ERR_INVAL);
  EXPECT_NFS_ERR(
      c42_->clone(src.fh, src.stateid, dst.fh, dst.stateid, 0, UINT64_MAX - 4095, 64 * kKiB),
      NFS4ERR_INVAL);
  EXPECT_NFS_ERR(c42_->clone(src.fh, src.stateid, src.fh, src.stateid, 0, 64 * kKiB, 128 * kKiB),
                 NFS4ERR_INVAL);
}

TEST_F(SpaceErrorsTest, InterServerCopyIsNotsupp) {
  OpenResult src = open_new("inter-src");
  OpenResult dst = open_new("inter-dst");
  write_at(src, 0, "data");
  CopyArgs a;
  a.src_stateid = src.stateid;
  a.dst_stateid = dst.stateid;
  a.count = 4;
  a.source_servers = {"other.example.net"};
  EXPECT_NFS_ERR(c42_->copy(src.fh, dst.fh, a), NFS4ERR_NOTSUPP);
  EXPECT_EQ(attrs(dst.fh).size, 0u);
}

}  // namespace
}  // namespace pnfsgw::client::test
