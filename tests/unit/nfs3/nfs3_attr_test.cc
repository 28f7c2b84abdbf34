// Dispatch, handles, GETATTR, SETATTR, LOOKUP, ACCESS, READLINK, FSSTAT,
// FSINFO, PATHCONF.
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/nfs3/nfs3_test_util.h"

namespace pnfsgw::nfs3::testing {
namespace {

using Nfs3AttrTest = Nfs3ProcTest;

uint32_t status(const Reply& r) { return r.dec().u32(); }

TEST_F(Nfs3AttrTest, GetattrOfTheRootIsADirectoryWithExportFsidAndInodeFileid) {
  Fattr3 a = getattr(root_fh_);
  EXPECT_EQ(a.type, NF3DIR);
  EXPECT_EQ(a.fsid, kExportId);
  EXPECT_EQ(a.fileid, root());
}

TEST_F(Nfs3AttrTest, TruncatedArgumentsAreGarbage) {
  xdr::XdrEncoder a;
  a.u32(40);  // a 40-byte handle with no bytes behind it
  EXPECT_EQ(call(NFSPROC3_GETATTR, a).stat, rpc::GARBAGE_ARGS);
}

TEST_F(Nfs3AttrTest, ProcedureBeyondCommitIsUnavailable) {
  xdr::XdrEncoder a;
  EXPECT_EQ(call(22, a).stat, rpc::PROC_UNAVAIL);
}

TEST_F(Nfs3AttrTest, NullProcedureAnswersNothing) {
  xdr::XdrEncoder a;
  Reply r = call(NFSPROC3_NULL, a);
  EXPECT_EQ(r.stat, rpc::SUCCESS);
  EXPECT_TRUE(r.bytes.empty());
}

TEST_F(Nfs3AttrTest, ForgedHandleIsBadhandle) {
  Fh forged = root_fh_;
  forged[forged.size() / 2] ^= 1;
  xdr::XdrEncoder a;
  put_fh(a, forged);
  EXPECT_EQ(status(call(NFSPROC3_GETATTR, a)), NFS3ERR_BADHANDLE);
  xdr::XdrEncoder e;
  put_fh(e, Fh{});
  EXPECT_EQ(status(call(NFSPROC3_GETATTR, e)), NFS3ERR_BADHANDLE);
}

TEST_F(Nfs3AttrTest, HandleOfARemovedFileIsStale) {
  Fh f = create(root_fh_, "gone");
  ASSERT_EQ(::unlink(host_path("gone").c_str()), 0);
  xdr::XdrEncoder a;
  put_fh(a, f);
  EXPECT_EQ(status(call(NFSPROC3_GETATTR, a)), NFS3ERR_STALE);
}

TEST_F(Nfs3AttrTest, V3HandlesAreTheV4HandleBytesAndFitIn64) {
  EXPECT_LE(root_fh_.size(), NFS3_FHSIZE);
  Fh f = create(root_fh_, "same");
  auto a = fs_->lookup(root(), "same");
  ASSERT_TRUE(a);
  EXPECT_EQ(f, fh_of(a->ino));
}

TEST_F(Nfs3AttrTest, LookupFindsAFileAndReturnsBothAttributes) {
  Fh f = create(root_fh_, "x", 0600);
  xdr::XdrEncoder a;
  put_dirop(a, root_fh_, "x");
  Reply r = call(NFSPROC3_LOOKUP, a);
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  EXPECT_EQ(get_fh(d), f);
  auto obj = get_post_op(d);
  auto dir = get_post_op(d);
  ASSERT_TRUE(obj && dir);
  EXPECT_EQ(obj->type, NF3REG);
  EXPECT_EQ(obj->mode, 0600u);
  EXPECT_EQ(dir->fileid, root());
  EXPECT_TRUE(d.ok() && d.remaining() == 0);
}

TEST_F(Nfs3AttrTest, LookupOfAMissingNameIsNoentWithDirectoryAttributes) {
  xdr::XdrEncoder a;
  put_dirop(a, root_fh_, "missing");
  Reply r = call(NFSPROC3_LOOKUP, a);
  auto d = r.dec();
  EXPECT_EQ(d.u32(), NFS3ERR_NOENT);
  auto dir = get_post_op(d);
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->fileid, root());
  EXPECT_EQ(d.remaining(), 0u);
}

TEST_F(Nfs3AttrTest, LookupOfDotAndDotDot) {
  mkdir(root(), "sub");
  Fh sub = lookup(root_fh_, "sub");
  EXPECT_EQ(lookup(sub, "."), sub);
  EXPECT_EQ(lookup(sub, ".."), root_fh_);
  EXPECT_EQ(lookup(root_fh_, ".."), root_fh_);  // nothing above the export
}

TEST_F(Nfs3AttrTest, LookupErrors) {
  create(root_fh_, "file");
  Fh file = lookup(root_fh_, "file");
  uint32_t st = 0;
  lookup(file, "x", &st);
  EXPECT_EQ(st, NFS3ERR_NOTDIR);
  lookup(root_fh_, std::string(256, 'n'), &st);
  EXPECT_EQ(st, NFS3ERR_NAMETOOLONG);
  lookup(root_fh_, "a/b", &st);
  EXPECT_EQ(st, NFS3ERR_INVAL);
}

TEST_F(Nfs3AttrTest, LookupInADirectoryWithoutSearchPermissionIsAcces) {
  mkdir(root(), "closed", 0700);
  create(lookup(root_fh_, "closed"), "inner");
  xdr::XdrEncoder a;
  put_dirop(a, lookup(root_fh_, "closed"), "inner");
  EXPECT_EQ(status(call(NFSPROC3_LOOKUP, a, {1000, 1000})), NFS3ERR_ACCES);
}

// SETATTR args: object, sattr3 with a mode, guard.
xdr::XdrEncoder setattr_mode(const Fh& fh, uint32_t mode, std::optional<Time3> guard) {
  xdr::XdrEncoder a;
  put_fh(a, fh);
  put_sattr(a, static_cast<int>(mode));
  a.boolean(guard.has_value());
  if (guard) {
    a.u32(guard->sec);
    a.u32(guard->nsec);
  }
  return a;
}

TEST_F(Nfs3AttrTest, SetattrWithAStaleCtimeGuardIsNotSyncAndChangesNothing) {
  Fh f = create(root_fh_, "g", 0644);
  Fattr3 before = getattr(f);
  Time3 wrong = before.ctime;
  wrong.nsec ^= 1;
  Reply r = call(NFSPROC3_SETATTR, setattr_mode(f, 0600, wrong));
  auto d = r.dec();
  EXPECT_EQ(d.u32(), NFS3ERR_NOT_SYNC);
  Wcc3 w = get_wcc(d);
  ASSERT_TRUE(w.before && w.after);
  EXPECT_EQ(w.before->ctime, before.ctime);
  EXPECT_EQ(w.after->mode, 0644u);
  EXPECT_EQ(getattr(f).mode, 0644u);
}

TEST_F(Nfs3AttrTest, SetattrWithTheCurrentCtimeGuardApplies) {
  Fh f = create(root_fh_, "g", 0644);
  Fattr3 before = getattr(f);
  Reply r = call(NFSPROC3_SETATTR, setattr_mode(f, 0600, before.ctime));
  auto d = r.dec();
  EXPECT_EQ(d.u32(), NFS3_OK);
  Wcc3 w = get_wcc(d);
  ASSERT_TRUE(w.before && w.after);
  EXPECT_EQ(w.before->ctime, before.ctime);
  EXPECT_EQ(w.after->mode, 0600u);
  EXPECT_EQ(getattr(f).mode, 0600u);
}

TEST_F(Nfs3AttrTest, SetattrSizeAndTimesWithWccBeforeAndAfter) {
  Fh f = create(root_fh_, "t");
  xdr::XdrEncoder a;
  put_fh(a, f);
  a.boolean(false);
  a.boolean(false);
  a.boolean(false);
  a.boolean(true);
  a.u64(5000);
  a.u32(SET_TO_CLIENT_TIME);
  a.u32(1000000);
  a.u32(7);
  a.u32(SET_TO_CLIENT_TIME);
  a.u32(2000000);
  a.u32(9);
  a.boolean(false);
  Reply r = call(NFSPROC3_SETATTR, a);
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  Wcc3 w = get_wcc(d);
  ASSERT_TRUE(w.before && w.after);
  EXPECT_EQ(w.before->size, 0u);
  EXPECT_EQ(w.after->size, 5000u);
  EXPECT_EQ(w.after->atime, (Time3{1000000, 7}));
  EXPECT_EQ(w.after->mtime, (Time3{2000000, 9}));
}

TEST_F(Nfs3AttrTest, ChmodByANonOwnerIsPerm) {
  Fh f = create(root_fh_, "mine", 0666);
  Reply r = call(NFSPROC3_SETATTR, setattr_mode(f, 0777, std::nullopt), {1000, 1000});
  EXPECT_EQ(status(r), NFS3ERR_PERM);
}

TEST_F(Nfs3AttrTest, AccessReportsModeBitsForTheCaller) {
  Fh f = create(root_fh_, "ro", 0644);
  xdr::XdrEncoder a;
  put_fh(a, f);
  a.u32(0x3f);
  Reply r = call(NFSPROC3_ACCESS, a, {1000, 1000});
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  ASSERT_TRUE(get_post_op(d));
  EXPECT_EQ(d.u32(), ACCESS3_READ);
  // Root may read and write but not execute a file nobody may execute.
  Reply rr = call(NFSPROC3_ACCESS, a);
  auto dr = rr.dec();
  dr.u32();
  get_post_op(dr);
  EXPECT_EQ(dr.u32(), ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND);
}

TEST_F(Nfs3AttrTest, AccessOnADirectoryGrantsLookupAndDelete) {
  xdr::XdrEncoder a;
  put_fh(a, root_fh_);
  a.u32(ACCESS3_LOOKUP | ACCESS3_DELETE | ACCESS3_EXECUTE);
  Reply r = call(NFSPROC3_ACCESS, a);
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  get_post_op(d);
  EXPECT_EQ(d.u32(), ACCESS3_LOOKUP | ACCESS3_DELETE);
}

TEST_F(Nfs3AttrTest, ReadlinkReturnsTheTargetAndRefusesOtherTypes) {
  ASSERT_EQ(::symlink("some/where", host_path("ln").c_str()), 0);
  xdr::XdrEncoder a;
  put_fh(a, lookup(root_fh_, "ln"));
  Reply r = call(NFSPROC3_READLINK, a);
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  auto attr = get_post_op(d);
  ASSERT_TRUE(attr);
  EXPECT_EQ(attr->type, NF3LNK);
  EXPECT_EQ(d.string(100), "some/where");
  xdr::XdrEncoder b;
  put_fh(b, root_fh_);
  EXPECT_EQ(status(call(NFSPROC3_READLINK, b)), NFS3ERR_INVAL);
}

TEST_F(Nfs3AttrTest, FsinfoAdvertisesOneMiBTransfersAndProperties) {
  xdr::XdrEncoder a;
  put_fh(a, root_fh_);
  Reply r = call(NFSPROC3_FSINFO, a);
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  ASSERT_TRUE(get_post_op(d));
  EXPECT_EQ(d.u32(), 1u << 20);  // rtmax
  d.u32();
  d.u32();
  EXPECT_EQ(d.u32(), 1u << 20);  // wtmax
  d.u32();
  d.u32();
  EXPECT_GT(d.u32(), 0u);          // dtpref
  EXPECT_GT(d.u64(), 1ull << 40);  // maxfilesize
  EXPECT_EQ(get_time(d), (Time3{0, 1}));
  EXPECT_EQ(d.u32(), FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
  EXPECT_TRUE(d.ok() && d.remaining() == 0);
}

TEST_F(Nfs3AttrTest, FsstatAndPathconf) {
  xdr::XdrEncoder a;
  put_fh(a, root_fh_);
  Reply s = call(NFSPROC3_FSSTAT, a);
  auto d = s.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  ASSERT_TRUE(get_post_op(d));
  uint64_t tbytes = d.u64(), fbytes = d.u64(), abytes = d.u64();
  EXPECT_GT(tbytes, 0u);
  EXPECT_LE(abytes, fbytes);
  EXPECT_LE(fbytes, tbytes);
  d.u64();
  d.u64();
  d.u64();
  d.u32();
  EXPECT_TRUE(d.ok() && d.remaining() == 0);

  Reply p = call(NFSPROC3_PATHCONF, a);
  auto e = p.dec();
  ASSERT_EQ(e.u32(), NFS3_OK);
  ASSERT_TRUE(get_post_op(e));
  EXPECT_GT(e.u32(), 1u);     // linkmax
  EXPECT_EQ(e.u32(), 255u);   // name_max
  EXPECT_TRUE(e.boolean());   // no_trunc
  EXPECT_TRUE(e.boolean());   // chown_restricted
  EXPECT_FALSE(e.boolean());  // case_insensitive
  EXPECT_TRUE(e.boolean());   // case_preserving
  EXPECT_TRUE(e.ok() && e.remaining() == 0);
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing
