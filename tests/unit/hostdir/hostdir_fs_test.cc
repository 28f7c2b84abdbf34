// HostDirFs: opening, handles, lookup, attributes.
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>

#include <random>

#include "tests/unit/hostdir/hostdir_test_util.h"

namespace pnfsgw::backend::testing {
namespace {

TEST(HostDirFsOpen, FailsWithENOENTForAMissingDirectory) {
  auto r = open_hostdir_fs("/tmp/hostdir_test.does-not-exist");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err(), ENOENT);
}

TEST(HostDirFsOpen, FailsWithENOTDIRForARegularFile) {
  char tmpl[] = "/tmp/hostdir_test_file.XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  auto r = open_hostdir_fs(tmpl);
  unlink(tmpl);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err(), ENOTDIR);
}

using HostDirFsHandles = HostDirFsTest;

TEST_F(HostDirFsHandles, RootIsTheExportDirectoryAndItsOwnParent) {
  struct stat st;
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(root(), st.st_ino);
  Attr a = getattr(root());
  EXPECT_EQ(a.type, FileType::kDirectory);
  auto parent = fs_->lookup_parent(root());
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->ino, root());
}

TEST_F(HostDirFsHandles, SurviveARestartAndResolveToTheSameInode) {
  Attr file = file_with("f", "hello");
  Attr dir = mkdir(root(), "d");
  Attr sub = mkdir(dir.ino, "sub");
  std::vector<std::pair<InodeId, std::string>> handles;
  for (InodeId ino : {root(), file.ino, dir.ino, sub.ino}) {
    auto h = fs_->encode_handle(ino);
    ASSERT_TRUE(h) << std::strerror(h.err());
    handles.emplace_back(ino, *h);
  }

  reopen();

  for (const auto& [ino, h] : handles) {
    auto r = fs_->resolve_handle(as_bytes(h));
    ASSERT_TRUE(r) << std::strerror(r.err());
    EXPECT_EQ(*r, ino);
    EXPECT_EQ(getattr(ino).ino, ino);
    auto again = fs_->encode_handle(ino);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, h);
  }
  EXPECT_EQ(read_all(file.ino), "hello");
  auto parent = fs_->lookup_parent(sub.ino);
  ASSERT_TRUE(parent) << std::strerror(parent.err());
  EXPECT_EQ(parent->ino, dir.ino);
}

TEST_F(HostDirFsHandles, InodesUnknownAfterRestartAreStaleUntilResolved) {
  Attr file = create(root(), "f");
  reopen();
  EXPECT_EQ(fs_->getattr(file.ino).err(), ESTALE);
  EXPECT_EQ(fs_->encode_handle(file.ino).err(), ESTALE);
  ASSERT_TRUE(fs_->lookup(root(), "f"));
  EXPECT_TRUE(fs_->getattr(file.ino));
}

TEST_F(HostDirFsHandles, OfADeletedFileAreStale) {
  Attr file = create(root(), "f");
  auto h = fs_->encode_handle(file.ino);
  ASSERT_TRUE(h);
  ASSERT_TRUE(fs_->unlink(root(), "f"));

  EXPECT_EQ(fs_->resolve_handle(as_bytes(*h)).err(), ESTALE);
  EXPECT_EQ(fs_->getattr(file.ino).err(), ESTALE);
  reopen();
  EXPECT_EQ(fs_->resolve_handle(as_bytes(*h)).err(), ESTALE);
}

TEST_F(HostDirFsHandles, OfARemovedDirectoryAreStale) {
  Attr dir = mkdir(root(), "d");
  auto h = fs_->encode_handle(dir.ino);
  ASSERT_TRUE(h);
  ASSERT_TRUE(fs_->rmdir(root(), "d"));
  EXPECT_EQ(fs_->resolve_handle(as_bytes(*h)).err(), ESTALE);
  EXPECT_EQ(fs_->readdir(dir.ino, 0, 10).err(), ESTALE);
}

TEST_F(HostDirFsHandles, GarbageBytesAreRejectedWithoutCrashing) {
  Attr file = create(root(), "f");
  auto good = fs_->encode_handle(file.ino);
  ASSERT_TRUE(good);
  auto rejected = [&](const std::string& bytes) {
    auto r = fs_->resolve_handle(as_bytes(bytes));
    // A mutation may happen to be another encoding of the same inode; it
    // must never name a different one.
    if (r) return *r == file.ino;
    return r.err() == EINVAL || r.err() == ESTALE;
  };
  EXPECT_EQ(fs_->resolve_handle({}).err(), EINVAL);
  for (size_t len = 0; len < good->size(); ++len) {
    EXPECT_TRUE(rejected(good->substr(0, len))) << "truncated to " << len;
  }
  EXPECT_EQ(fs_->resolve_handle(as_bytes(*good + "x")).err(), EINVAL);
  for (size_t i = 0; i < good->size() * 8; ++i) {
    std::string m = *good;
    m[i / 8] = static_cast<char>(m[i / 8] ^ (1 << (i % 8)));
    EXPECT_TRUE(rejected(m)) << "bit " << i;
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string m(rng() % 200, '\0');
    for (auto& c : m) c = static_cast<char>(rng());
    if (i % 2 == 0 && m.size() > 6) {  // well-shaped header, random body
      m[0] = 1;
      m[1] = static_cast<char>(m.size() - 6);
    }
    auto r = fs_->resolve_handle(as_bytes(m));
    if (!r) {
      EXPECT_TRUE(r.err() == EINVAL || r.err() == ESTALE) << std::strerror(r.err());
    }
  }
}

TEST_F(HostDirFsHandles, UnknownInodeNumbersAreStale) {
  EXPECT_EQ(fs_->getattr(987654321).err(), ESTALE);
  EXPECT_EQ(fs_->encode_handle(987654321).err(), ESTALE);
  EXPECT_EQ(fs_->lookup(987654321, "x").err(), ESTALE);
  bool eof;
  std::vector<uint8_t> buf(4);
  EXPECT_EQ(fs_->read(987654321, 0, buf, &eof).err(), ESTALE);
}

using HostDirFsLookup = HostDirFsTest;

TEST_F(HostDirFsLookup, FindsEveryFileType) {
  ASSERT_EQ(close(open(host_path("reg").c_str(), O_CREAT | O_WRONLY, 0644)), 0);
  ASSERT_EQ(::mkdir(host_path("dir").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("reg", host_path("lnk").c_str()), 0);
  ASSERT_EQ(mkfifo(host_path("fifo").c_str(), 0644), 0);
  ASSERT_EQ(mknod(host_path("sock").c_str(), S_IFSOCK | 0644, 0), 0);
  const bool have_dev = mknod(host_path("chr").c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0;
  struct Case {
    const char* name;
    FileType type;
  };
  std::vector<Case> cases = {{"reg", FileType::kRegular},
                             {"dir", FileType::kDirectory},
                             {"lnk", FileType::kSymlink},
                             {"fifo", FileType::kFifo},
                             {"sock", FileType::kSocket}};
  if (have_dev) cases.push_back({"chr", FileType::kChar});
  for (const auto& c : cases) {
    auto r = fs_->lookup(root(), c.name);
    ASSERT_TRUE(r) << c.name << ": " << std::strerror(r.err());
    struct stat st;
    ASSERT_EQ(lstat(host_path(c.name).c_str(), &st), 0);
    EXPECT_EQ(r->ino, st.st_ino) << c.name;
    EXPECT_EQ(r->type, c.type) << c.name;
    EXPECT_TRUE(fs_->encode_handle(r->ino)) << c.name;
  }
  if (have_dev) {
    Attr chr = *fs_->lookup(root(), "chr");
    EXPECT_EQ(chr.rdev_major, 1u);
    EXPECT_EQ(chr.rdev_minor, 3u);
  }
}

TEST_F(HostDirFsLookup, OfAMissingNameIsENOENT) {
  EXPECT_EQ(fs_->lookup(root(), "nope").err(), ENOENT);
}

TEST_F(HostDirFsLookup, InsideARegularFileIsENOTDIR) {
  Attr f = create(root(), "f");
  EXPECT_EQ(fs_->lookup(f.ino, "x").err(), ENOTDIR);
}

TEST_F(HostDirFsLookup, RejectsNamesThatAreNotOneComponent) {
  mkdir(root(), "a");
  for (std::string_view bad : {std::string_view(""), std::string_view("."), std::string_view(".."),
                               std::string_view("a/b"), std::string_view("../etc"),
                               std::string_view("/etc"), std::string_view("a\0b", 3)}) {
    EXPECT_EQ(fs_->lookup(root(), bad).err(), EINVAL) << bad;
    EXPECT_EQ(fs_->create(root(), bad, 0644, {}, CreateMode::kUnchecked, nullptr).err(), EINVAL);
    EXPECT_EQ(fs_->unlink(root(), bad).err(), EINVAL);
    EXPECT_EQ(fs_->rename(root(), "a", root(), bad).err(), EINVAL);
  }
  EXPECT_EQ(fs_->lookup(root(), std::string(256, 'n')).err(), ENAMETOOLONG);
}

TEST_F(HostDirFsLookup, DoesNotFollowASymlinkOutOfTheExport) {
  ASSERT_EQ(::symlink("/etc", host_path("esc").c_str()), 0);
  auto link = fs_->lookup(root(), "esc");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->type, FileType::kSymlink);
  EXPECT_EQ(fs_->lookup(link->ino, "passwd").err(), ENOTDIR);
  EXPECT_EQ(fs_->readdir(link->ino, 0, 10).err(), ENOTDIR);
}

TEST_F(HostDirFsLookup, ParentOfANestedDirectoryIsItsContainingDirectory) {
  Attr a = mkdir(root(), "a");
  Attr b = mkdir(a.ino, "b");
  auto pb = fs_->lookup_parent(b.ino);
  ASSERT_TRUE(pb);
  EXPECT_EQ(pb->ino, a.ino);
  auto pa = fs_->lookup_parent(a.ino);
  ASSERT_TRUE(pa);
  EXPECT_EQ(pa->ino, root());
}

TEST_F(HostDirFsLookup, EntriesOnAnotherFilesystemAreRefusedAndNotListed) {
  mkdir(root(), "mnt");
  create(root(), "plain");
  if (mount("hostdir_test", host_path("mnt").c_str(), "tmpfs", 0, nullptr) != 0) {
    GTEST_SKIP() << "cannot mount here: " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{host_path("mnt")};
  EXPECT_EQ(fs_->lookup(root(), "mnt").err(), EXDEV);
  auto page = fs_->readdir(root(), 0, 10);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->entries[0].name, "plain");
}

using HostDirFsAttrs = HostDirFsTest;

TEST_F(HostDirFsAttrs, GetattrReportsWhatTheHostSees) {
  Attr f = file_with("f", std::string(5000, 'x'));
  ASSERT_EQ(chmod(host_path("f").c_str(), 0640), 0);
  ASSERT_EQ(chown(host_path("f").c_str(), 1234, 5678), 0);
  Attr a = getattr(f.ino);
  struct stat st;
  ASSERT_EQ(stat(host_path("f").c_str(), &st), 0);
  EXPECT_EQ(a.ino, st.st_ino);
  EXPECT_EQ(a.type, FileType::kRegular);
  EXPECT_EQ(a.mode, 0640u);
  EXPECT_EQ(a.nlink, 1u);
  EXPECT_EQ(a.uid, 1234u);
  EXPECT_EQ(a.gid, 5678u);
  EXPECT_EQ(a.size, 5000u);
  EXPECT_EQ(a.space_used, static_cast<uint64_t>(st.st_blocks) * 512);
  EXPECT_EQ(a.mtime, (Timespec{st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec)}));
  EXPECT_EQ(a.ctime, (Timespec{st.st_ctim.tv_sec, static_cast<uint32_t>(st.st_ctim.tv_nsec)}));
}

TEST_F(HostDirFsAttrs, SetattrChangesModeIncludingSpecialBits) {
  Attr f = create(root(), "f");
  SetAttr sa;
  sa.mode = 04750;
  auto r = fs_->setattr(f.ino, sa);
  ASSERT_TRUE(r) << std::strerror(r.err());
  EXPECT_EQ(r->mode, 04750u);
  struct stat st;
  ASSERT_EQ(stat(host_path("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04750u);
}

TEST_F(HostDirFsAttrs, SetattrChangesOwnerAndGroupIndependently) {
  Attr f = create(root(), "f");
  SetAttr uid_only;
  uid_only.uid = 1111;
  auto r = fs_->setattr(f.ino, uid_only);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->uid, 1111u);
  EXPECT_EQ(r->gid, 0u);
  SetAttr gid_only;
  gid_only.gid = 2222;
  r = fs_->setattr(f.ino, gid_only);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->uid, 1111u);
  EXPECT_EQ(r->gid, 2222u);
}

TEST_F(HostDirFsAttrs, SetattrSizeGrowsWithZerosAndShrinks) {
  Attr f = file_with("f", "0123456789");
  SetAttr grow;
  grow.size = 1 << 20;
  auto r = fs_->setattr(f.ino, grow);
  ASSERT_TRUE(r) << std::strerror(r.err());
  EXPECT_EQ(r->size, 1u << 20);
  std::string data = read_all(f.ino, 2 << 20);
  ASSERT_EQ(data.size(), 1u << 20);
  EXPECT_EQ(data.substr(0, 10), "0123456789");
  EXPECT_EQ(data.find_first_not_of('\0', 10), std::string::npos);

  SetAttr shrink;
  shrink.size = 4;
  r = fs_->setattr(f.ino, shrink);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size, 4u);
  EXPECT_EQ(read_all(f.ino), "0123");
}

TEST_F(HostDirFsAttrs, SetattrSizeOfADirectoryIsEISDIR) {
  Attr d = mkdir(root(), "d");
  SetAttr sa;
  sa.size = 0;
  EXPECT_EQ(fs_->setattr(d.ino, sa).err(), EISDIR);
}

TEST_F(HostDirFsAttrs, SetattrSetsGivenTimesExactly) {
  Attr f = create(root(), "f");
  SetAttr sa;
  sa.atime_how = SetAttr::TimeHow::kGiven;
  sa.atime = {1000000000, 123};
  sa.mtime_how = SetAttr::TimeHow::kGiven;
  sa.mtime = {1234567890, 999999999};
  auto r = fs_->setattr(f.ino, sa);
  ASSERT_TRUE(r) << std::strerror(r.err());
  EXPECT_EQ(r->atime, (Timespec{1000000000, 123}));
  EXPECT_EQ(r->mtime, (Timespec{1234567890, 999999999}));
}

TEST_F(HostDirFsAttrs, SetattrServerNowSetsTimesToTheCurrentTime) {
  Attr f = create(root(), "f");
  SetAttr old;
  old.atime_how = old.mtime_how = SetAttr::TimeHow::kGiven;
  old.atime = old.mtime = {1000, 0};
  ASSERT_TRUE(fs_->setattr(f.ino, old));
  SetAttr now;
  now.mtime_how = SetAttr::TimeHow::kServerNow;
  auto r = fs_->setattr(f.ino, now);
  ASSERT_TRUE(r);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  EXPECT_LE(std::abs(r->mtime.sec - static_cast<int64_t>(ts.tv_sec)), 2);
  EXPECT_EQ(r->atime, (Timespec{1000, 0}));  // kKeep leaves atime alone
}

TEST_F(HostDirFsAttrs, SetattrWithBadNanosecondsIsEINVAL) {
  Attr f = create(root(), "f");
  SetAttr sa;
  sa.mtime_how = SetAttr::TimeHow::kGiven;
  sa.mtime = {1, 1000000000};
  EXPECT_EQ(fs_->setattr(f.ino, sa).err(), EINVAL);
}

TEST_F(HostDirFsAttrs, SetattrOnASymlinkChangesOwnerNotTheTarget) {
  Attr target = create(root(), "target");
  auto link = fs_->symlink(root(), "lnk", "target", Cred{});
  ASSERT_TRUE(link);
  SetAttr sa;
  sa.uid = 4242;
  sa.mode = 0600;
  auto r = fs_->setattr(link->ino, sa);
  ASSERT_TRUE(r) << std::strerror(r.err());
  EXPECT_EQ(r->uid, 4242u);
  Attr t = getattr(target.ino);
  EXPECT_EQ(t.uid, 0u);
  EXPECT_EQ(t.mode, 0644u);
}

TEST_F(HostDirFsAttrs, StatfsReportsSaneNumbers) {
  auto r = fs_->statfs();
  ASSERT_TRUE(r);
  EXPECT_GT(r->bytes_total, 0u);
  EXPECT_LE(r->bytes_free, r->bytes_total);
  EXPECT_LE(r->bytes_avail, r->bytes_free);
  EXPECT_GT(r->files_total, 0u);
  EXPECT_LE(r->files_free, r->files_total);
  EXPECT_EQ(r->name_max, 255u);
}

}  // namespace
}  // namespace pnfsgw::backend::testing
