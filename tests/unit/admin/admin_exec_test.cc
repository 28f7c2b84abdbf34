// Admin commands against a real Filesystem (HostDirFs on /tmp): path
// resolution, the space operations, output, and the error messages.
#include "gateway/admin/admin_exec.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/unit/admin/admin_test_util.h"

namespace pnfsgw::admin::testing {
namespace {

constexpr size_t kBlock = 4096;

std::string blocks(std::string_view letters) {
  std::string s;
  for (char c : letters) s += std::string(kBlock, c);
  return s;
}

class AdminExec : public HostDirFixture {
 protected:
  AdminReply run(const std::vector<std::string>& words) { return run_command(*fs_, words); }
  void expect_ok(const std::vector<std::string>& words) {
    AdminReply r = run(words);
    EXPECT_EQ(r.err, 0) << words[0] << ": " << r.text;
  }
};

TEST_F(AdminExec, ResolvesAbsoluteAndRelativePathsComponentByComponent) {
  InodeId d = mkdir("dir");
  InodeId s = mkdir("sub", d);
  InodeId f = file_with("file", "x", s);
  std::string err;
  for (const char* p : {"/dir/sub/file", "dir/sub/file"}) {
    auto a = resolve_path(*fs_, p, &err);
    ASSERT_TRUE(a) << err;
    EXPECT_EQ(a->ino, f);
  }
  auto root = resolve_path(*fs_, "/", &err);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->ino, fs_->root());
}

TEST_F(AdminExec, ResolveErrorsNameThePath) {
  InodeId d = mkdir("dir");
  file_with("file", "x", d);
  ASSERT_TRUE(fs_->symlink(fs_->root(), "link", "dir", Cred{}));
  std::string err;
  auto r = resolve_path(*fs_, "/dir/nope", &err);
  EXPECT_EQ(r.err(), ENOENT);
  EXPECT_EQ(err, "/dir/nope: No such file or directory");
  r = resolve_path(*fs_, "/nope/file", &err);
  EXPECT_EQ(r.err(), ENOENT);
  r = resolve_path(*fs_, "/dir/file/more", &err);
  EXPECT_EQ(r.err(), ENOTDIR);
  EXPECT_EQ(err, "/dir/file/more: 'dir/file' is not a directory");
  // Symlinks are never followed.
  r = resolve_path(*fs_, "/link/file", &err);
  EXPECT_EQ(r.err(), ENOTDIR);
  EXPECT_EQ(err, "/link/file: 'link' is not a directory");
  r = resolve_path(*fs_, "/dir/../dir/file", &err);
  EXPECT_EQ(r.err(), EINVAL);
  r = resolve_path(*fs_, "dir//file", &err);
  EXPECT_EQ(r.err(), EINVAL);
}

TEST_F(AdminExec, InsertAndCollapseRangeShiftTheData) {
  InodeId d = mkdir("dir");
  InodeId f = file_with("f", blocks("abc"), d);
  expect_ok({"fallocate", "--insert-range", "/dir/f", "4K", "8K"});
  EXPECT_TRUE(read_all(f) == blocks("a") + std::string(2 * kBlock, '\0') + blocks("bc"));
  expect_ok({"fallocate", "--collapse-range", "dir/f", "0", "12K"});
  EXPECT_TRUE(read_all(f) == blocks("bc"));
}

TEST_F(AdminExec, PunchZeroAndAllocate) {
  InodeId f = file_with("f", blocks("abc"));
  expect_ok({"fallocate", "--punch-hole", "/f", "4K", "4K"});
  EXPECT_EQ(read_all(f), blocks("a") + std::string(kBlock, '\0') + blocks("c"));
  expect_ok({"fallocate", "--zero-range", "/f", "0", "10"});
  EXPECT_EQ(read_all(f).substr(0, 11), std::string(10, '\0') + "a");
  expect_ok({"fallocate", "--allocate", "/f", "0", "1M"});
  EXPECT_EQ(fs_->getattr(f)->size, 1u << 20);
}

TEST_F(AdminExec, TheBackendsRefusalComesBackWithAHint) {
  file_with("f", blocks("abc"));
  AdminReply r = run({"fallocate", "--insert-range", "/f", "1", "4K"});
  EXPECT_EQ(r.err, EINVAL);
  EXPECT_EQ(r.text.rfind("fallocate --insert-range /f: Invalid argument (OFFSET and LENGTH", 0), 0u)
      << r.text;
  r = run({"fallocate", "--punch-hole", "/f", "0", "0"});
  EXPECT_EQ(r.err, EINVAL);
  EXPECT_EQ(r.text, "fallocate --punch-hole /f: Invalid argument");
}

TEST_F(AdminExec, OnlyRegularFilesAreOperatedOn) {
  mkdir("dir");
  AdminReply r = run({"fallocate", "--punch-hole", "/dir", "0", "1"});
  EXPECT_EQ(r.err, EISDIR);
  EXPECT_EQ(r.text, "/dir: is a directory, not a regular file");
  r = run({"extents", "/"});
  EXPECT_EQ(r.err, EISDIR);
  file_with("f", "x");
  r = run({"copy", "/f", "0", "/dir", "0", "1"});
  EXPECT_EQ(r.err, EISDIR);
  ASSERT_TRUE(fs_->symlink(fs_->root(), "l", "f", Cred{}));
  r = run({"seek", "/l", "0", "data"});
  EXPECT_EQ(r.err, EINVAL);
  EXPECT_EQ(r.text, "/l: is a symbolic link, not a regular file");
}

TEST_F(AdminExec, AMissingFileIsNamed) {
  AdminReply r = run({"fallocate", "--punch-hole", "/nope", "0", "1"});
  EXPECT_EQ(r.err, ENOENT);
  EXPECT_EQ(r.text, "/nope: No such file or directory");
  file_with("f", "x");
  r = run({"clone", "/f", "0", "/g", "0", "1"});
  EXPECT_EQ(r.err, ENOENT);
  EXPECT_EQ(r.text, "/g: No such file or directory");
}

TEST_F(AdminExec, CopySeekAndExtentsPrintTheirResults) {
  InodeId src = file_with("src", blocks("ab"));
  InodeId dst = file_with("dst", "");
  AdminReply r = run({"copy", "/src", "4K", "/dst", "0", "1M"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(r.text, "4096 bytes copied\n");
  EXPECT_EQ(read_all(dst), blocks("b"));

  ASSERT_TRUE(fs_->punch_hole(src, 0, kBlock));
  r = run({"seek", "/src", "0", "data"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(r.text, "4096\n");
  r = run({"seek", "/src", "8K", "hole"});
  EXPECT_EQ(r.err, ENXIO);
  EXPECT_EQ(r.text, "seek /src: OFFSET 8192 is at or past end of file");

  r = run({"extents", "/src"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(r.text.rfind("OFFSET", 0), 0u) << r.text;
  EXPECT_NE(r.text.find("\n4096 "), std::string::npos) << r.text;
  EXPECT_EQ(r.text.find("\n0 "), std::string::npos) << "the punched block is not mapped";
  r = run({"extents", "/src", "0", "4K"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(std::count(r.text.begin(), r.text.end(), '\n'), 1) << "header only: " << r.text;
}

TEST_F(AdminExec, UnwrittenExtentsAreFlagged) {
  file_with("f", "");
  expect_ok({"fallocate", "--allocate", "/f", "0", "64K"});
  AdminReply r = run({"extents", "/f"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_NE(r.text.find(" unwritten\n"), std::string::npos) << r.text;
}

TEST_F(AdminExec, StatAndStatusDescribeFileAndBackend) {
  InodeId f = file_with("f", "12345");
  chmod((dir_ + "/export/f").c_str(), 0640);
  AdminReply r = run({"stat", "/f"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_NE(r.text.find("inode: " + std::to_string(f) + "\n"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("type: regular file\n"), std::string::npos);
  EXPECT_NE(r.text.find("mode: 0640\n"), std::string::npos);
  EXPECT_NE(r.text.find("size: 5\n"), std::string::npos);
  EXPECT_NE(r.text.find("change: "), std::string::npos);
  r = run({"stat", "/"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_NE(r.text.find("type: directory\n"), std::string::npos);
  r = run({"status"});
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(r.text.rfind("read_only: no\nbytes_total: ", 0), 0u) << r.text;
  EXPECT_NE(r.text.find("files_free: "), std::string::npos);
}

TEST_F(AdminExec, AReadOnlyBackendRefusesChangesButAnswersQueries) {
  InodeId f = file_with("f", blocks("ab"));
  fs_->read_only_ = true;
  AdminReply r = run({"fallocate", "--punch-hole", "/f", "0", "4K"});
  EXPECT_EQ(r.err, EROFS);
  EXPECT_EQ(r.text, "fallocate --punch-hole: the backend is read-only; changes are refused");
  EXPECT_EQ(run({"copy", "/f", "0", "/f", "8K", "1"}).err, EROFS);
  EXPECT_EQ(read_all(f), blocks("ab"));
  expect_ok({"stat", "/f"});
  expect_ok({"seek", "/f", "0", "data"});
  r = run({"status"});
  EXPECT_EQ(r.text.rfind("read_only: yes\n", 0), 0u) << r.text;
}

TEST_F(AdminExec, ABackendWithoutTheOperationSaysSo) {
  file_with("f", blocks("ab"));
  file_with("g", blocks("ab"));
  fs_->space_ops_ = false;
  AdminReply r = run({"fallocate", "--insert-range", "/f", "0", "4K"});
  EXPECT_EQ(r.err, ENOTSUP);
  EXPECT_EQ(r.text, "fallocate --insert-range /f: operation not supported by the backend");
  r = run({"dedupe", "/f", "0", "/g", "0", "4K"});
  EXPECT_EQ(r.err, ENOTSUP);
  EXPECT_EQ(r.text, "dedupe /f: operation not supported by the backend");
  EXPECT_EQ(run({"extents", "/f"}).err, ENOTSUP);
}

TEST_F(AdminExec, CloneWorksOrSaysTheBackendCannot) {
  file_with("f", blocks("ab"));
  InodeId g = file_with("g", blocks("ba"));
  AdminReply r = run({"clone", "/f", "0", "/g", "0", "4K"});
  if (r.err == ENOTSUP) {  // ext4
    EXPECT_EQ(r.text, "clone /f: operation not supported by the backend");
    EXPECT_EQ(read_all(g), blocks("ba"));
    return;
  }
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(read_all(g), blocks("aa"));
}

TEST_F(AdminExec, DedupeSharesEqualRangesAndRefusesDifferentOnes) {
  InodeId f = file_with("f", blocks("ab"));
  InodeId g = file_with("g", blocks("ba"));
  AdminReply r = run({"dedupe", "/f", "0", "/g", "4K", "4K"});
  if (r.err == ENOTSUP) GTEST_SKIP() << "the host filesystem cannot dedupe: " << r.text;
  ASSERT_EQ(r.err, 0) << r.text;
  EXPECT_EQ(r.text, "4096 bytes deduplicated\n");
  r = run({"dedupe", "/f", "0", "/g", "0", "4K"});
  EXPECT_EQ(r.err, EBADE);
  EXPECT_EQ(r.text, "dedupe: the ranges of /f and /g differ; nothing was shared");
  EXPECT_EQ(read_all(f), blocks("ab"));
  EXPECT_EQ(read_all(g), blocks("ba"));
}

TEST_F(AdminExec, ABadCommandIsAnErrorReplyNotACrash) {
  AdminReply r = run({"fallocate", "--punch-hole", "/f", "4X", "1"});
  EXPECT_EQ(r.err, EINVAL);
  EXPECT_EQ(r.text, "bad OFFSET '4X' (a number with an optional K, M, G or T suffix)");
  EXPECT_EQ(run({}).err, EINVAL);
  EXPECT_EQ(run({"nonsense"}).text, "unknown command 'nonsense'");
}

}  // namespace
}  // namespace pnfsgw::admin::testing
