// libnfs's command-line tools (nfs-ls, nfs-cat, nfs-cp from libnfs-utils)
// against the real server over NFSv4. libnfs 4.0.0 cannot send an NFSv4
// WRITE of more than about 3.9 KiB (the whole COMPOUND must fit in about
// 4 KiB; nfs-cp writes a file in one call), so writes use files of at most
// 1000 bytes; reads use large files created on the host side.
#include <sys/stat.h>

#include <filesystem>

#include "tests/integration/libnfs/libnfs_fixture.h"

namespace pnfsgw::libnfs_test {
namespace {
namespace fs = std::filesystem;

using LibnfsToolsTest = LibnfsTest;

// The nfs-ls line for `name` ("<mode> <nlink> <uid> <gid> <size> <name>"),
// or "" when it is not listed.
std::string ls_line(const std::string& listing, const std::string& name) {
  size_t start = 0;
  while (start < listing.size()) {
    size_t end = listing.find('\n', start);
    if (end == std::string::npos) end = listing.size();
    std::string line = listing.substr(start, end - start);
    if (line.size() > name.size() &&
        line.compare(line.size() - name.size() - 1, std::string::npos, " " + name) == 0)
      return line;
    start = end + 1;
  }
  return "";
}

TEST_F(LibnfsToolsTest, NfsLsListsEntriesCreatedOnTheServerSide) {
  write_host_file(host("/alpha"), "12345");
  write_host_file(host("/beta"), random_bytes(70000, 1));
  fs::create_directory(host("/gamma"));

  CommandResult r = run_command({"nfs-ls", url("/")});
  ASSERT_EQ(r.status, 0) << r.errors;
  std::string alpha = ls_line(r.output, "alpha"), beta = ls_line(r.output, "beta"),
              gamma = ls_line(r.output, "gamma");
  EXPECT_TRUE(alpha.starts_with("-rw-") && alpha.ends_with(" 5 alpha")) << r.output;
  EXPECT_TRUE(beta.starts_with("-rw-") && beta.ends_with(" 70000 beta")) << r.output;
  EXPECT_TRUE(gamma.starts_with("d")) << "gamma is not listed as a directory:\n" << r.output;
}

TEST_F(LibnfsToolsTest, NfsLsOfASubdirectoryListsOnlyItsEntries) {
  fs::create_directories(host("/dir/inner"));
  write_host_file(host("/dir/one"), "1");
  write_host_file(host("/outside"), "x");

  CommandResult r = run_command({"nfs-ls", url("/dir")});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_NE(ls_line(r.output, "one"), "") << r.output;
  EXPECT_TRUE(ls_line(r.output, "inner").starts_with("d")) << r.output;
  EXPECT_EQ(ls_line(r.output, "outside"), "") << r.output;
}

TEST_F(LibnfsToolsTest, NfsCatPrintsAFileInTheRootByteForByte) {
  std::string data = random_bytes(4097, 2);
  write_host_file(host("/rootfile"), data);
  CommandResult r = run_command({"nfs-cat", root_file_url("rootfile")});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_TRUE(SameBytes(r.output, data));
}

TEST_F(LibnfsToolsTest, NfsCatPrintsAMultiMiBFileByteForByte) {
  std::string data = random_bytes((3u << 20) + 5, 3);
  fs::create_directory(host("/d"));
  write_host_file(host("/d/big"), data);
  CommandResult r = run_command({"nfs-cat", url("/d/big")});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_TRUE(SameBytes(r.output, data));
}

TEST_F(LibnfsToolsTest, NfsCatOfAMissingFileFails) {
  CommandResult r = run_command({"nfs-cat", root_file_url("no-such-file")});
  EXPECT_NE(r.status, 0) << r.output;
}

TEST_F(LibnfsToolsTest, NfsCpCopiesALargeFileOutOfTheServer) {
  std::string data = random_bytes((16u << 20) + 3, 4);
  fs::create_directory(host("/out"));
  write_host_file(host("/out/large"), data);
  std::string local = server_->scratch_dir() + "/copied-out";

  CommandResult r = run_command({"nfs-cp", url("/out/large"), local});
  ASSERT_EQ(r.status, 0) << r.output << r.errors;
  EXPECT_TRUE(SameBytes(read_host_file(local), data));
}

TEST_F(LibnfsToolsTest, NfsCpCopiesSmallFilesIntoTheServerAndTheyReadBack) {
  fs::create_directory(host("/in"));
  for (size_t size : {size_t{1}, size_t{100}, size_t{1000}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::string data = random_bytes(size, 5 + size);
    std::string local = server_->scratch_dir() + "/local-" + std::to_string(size);
    write_host_file(local, data);
    std::string name = "/in/f" + std::to_string(size);

    CommandResult r = run_command({"nfs-cp", local, url(name)});
    ASSERT_EQ(r.status, 0) << r.output << r.errors;
    EXPECT_TRUE(SameBytes(read_host_file(host(name)), data)) << "host view of " << name;
    CommandResult cat = run_command({"nfs-cat", url(name)});
    ASSERT_EQ(cat.status, 0) << cat.errors;
    EXPECT_TRUE(SameBytes(cat.output, data)) << "nfs-cat of " << name;
  }
}

// No nfs-cp from one nfs:// URL to another: nfs-cp opens two libnfs
// contexts in one process, and libnfs 4.0.0 names both NFSv4 clients
// "Libnfs pid:<pid> <seconds>" with verifiers that differ by the
// millisecond clock, so the second SETCLIENTID is a reboot of the first
// client and (RFC 7530 16.34) the server drops the first one's open state:
// the read then fails with NFS4ERR_BAD_STATEID. See
// LibnfsApiTest.TwoContextsWithDistinctClientNamesKeepTheirOwnOpenState.

}  // namespace
}  // namespace pnfsgw::libnfs_test
