// libnfs's command-line tools (nfs-cp, nfs-ls, nfs-cat) against the real
// server over NFSv3, with MOUNT on the NFS port.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "tests/integration/nfs3/nfs3_fixture.h"

namespace pnfsgw::nfs3_test {
namespace {
namespace fs = std::filesystem;

using Nfs3ToolsTest = Nfs3IntegrationTest;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST_F(Nfs3ToolsTest, NfsCpCopies300MiBInAndOutByteExact) {
  constexpr uint64_t kSize = 300ull << 20;
  const std::string src = scratch("src"), back = scratch("back");
  ASSERT_TRUE(write_seeded_file(src, kSize, 20240601));
  const std::string want = sha256_file(src);

  auto t0 = Clock::now();
  CommandResult in = run_command({"nfs-cp", src, root_file_url("big")});
  double in_s = seconds_since(t0);
  ASSERT_EQ(in.status, 0) << in.errors << "\n" << server_->log_tail();
  EXPECT_EQ(fs::file_size(host("/big")), kSize);
  EXPECT_EQ(sha256_file(host("/big")), want);

  auto t1 = Clock::now();
  CommandResult out = run_command({"nfs-cp", root_file_url("big"), back});
  double out_s = seconds_since(t1);
  ASSERT_EQ(out.status, 0) << out.errors << "\n" << server_->log_tail();
  EXPECT_EQ(fs::file_size(back), kSize);
  EXPECT_EQ(sha256_file(back), want);

  std::cout << "nfs-cp 300 MiB over NFSv3: in " << in_s << " s (" << 300 / in_s << " MiB/s), out "
            << out_s << " s (" << 300 / out_s << " MiB/s)\n";
  RecordProperty("copy_in_seconds", std::to_string(in_s));
  RecordProperty("copy_out_seconds", std::to_string(out_s));
}

TEST_F(Nfs3ToolsTest, NfsCpIntoASubdirectoryAndNfsCatBack) {
  fs::create_directory(host("/dir"));
  const std::string data = test::random_bytes((5u << 20) + 3, 7);
  write_host_file(scratch("src"), data);
  CommandResult cp = run_command({"nfs-cp", scratch("src"), url("/dir/file")});
  ASSERT_EQ(cp.status, 0) << cp.errors;
  EXPECT_EQ(read_host_file(host("/dir/file")), data);
  CommandResult cat = run_command({"nfs-cat", url("/dir/file")});
  ASSERT_EQ(cat.status, 0) << cat.errors;
  EXPECT_TRUE(cat.output == data) << "nfs-cat gave " << cat.output.size() << " bytes";
}

TEST_F(Nfs3ToolsTest, NfsLsListsFilesAndDirectories) {
  write_host_file(host("/alpha"), "12345");
  fs::create_directory(host("/gamma"));
  CommandResult r = run_command({"nfs-ls", url("/")});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_NE(r.output.find(" 5 alpha\n"), std::string::npos) << r.output;
  size_t gamma = r.output.find(" gamma\n");
  ASSERT_NE(gamma, std::string::npos) << r.output;
  size_t line = r.output.rfind('\n', gamma);
  EXPECT_EQ(r.output[line == std::string::npos ? 0 : line + 1], 'd') << r.output;
}

TEST_F(Nfs3ToolsTest, NfsCatOfAMissingFileFails) {
  CommandResult r = run_command({"nfs-cat", root_file_url("no-such-file")});
  EXPECT_NE(r.status, 0) << r.output;
}

}  // namespace
}  // namespace pnfsgw::nfs3_test
