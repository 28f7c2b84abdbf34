// The libnfs sync API (NFSv4) against the real server: each test drives one
// client-visible behaviour and checks it both through libnfs and on the
// host's view of the export directory.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <vector>

#include "tests/integration/libnfs/libnfs_fixture.h"

namespace pnfsgw::libnfs_test {
namespace {
namespace fs = std::filesystem;

using LibnfsApiTest = LibnfsTest;

// Reads a whole file through nfs_open/nfs_read/nfs_close in chunks of `chunk`.
std::string read_all(nfs_context* nfs, const std::string& path, size_t chunk) {
  nfsfh* fh = nullptr;
  int rc = nfs_open(nfs, path.c_str(), O_RDONLY, &fh);
  if (rc != 0) {
    ADD_FAILURE() << "nfs_open(" << path << "): " << rc << " " << nfs_get_error(nfs);
    return {};
  }
  std::string out;
  std::vector<char> buf(chunk);
  for (;;) {
    int n = nfs_read(nfs, fh, buf.size(), buf.data());
    if (n < 0) {
      ADD_FAILURE() << "nfs_read(" << path << ") at " << out.size() << ": " << n << " "
                    << nfs_get_error(nfs);
      break;
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  EXPECT_EQ(nfs_close(nfs, fh), 0) << nfs_get_error(nfs);
  return out;
}

TEST_F(LibnfsApiTest, MountsTheRootWhichIsADirectory) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  nfs_stat_64 st{};
  ASSERT_EQ(nfs_stat64(nfs.get(), "/", &st), 0) << nfs_get_error(nfs.get());
  EXPECT_TRUE(S_ISDIR(st.nfs_mode)) << std::oct << st.nfs_mode;
}

TEST_F(LibnfsApiTest, Stat64ReportsTypeSizeModeAndLinkCount) {
  write_host_file(host("/file"), random_bytes(12345, 1));
  fs::permissions(host("/file"), fs::perms(0640));
  fs::create_directory(host("/dir"));
  fs::create_hard_link(host("/file"), host("/link"));
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);

  nfs_stat_64 st{};
  ASSERT_EQ(nfs_stat64(nfs.get(), "/file", &st), 0) << nfs_get_error(nfs.get());
  EXPECT_TRUE(S_ISREG(st.nfs_mode));
  EXPECT_EQ(st.nfs_size, 12345u);
  EXPECT_EQ(st.nfs_mode & 07777, 0640u);
  EXPECT_EQ(st.nfs_nlink, 2u);
  struct stat host_st {};
  ASSERT_EQ(stat(host("/file").c_str(), &host_st), 0);
  EXPECT_EQ(st.nfs_mtime, static_cast<uint64_t>(host_st.st_mtim.tv_sec));

  nfs_stat_64 link{};
  ASSERT_EQ(nfs_stat64(nfs.get(), "/link", &link), 0) << nfs_get_error(nfs.get());
  EXPECT_EQ(link.nfs_ino, st.nfs_ino) << "hard links must share the fileid";

  ASSERT_EQ(nfs_stat64(nfs.get(), "/dir", &st), 0) << nfs_get_error(nfs.get());
  EXPECT_TRUE(S_ISDIR(st.nfs_mode));
}

TEST_F(LibnfsApiTest, StatOfAMissingPathIsENOENT) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  nfs_stat_64 st{};
  EXPECT_EQ(nfs_stat64(nfs.get(), "/missing", &st), -ENOENT);
  EXPECT_EQ(nfs_stat64(nfs.get(), "/missing/deeper", &st), -ENOENT);
}

TEST_F(LibnfsApiTest, ReadsAMultiMiBFileInChunksAndAtOffsets) {
  std::string data = random_bytes((5u << 20) + 17, 2);
  fs::create_directory(host("/r"));
  write_host_file(host("/r/data"), data);
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);

  EXPECT_TRUE(SameBytes(read_all(nfs.get(), "/r/data", 1u << 20), data));
  EXPECT_TRUE(SameBytes(read_all(nfs.get(), "/r/data", 4096 + 3), data));

  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open(nfs.get(), "/r/data", O_RDONLY, &fh), 0) << nfs_get_error(nfs.get());
  char buf[100];
  ASSERT_EQ(nfs_pread(nfs.get(), fh, 3u << 20, sizeof buf, buf), 100) << nfs_get_error(nfs.get());
  EXPECT_EQ(std::string(buf, 100), data.substr(3u << 20, 100));
  int tail = nfs_pread(nfs.get(), fh, data.size() - 10, sizeof buf, buf);
  EXPECT_EQ(tail, 10) << "a read across EOF returns the remaining bytes";
  EXPECT_EQ(nfs_pread(nfs.get(), fh, data.size() + 100, sizeof buf, buf), 0) << "read past EOF";
  EXPECT_EQ(nfs_close(nfs.get(), fh), 0);
}

TEST_F(LibnfsApiTest, ReaddirListsEveryEntryWithItsType) {
  fs::create_directory(host("/many"));
  std::set<std::string> want;
  for (int i = 0; i < 600; ++i) {
    std::string name = "entry-with-a-fairly-long-name-" + std::to_string(i);
    write_host_file(host("/many/" + name), std::string(static_cast<size_t>(i), 'x'));
    want.insert(name);
  }
  fs::create_directory(host("/many/subdir"));
  want.insert("subdir");
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);

  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(nfs.get(), "/many", &dir), 0) << nfs_get_error(nfs.get());
  std::set<std::string> got;
  while (nfsdirent* e = nfs_readdir(nfs.get(), dir)) {
    std::string name = e->name;
    if (name == "." || name == "..") continue;
    EXPECT_TRUE(got.insert(name).second) << "listed twice: " << name;
    if (name == "subdir") {
      EXPECT_TRUE(S_ISDIR(e->mode)) << std::oct << e->mode;
    } else if (name.rfind("entry-", 0) == 0) {
      EXPECT_TRUE(S_ISREG(e->mode)) << name << " " << std::oct << e->mode;
      EXPECT_EQ(e->size, std::stoull(name.substr(name.rfind('-') + 1))) << name;
    }
  }
  nfs_closedir(nfs.get(), dir);
  EXPECT_EQ(got, want);
}

TEST_F(LibnfsApiTest, MkdirCreatesADirectoryAndRefusesAnExistingName) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  ASSERT_EQ(nfs_mkdir(nfs.get(), "/made"), 0) << nfs_get_error(nfs.get());
  EXPECT_TRUE(fs::is_directory(host("/made")));
  ASSERT_EQ(nfs_mkdir(nfs.get(), "/made/nested"), 0) << nfs_get_error(nfs.get());
  EXPECT_TRUE(fs::is_directory(host("/made/nested")));
  EXPECT_EQ(nfs_mkdir(nfs.get(), "/made"), -EEXIST);
}

TEST_F(LibnfsApiTest, RmdirRemovesAnEmptyDirectoryOnly) {
  fs::create_directories(host("/full/child"));
  fs::create_directory(host("/empty"));
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  EXPECT_EQ(nfs_rmdir(nfs.get(), "/full"), -ENOTEMPTY);
  EXPECT_TRUE(fs::exists(host("/full/child")));
  EXPECT_EQ(nfs_rmdir(nfs.get(), "/empty"), 0) << nfs_get_error(nfs.get());
  EXPECT_FALSE(fs::exists(host("/empty")));
}

TEST_F(LibnfsApiTest, RenameMovesAFileAndReplacesAnExistingTarget) {
  fs::create_directory(host("/ren"));
  write_host_file(host("/ren/a"), "content of a");
  write_host_file(host("/ren/b"), "content of b");
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);

  ASSERT_EQ(nfs_rename(nfs.get(), "/ren/a", "/ren/b"), 0) << nfs_get_error(nfs.get());
  EXPECT_FALSE(fs::exists(host("/ren/a")));
  EXPECT_EQ(read_host_file(host("/ren/b")), "content of a");

  fs::create_directory(host("/ren/sub"));
  ASSERT_EQ(nfs_rename(nfs.get(), "/ren/b", "/ren/sub/c"), 0) << nfs_get_error(nfs.get());
  EXPECT_EQ(read_host_file(host("/ren/sub/c")), "content of a");
  EXPECT_EQ(read_all(nfs.get(), "/ren/sub/c", 4096), "content of a");

  ASSERT_EQ(nfs_rename(nfs.get(), "/ren/sub", "/ren/moved"), 0) << nfs_get_error(nfs.get());
  EXPECT_TRUE(fs::exists(host("/ren/moved/c")));
  EXPECT_EQ(nfs_rename(nfs.get(), "/ren/nothing", "/ren/x"), -ENOENT);
}

TEST_F(LibnfsApiTest, UnlinkRemovesAFileAndReportsMissingOnes) {
  write_host_file(host("/gone"), "bye");
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  ASSERT_EQ(nfs_unlink(nfs.get(), "/gone"), 0) << nfs_get_error(nfs.get());
  EXPECT_FALSE(fs::exists(host("/gone")));
  nfs_stat_64 st{};
  EXPECT_EQ(nfs_stat64(nfs.get(), "/gone", &st), -ENOENT);
  EXPECT_EQ(nfs_unlink(nfs.get(), "/gone"), -ENOENT);
}

// Small writes only: libnfs 4.0.0's NFSv4 WRITE fails beyond about 1 KiB.
TEST_F(LibnfsApiTest, CreatesAndWritesASmallFileVisibleOnTheHost) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  std::string data = random_bytes(777, 3);
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open2(nfs.get(), "/written", O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh), 0)
      << nfs_get_error(nfs.get());
  ASSERT_EQ(nfs_write(nfs.get(), fh, data.size(), data.data()), static_cast<int>(data.size()))
      << nfs_get_error(nfs.get());
  ASSERT_EQ(nfs_close(nfs.get(), fh), 0) << nfs_get_error(nfs.get());

  EXPECT_TRUE(SameBytes(read_host_file(host("/written")), data));
  nfs_stat_64 st{};
  ASSERT_EQ(nfs_stat64(nfs.get(), "/written", &st), 0) << nfs_get_error(nfs.get());
  EXPECT_EQ(st.nfs_size, data.size());
  EXPECT_TRUE(SameBytes(read_all(nfs.get(), "/written", 4096), data));
}

// Many WRITEs at increasing offsets, each small enough for libnfs's NFSv4
// encoder, build a file larger than any single one.
TEST_F(LibnfsApiTest, ManySmallWritesBuildALargerFile) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  std::string data = random_bytes(64 * 1024 + 123, 4);
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open2(nfs.get(), "/pieces", O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh), 0)
      << nfs_get_error(nfs.get());
  for (size_t off = 0; off < data.size(); off += 1000) {
    size_t n = std::min<size_t>(1000, data.size() - off);
    ASSERT_EQ(nfs_pwrite(nfs.get(), fh, off, n, data.data() + off), static_cast<int>(n))
        << "at offset " << off << ": " << nfs_get_error(nfs.get());
  }
  ASSERT_EQ(nfs_fsync(nfs.get(), fh), 0) << nfs_get_error(nfs.get());
  ASSERT_EQ(nfs_close(nfs.get(), fh), 0) << nfs_get_error(nfs.get());
  EXPECT_TRUE(SameBytes(read_host_file(host("/pieces")), data));
  EXPECT_TRUE(SameBytes(read_all(nfs.get(), "/pieces", 1u << 20), data));
}

// Two clients with their own names: one's OPEN must survive the other's
// SETCLIENTID. (libnfs's default names collide within a process; see
// libnfs_tools_test.cc.)
TEST_F(LibnfsApiTest, TwoContextsWithDistinctClientNamesKeepTheirOwnOpenState) {
  std::string data = random_bytes(300000, 5);
  write_host_file(host("/shared"), data);
  NfsContext first = mount("libnfs-test-client-one");
  ASSERT_TRUE(first);
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_open(first.get(), "/shared", O_RDONLY, &fh), 0) << nfs_get_error(first.get());

  NfsContext second = mount("libnfs-test-client-two");
  ASSERT_TRUE(second);
  EXPECT_TRUE(SameBytes(read_all(second.get(), "/shared", 65536), data));

  std::vector<char> buf(data.size());
  ASSERT_EQ(nfs_pread(first.get(), fh, 0, buf.size(), buf.data()), static_cast<int>(buf.size()))
      << "the first client's open state after the second client mounted: "
      << nfs_get_error(first.get());
  EXPECT_TRUE(SameBytes(std::string(buf.data(), buf.size()), data));
  EXPECT_EQ(nfs_close(first.get(), fh), 0) << nfs_get_error(first.get());
}

}  // namespace
}  // namespace pnfsgw::libnfs_test
