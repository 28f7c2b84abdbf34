// The libnfs sync API over NFSv3: namespace and attribute operations,
// checked through libnfs and on the host's view of the export.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <set>

#include "tests/integration/nfs3/nfs3_fixture.h"

namespace pnfsgw::nfs3_test {
namespace {
namespace fs = std::filesystem;

using Nfs3ApiTest = Nfs3IntegrationTest;

TEST_F(Nfs3ApiTest, NamespaceOperationsShowOnTheHost) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  nfs_context* n = nfs.get();
  ASSERT_EQ(nfs_mkdir(n, "/d"), 0) << nfs_get_error(n);
  nfsfh* fh = nullptr;
  ASSERT_EQ(nfs_creat(n, "/d/f", 0640, &fh), 0) << nfs_get_error(n);
  const std::string data = "written over nfsv3";
  ASSERT_EQ(nfs_pwrite(n, fh, 0, data.size(), data.data()), static_cast<int>(data.size()))
      << nfs_get_error(n);
  ASSERT_EQ(nfs_fsync(n, fh), 0) << nfs_get_error(n);
  ASSERT_EQ(nfs_close(n, fh), 0);
  EXPECT_EQ(read_host_file(host("/d/f")), data);
  EXPECT_EQ(fs::status(host("/d/f")).permissions(), fs::perms(0640));

  ASSERT_EQ(nfs_rename(n, "/d/f", "/d/g"), 0) << nfs_get_error(n);
  ASSERT_EQ(nfs_link(n, "/d/g", "/d/h"), 0) << nfs_get_error(n);
  ASSERT_EQ(nfs_symlink(n, "g", "/d/s"), 0) << nfs_get_error(n);
  char target[64] = {};
  ASSERT_EQ(nfs_readlink(n, "/d/s", target, sizeof target), 0) << nfs_get_error(n);
  EXPECT_STREQ(target, "g");
  ASSERT_EQ(nfs_chmod(n, "/d/g", 0600), 0) << nfs_get_error(n);
  ASSERT_EQ(nfs_truncate(n, "/d/g", 7), 0) << nfs_get_error(n);

  nfs_stat_64 st{};
  ASSERT_EQ(nfs_stat64(n, "/d/h", &st), 0) << nfs_get_error(n);
  EXPECT_EQ(st.nfs_size, 7u);
  EXPECT_EQ(st.nfs_nlink, 2u);
  EXPECT_EQ(st.nfs_mode & 07777, 0600u);
  EXPECT_EQ(read_host_file(host("/d/h")), "written");

  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(n, "/d", &dir), 0) << nfs_get_error(n);
  std::set<std::string> names;
  while (nfsdirent* e = nfs_readdir(n, dir)) names.insert(e->name);
  nfs_closedir(n, dir);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "g", "h", "s"}));

  ASSERT_EQ(nfs_unlink(n, "/d/g"), 0) << nfs_get_error(n);
  ASSERT_EQ(nfs_unlink(n, "/d/h"), 0) << nfs_get_error(n);
  ASSERT_EQ(nfs_unlink(n, "/d/s"), 0) << nfs_get_error(n);
  ASSERT_EQ(nfs_rmdir(n, "/d"), 0) << nfs_get_error(n);
  EXPECT_FALSE(fs::exists(host("/d")));
}

TEST_F(Nfs3ApiTest, ErrorsComeBackAsErrnos) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  nfs_context* n = nfs.get();
  fs::create_directories(host("/full/inner"));
  nfs_stat_64 st{};
  EXPECT_EQ(nfs_stat64(n, "/missing", &st), -ENOENT);
  EXPECT_EQ(nfs_rmdir(n, "/full"), -ENOTEMPTY);
  EXPECT_EQ(nfs_mkdir(n, "/full"), -EEXIST);
}

TEST_F(Nfs3ApiTest, ListsADirectoryOfThousandsOfEntries) {
  fs::create_directory(host("/many"));
  for (int i = 0; i < 3000; i++) write_host_file(host("/many/file-" + std::to_string(i)), "");
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  nfsdir* dir = nullptr;
  ASSERT_EQ(nfs_opendir(nfs.get(), "/many", &dir), 0) << nfs_get_error(nfs.get());
  std::set<std::string> names;
  while (nfsdirent* e = nfs_readdir(nfs.get(), dir)) EXPECT_TRUE(names.insert(e->name).second);
  nfs_closedir(nfs.get(), dir);
  EXPECT_EQ(names.size(), 3002u);
}

TEST_F(Nfs3ApiTest, StatvfsReportsTheHostFilesystem) {
  NfsContext nfs = mount();
  ASSERT_TRUE(nfs);
  struct statvfs sv {};
  ASSERT_EQ(nfs_statvfs(nfs.get(), "/", &sv), 0) << nfs_get_error(nfs.get());
  EXPECT_GT(sv.f_blocks, 0u);
  EXPECT_GT(sv.f_files, 0u);
}

}  // namespace
}  // namespace pnfsgw::nfs3_test
