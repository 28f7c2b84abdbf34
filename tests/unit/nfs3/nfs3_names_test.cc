// REMOVE, RMDIR, RENAME, LINK.
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/nfs3/nfs3_test_util.h"

namespace pnfsgw::nfs3::testing {
namespace {

class Nfs3NamesTest : public Nfs3ProcTest {
 protected:
  std::pair<uint32_t, Wcc3> remove(uint32_t proc, const Fh& dir, const std::string& name,
                                   Caller who = {}) {
    xdr::XdrEncoder a;
    put_dirop(a, dir, name);
    Reply r = call(proc, a, who);
    auto d = r.dec();
    uint32_t st = d.u32();
    Wcc3 w = get_wcc(d);
    EXPECT_TRUE(d.ok() && d.remaining() == 0);
    return {st, w};
  }

  uint32_t rename(const Fh& from, const std::string& fname, const Fh& to, const std::string& tname,
                  Wcc3* from_wcc = nullptr, Wcc3* to_wcc = nullptr, Caller who = {}) {
    xdr::XdrEncoder a;
    put_dirop(a, from, fname);
    put_dirop(a, to, tname);
    Reply r = call(NFSPROC3_RENAME, a, who);
    auto d = r.dec();
    uint32_t st = d.u32();
    Wcc3 fw = get_wcc(d), tw = get_wcc(d);
    EXPECT_TRUE(d.ok() && d.remaining() == 0);
    if (from_wcc) *from_wcc = fw;
    if (to_wcc) *to_wcc = tw;
    return st;
  }

  bool host_exists(const std::string& rel) {
    struct stat st;
    return ::lstat(host_path(rel).c_str(), &st) == 0;
  }
};

TEST_F(Nfs3NamesTest, RemoveDeletesTheFileWithDirectoryWccAroundIt) {
  create(root_fh_, "f");
  Fattr3 before = getattr(root_fh_);
  ::usleep(10000);  // let the directory's mtime move
  auto [st, w] = remove(NFSPROC3_REMOVE, root_fh_, "f");
  ASSERT_EQ(st, NFS3_OK);
  EXPECT_FALSE(host_exists("f"));
  ASSERT_TRUE(w.before && w.after);
  EXPECT_EQ(w.before->mtime, before.mtime);
  EXPECT_EQ(w.before->ctime, before.ctime);
  EXPECT_NE(w.after->mtime, before.mtime);
  EXPECT_EQ(w.after->mtime, getattr(root_fh_).mtime);
}

TEST_F(Nfs3NamesTest, RemoveAndRmdirRefuseTheOtherType) {
  mkdir(root(), "d");
  create(root_fh_, "f");
  EXPECT_EQ(remove(NFSPROC3_REMOVE, root_fh_, "d").first, NFS3ERR_ISDIR);
  EXPECT_EQ(remove(NFSPROC3_RMDIR, root_fh_, "f").first, NFS3ERR_NOTDIR);
  EXPECT_EQ(remove(NFSPROC3_RMDIR, root_fh_, "d").first, NFS3_OK);
  EXPECT_EQ(remove(NFSPROC3_REMOVE, root_fh_, "missing").first, NFS3ERR_NOENT);
  EXPECT_EQ(remove(NFSPROC3_RMDIR, root_fh_, ".").first, NFS3ERR_INVAL);
}

TEST_F(Nfs3NamesTest, RmdirOfANonEmptyDirectoryIsNotempty) {
  mkdir(root(), "d");
  create(lookup(root_fh_, "d"), "inner");
  EXPECT_EQ(remove(NFSPROC3_RMDIR, root_fh_, "d").first, NFS3ERR_NOTEMPTY);
}

TEST_F(Nfs3NamesTest, StickyDirectoryProtectsOtherUsersEntries) {
  mkdir(root(), "tmp", 01777);
  Fh tmp = lookup(root_fh_, "tmp");
  create(tmp, "theirs", 0666, {1000, 1000});
  EXPECT_EQ(remove(NFSPROC3_REMOVE, tmp, "theirs", {1001, 1001}).first, NFS3ERR_ACCES);
  EXPECT_EQ(remove(NFSPROC3_REMOVE, tmp, "theirs", {1000, 1000}).first, NFS3_OK);
}

TEST_F(Nfs3NamesTest, RenameMovesBetweenDirectoriesWithWccForBoth) {
  mkdir(root(), "a");
  mkdir(root(), "b");
  Fh a = lookup(root_fh_, "a"), b = lookup(root_fh_, "b");
  Fh f = create(a, "f");
  Wcc3 fw, tw;
  ASSERT_EQ(rename(a, "f", b, "g", &fw, &tw), NFS3_OK);
  EXPECT_TRUE(host_exists("b/g"));
  EXPECT_FALSE(host_exists("a/f"));
  EXPECT_EQ(lookup(b, "g"), f);  // same object, same handle
  ASSERT_TRUE(fw.before && fw.after && tw.before && tw.after);
  EXPECT_EQ(fw.after->fileid, getattr(a).fileid);
  EXPECT_EQ(tw.after->fileid, getattr(b).fileid);
}

TEST_F(Nfs3NamesTest, RenameOverAnIncompatibleTypeIsExist) {
  mkdir(root(), "d");
  create(root_fh_, "f");
  EXPECT_EQ(rename(root_fh_, "f", root_fh_, "d"), NFS3ERR_EXIST);
  EXPECT_EQ(rename(root_fh_, "d", root_fh_, "f"), NFS3ERR_EXIST);
}

TEST_F(Nfs3NamesTest, RenameReplacesAnExistingFile) {
  file_with("src", "new");
  file_with("dst", "old");
  ASSERT_EQ(rename(root_fh_, "src", root_fh_, "dst"), NFS3_OK);
  EXPECT_EQ(read_all(fs_->lookup(root(), "dst")->ino), "new");
}

TEST_F(Nfs3NamesTest, LinkAddsANameWithFileAttributesAndDirWcc) {
  Fh f = create(root_fh_, "f");
  xdr::XdrEncoder a;
  put_fh(a, f);
  put_dirop(a, root_fh_, "f2");
  Reply r = call(NFSPROC3_LINK, a);
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  auto attr = get_post_op(d);
  ASSERT_TRUE(attr);
  EXPECT_EQ(attr->nlink, 2u);
  Wcc3 w = get_wcc(d);
  EXPECT_TRUE(w.before && w.after);
  EXPECT_EQ(lookup(root_fh_, "f2"), f);
}

TEST_F(Nfs3NamesTest, LinkOfADirectoryIsRefused) {
  mkdir(root(), "d");
  xdr::XdrEncoder a;
  put_fh(a, lookup(root_fh_, "d"));
  put_dirop(a, root_fh_, "d2");
  EXPECT_EQ(call(NFSPROC3_LINK, a).dec().u32(), NFS3ERR_PERM);
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing
