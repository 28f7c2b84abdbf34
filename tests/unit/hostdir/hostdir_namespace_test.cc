// HostDirFs: create, mkdir, symlink, mknod, link, unlink, rmdir, rename,
// readdir.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <set>

#include "tests/unit/hostdir/hostdir_test_util.h"

namespace pnfsgw::backend::testing {
namespace {

// Restores the process umask when it goes out of scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t m) : old_(umask(m)) {}
  ~ScopedUmask() { umask(old_); }

 private:
  mode_t old_;
};

using HostDirFsCreate = HostDirFsTest;

TEST_F(HostDirFsCreate, ExclusiveMakesANewFileAndFailsIfTheNameExists) {
  bool created = false;
  auto r = fs_->create(root(), "f", 0644, {}, CreateMode::kExclusive, &created);
  ASSERT_TRUE(r) << std::strerror(r.err());
  EXPECT_TRUE(created);
  EXPECT_EQ(r->type, FileType::kRegular);
  EXPECT_EQ(r->size, 0u);
  created = true;
  EXPECT_EQ(fs_->create(root(), "f", 0644, {}, CreateMode::kExclusive, &created).err(), EEXIST);
  EXPECT_FALSE(created);
}

TEST_F(HostDirFsCreate, UncheckedReturnsAnExistingFileUntouched) {
  Attr f = file_with("f", "keep me");
  bool created = true;
  auto r = fs_->create(root(), "f", 0600, {7, 7}, CreateMode::kUnchecked, &created);
  ASSERT_TRUE(r);
  EXPECT_FALSE(created);
  EXPECT_EQ(r->ino, f.ino);
  EXPECT_EQ(r->size, 7u);
  EXPECT_EQ(r->mode, 0644u);
  EXPECT_EQ(r->uid, 0u);
}

TEST_F(HostDirFsCreate, UncheckedMakesTheFileWhenMissing) {
  bool created = false;
  auto r = fs_->create(root(), "f", 0644, {}, CreateMode::kUnchecked, &created);
  ASSERT_TRUE(r);
  EXPECT_TRUE(created);
}

TEST_F(HostDirFsCreate, OverANonRegularFileFails) {
  mkdir(root(), "d");
  ASSERT_EQ(mkfifo(host_path("fifo").c_str(), 0644), 0);
  bool created = true;
  EXPECT_EQ(fs_->create(root(), "d", 0644, {}, CreateMode::kUnchecked, &created).err(), EISDIR);
  EXPECT_EQ(fs_->create(root(), "fifo", 0644, {}, CreateMode::kUnchecked, &created).err(), EEXIST);
  EXPECT_FALSE(created);
}

TEST_F(HostDirFsCreate, NeverFollowsASymlink) {
  ASSERT_EQ(::symlink(host_path("target").c_str(), host_path("lnk").c_str()), 0);
  EXPECT_EQ(fs_->create(root(), "lnk", 0644, {}, CreateMode::kUnchecked, nullptr).err(), EEXIST);
  EXPECT_EQ(fs_->create(root(), "lnk", 0644, {}, CreateMode::kExclusive, nullptr).err(), EEXIST);
  EXPECT_NE(access(host_path("target").c_str(), F_OK), 0);
}

TEST_F(HostDirFsCreate, SetsOwnerAndGroupFromTheCred) {
  Attr f = create(root(), "f", 0644, Cred{1001, 2002});
  EXPECT_EQ(f.uid, 1001u);
  EXPECT_EQ(f.gid, 2002u);
  struct stat st;
  ASSERT_EQ(stat(host_path("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1001u);
  EXPECT_EQ(st.st_gid, 2002u);
  auto d = fs_->mkdir(root(), "d", 0755, Cred{1003, 2004});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->uid, 1003u);
  EXPECT_EQ(d->gid, 2004u);
  auto l = fs_->symlink(root(), "l", "f", Cred{1005, 2006});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->uid, 1005u);
  EXPECT_EQ(l->gid, 2006u);
}

TEST_F(HostDirFsCreate, ModeIsExactlyTheRequestedOneWhateverTheUmask) {
  ScopedUmask um(077);
  EXPECT_EQ(create(root(), "f", 0777).mode, 0777u);
  EXPECT_EQ(create(root(), "s", 06755).mode, 06755u);
  EXPECT_EQ(mkdir(root(), "d", 01777).mode, 01777u);
  auto fifo = fs_->mknod(root(), "p", FileType::kFifo, 0666, 0, 0, Cred{});
  ASSERT_TRUE(fifo);
  EXPECT_EQ(fifo->mode, 0666u);
}

TEST_F(HostDirFsCreate, InASetgidDirectoryInheritsItsGroup) {
  Attr d = mkdir(root(), "d", 02775);
  ASSERT_EQ(chown(host_path("d").c_str(), 0, 3000), 0);
  ASSERT_EQ(chmod(host_path("d").c_str(), 02775), 0);
  Attr f = create(d.ino, "f", 0644, Cred{1001, 2002});
  EXPECT_EQ(f.uid, 1001u);
  EXPECT_EQ(f.gid, 3000u);
  auto sub = fs_->mkdir(d.ino, "sub", 0755, Cred{1001, 2002});
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->gid, 3000u);
  EXPECT_EQ(sub->mode, 02755u);
}

using HostDirFsNodes = HostDirFsTest;

TEST_F(HostDirFsNodes, MkdirMakesAnEmptyDirectory) {
  Attr d = mkdir(root(), "d", 0750);
  EXPECT_EQ(d.type, FileType::kDirectory);
  EXPECT_EQ(d.mode, 0750u);
  EXPECT_EQ(d.nlink, 2u);
  auto page = fs_->readdir(d.ino, 0, 10);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->entries.empty());
  EXPECT_TRUE(page->eof);
  EXPECT_EQ(fs_->mkdir(root(), "d", 0755, {}).err(), EEXIST);
}

TEST_F(HostDirFsNodes, SymlinkStoresItsTargetVerbatim) {
  const std::string target = "../../outside/../x y";
  auto l = fs_->symlink(root(), "l", target, Cred{});
  ASSERT_TRUE(l);
  EXPECT_EQ(l->type, FileType::kSymlink);
  EXPECT_EQ(l->size, target.size());
  auto r = fs_->readlink(l->ino);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, target);
  EXPECT_EQ(fs_->symlink(root(), "e", "", Cred{}).err(), EINVAL);
}

TEST_F(HostDirFsNodes, ReadlinkOfANonSymlinkIsEINVAL) {
  Attr f = create(root(), "f");
  EXPECT_EQ(fs_->readlink(f.ino).err(), EINVAL);
}

TEST_F(HostDirFsNodes, MknodMakesFifosSocketsAndDevices) {
  auto fifo = fs_->mknod(root(), "p", FileType::kFifo, 0640, 0, 0, Cred{5, 6});
  ASSERT_TRUE(fifo) << std::strerror(fifo.err());
  EXPECT_EQ(fifo->type, FileType::kFifo);
  EXPECT_EQ(fifo->uid, 5u);
  struct stat st;
  ASSERT_EQ(lstat(host_path("p").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  auto sock = fs_->mknod(root(), "s", FileType::kSocket, 0600, 0, 0, Cred{});
  ASSERT_TRUE(sock);
  EXPECT_EQ(sock->type, FileType::kSocket);

  auto chr = fs_->mknod(root(), "c", FileType::kChar, 0600, 1, 3, Cred{});
  if (!chr && chr.err() == EPERM) GTEST_SKIP() << "no CAP_MKNOD here";
  ASSERT_TRUE(chr);
  EXPECT_EQ(chr->type, FileType::kChar);
  EXPECT_EQ(chr->rdev_major, 1u);
  EXPECT_EQ(chr->rdev_minor, 3u);
}

TEST_F(HostDirFsNodes, MknodRejectsRegularDirectoryAndSymlinkTypes) {
  for (FileType t : {FileType::kRegular, FileType::kDirectory, FileType::kSymlink}) {
    EXPECT_EQ(fs_->mknod(root(), "x", t, 0644, 0, 0, {}).err(), EINVAL);
  }
}

TEST_F(HostDirFsNodes, LinkAddsANameAndIncrementsNlink) {
  Attr f = file_with("f", "shared");
  Attr d = mkdir(root(), "d");
  auto r = fs_->link(f.ino, d.ino, "g");
  ASSERT_TRUE(r) << std::strerror(r.err());
  EXPECT_EQ(r->ino, f.ino);
  EXPECT_EQ(r->nlink, 2u);
  auto g = fs_->lookup(d.ino, "g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->ino, f.ino);
  EXPECT_EQ(fs_->link(f.ino, d.ino, "g").err(), EEXIST);
}

TEST_F(HostDirFsNodes, LinkOfADirectoryIsEPERM) {
  Attr d = mkdir(root(), "d");
  EXPECT_EQ(fs_->link(d.ino, root(), "d2").err(), EPERM);
}

TEST_F(HostDirFsNodes, UnlinkRemovesTheName) {
  create(root(), "f");
  ASSERT_TRUE(fs_->unlink(root(), "f"));
  EXPECT_EQ(fs_->lookup(root(), "f").err(), ENOENT);
  EXPECT_EQ(fs_->unlink(root(), "f").err(), ENOENT);
}

TEST_F(HostDirFsNodes, UnlinkOfADirectoryIsEISDIR) {
  mkdir(root(), "d");
  EXPECT_EQ(fs_->unlink(root(), "d").err(), EISDIR);
}

TEST_F(HostDirFsNodes, RmdirRemovesOnlyEmptyDirectories) {
  Attr d = mkdir(root(), "d");
  create(d.ino, "f");
  EXPECT_EQ(fs_->rmdir(root(), "d").err(), ENOTEMPTY);
  ASSERT_TRUE(fs_->unlink(d.ino, "f"));
  EXPECT_TRUE(fs_->rmdir(root(), "d"));
  EXPECT_EQ(fs_->lookup(root(), "d").err(), ENOENT);
  create(root(), "f");
  EXPECT_EQ(fs_->rmdir(root(), "f").err(), ENOTDIR);
}

using HostDirFsRename = HostDirFsTest;

TEST_F(HostDirFsRename, ReplacesAnExistingFile) {
  Attr a = file_with("a", "A");
  file_with("b", "B");
  ASSERT_TRUE(fs_->rename(root(), "a", root(), "b"));
  EXPECT_EQ(fs_->lookup(root(), "a").err(), ENOENT);
  auto b = fs_->lookup(root(), "b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ino, a.ino);
  EXPECT_EQ(read_all(b->ino), "A");
}

TEST_F(HostDirFsRename, ADirectoryReplacesAnEmptyDirectoryButNotAFullOne) {
  Attr src = mkdir(root(), "src");
  mkdir(root(), "empty");
  Attr full = mkdir(root(), "full");
  create(full.ino, "f");
  EXPECT_EQ(fs_->rename(root(), "src", root(), "full").err(), ENOTEMPTY);
  ASSERT_TRUE(fs_->rename(root(), "src", root(), "empty"));
  auto e = fs_->lookup(root(), "empty");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ino, src.ino);
}

TEST_F(HostDirFsRename, AFileOverADirectoryIsEISDIR) {
  create(root(), "f");
  mkdir(root(), "d");
  EXPECT_EQ(fs_->rename(root(), "f", root(), "d").err(), EISDIR);
  EXPECT_EQ(fs_->rename(root(), "d", root(), "f").err(), ENOTDIR);
}

TEST_F(HostDirFsRename, MovesADirectoryToAnotherParentKeepingItsInode) {
  Attr a = mkdir(root(), "a");
  Attr b = mkdir(root(), "b");
  Attr sub = mkdir(a.ino, "sub");
  create(sub.ino, "f");
  ASSERT_TRUE(fs_->rename(a.ino, "sub", b.ino, "moved"));
  auto moved = fs_->lookup(b.ino, "moved");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->ino, sub.ino);
  auto parent = fs_->lookup_parent(sub.ino);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->ino, b.ino);
  EXPECT_TRUE(fs_->lookup(sub.ino, "f"));
}

TEST_F(HostDirFsRename, IntoItsOwnSubdirectoryIsEINVAL) {
  Attr a = mkdir(root(), "a");
  mkdir(a.ino, "sub");
  auto sub = fs_->lookup(a.ino, "sub");
  ASSERT_TRUE(sub);
  EXPECT_EQ(fs_->rename(root(), "a", sub->ino, "a").err(), EINVAL);
}

using HostDirFsReaddir = HostDirFsTest;

// Reads the whole directory in pages of max entries; returns name -> count.
std::map<std::string, int> list_all(Filesystem& fs, InodeId dir, size_t max, uint64_t cookie = 0) {
  std::map<std::string, int> seen;
  for (int pages = 0; pages < 100000; ++pages) {
    auto page = fs.readdir(dir, cookie, max);
    EXPECT_TRUE(page) << std::strerror(page.err());
    if (!page) break;
    EXPECT_LE(page->entries.size(), max);
    for (const auto& e : page->entries) {
      ++seen[e.name];
      EXPECT_GT(e.cookie, 2u);
      cookie = e.cookie;
    }
    if (page->eof) break;
  }
  return seen;
}

TEST_F(HostDirFsReaddir, ListsEveryEntryWithItsInodeAndTypeButNotDots) {
  Attr f = create(root(), "f");
  Attr d = mkdir(root(), "d");
  auto l = fs_->symlink(root(), "l", "f", {});
  ASSERT_TRUE(l);
  auto page = fs_->readdir(root(), 0, 100);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->eof);
  std::map<std::string, DirEntry> by_name;
  for (const auto& e : page->entries) by_name[e.name] = e;
  ASSERT_EQ(by_name.size(), 3u);
  EXPECT_EQ(by_name["f"].ino, f.ino);
  EXPECT_EQ(by_name["f"].type, FileType::kRegular);
  EXPECT_EQ(by_name["d"].ino, d.ino);
  EXPECT_EQ(by_name["d"].type, FileType::kDirectory);
  EXPECT_EQ(by_name["l"].ino, l->ino);
  EXPECT_EQ(by_name["l"].type, FileType::kSymlink);
}

TEST_F(HostDirFsReaddir, OfAnEmptyDirectoryIsEofAtOnce) {
  auto page = fs_->readdir(root(), 0, 10);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->entries.empty());
  EXPECT_TRUE(page->eof);
}

TEST_F(HostDirFsReaddir, RegistersEveryEntrySoItsHandleCanBeEncoded) {
  host_files("h", 20);
  reopen();  // nothing known but the root
  auto page = fs_->readdir(root(), 0, 100);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->entries.size(), 20u);
  for (const auto& e : page->entries) {
    EXPECT_TRUE(fs_->encode_handle(e.ino)) << e.name;
    EXPECT_TRUE(fs_->getattr(e.ino)) << e.name;
  }
}

TEST_F(HostDirFsReaddir, Pages5000EntriesReturningEachNameExactlyOnce) {
  host_links("entry-", 5000);
  auto seen = list_all(*fs_, root(), 100);
  ASSERT_EQ(seen.size(), 5000u);
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
}

TEST_F(HostDirFsReaddir, CookiesStayValidAfterEarlierEntriesAreRemoved) {
  host_links("n", 500);
  auto first = fs_->readdir(root(), 0, 100);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->entries.size(), 100u);
  std::set<std::string> listed;
  for (const auto& e : first->entries) listed.insert(e.name);
  // Remove everything already listed, including the entry whose cookie we
  // continue from, and add some new names.
  for (const auto& name : listed) ASSERT_TRUE(fs_->unlink(root(), name));
  host_links("new", 50);

  auto rest = list_all(*fs_, root(), 37, first->entries.back().cookie);
  for (int i = 0; i < 500; ++i) {
    std::string name = "n" + std::to_string(i);
    if (listed.count(name)) {
      EXPECT_EQ(rest.count(name), 0u) << name;
    } else {
      EXPECT_EQ(rest[name], 1) << name;
    }
  }
  for (const auto& [name, count] : rest) EXPECT_EQ(count, 1) << name;
}

TEST_F(HostDirFsReaddir, ReservedCookiesOneAndTwoAreEINVAL) {
  EXPECT_EQ(fs_->readdir(root(), 1, 10).err(), EINVAL);
  EXPECT_EQ(fs_->readdir(root(), 2, 10).err(), EINVAL);
}

TEST_F(HostDirFsReaddir, OfARegularFileIsENOTDIR) {
  Attr f = create(root(), "f");
  EXPECT_EQ(fs_->readdir(f.ino, 0, 10).err(), ENOTDIR);
}

}  // namespace
}  // namespace pnfsgw::backend::testing
