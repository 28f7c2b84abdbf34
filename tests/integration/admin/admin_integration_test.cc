// `pnfsgw admin` against the real server: files are written and read back
// through NFS (the project's client), changed in between by the admin
// command line, and compared byte for byte with what the test computes.
//
// Offsets for insert/collapse are 4 KiB multiples so the tests hold on every
// backend (ext4 under HostDirFs wants block alignment).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "client/nfs4_client.h"
#include "tests/support/host_tools.h"
#include "tests/support/pnfsgw_server.h"
#include "tests/support/server_process.h"

namespace pnfsgw::test {
namespace {

using client::Fh;
using client::Nfs4Client;
using client::Stateid;

constexpr size_t kBlock = 4096;

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Each test runs on every backend `pnfsgw serve` offers.
struct Backend {
  const char* name;
  std::vector<std::string> serve_args;
};

class AdminIntegration : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(server_.start(&err)) << err;
    mount();
  }

  void TearDown() override {
    if (client_) client_->shutdown();
    client_.reset();
    server_.stop();
  }

  void mount() {
    client::Nfs4ClientOptions o;
    o.owner = "pnfsgw-admin-test-" + std::to_string(getpid());
    o.timeout = std::chrono::seconds(20);
    client_ = std::make_unique<Nfs4Client>(o);
    Status st = client_->mount("127.0.0.1", server_.port());
    ASSERT_TRUE(st) << "mount: " << st.err() << "\n" << server_.log_tail();
    auto root = client_->root_fh();
    ASSERT_TRUE(root);
    root_ = *root;
  }

  // `pnfsgw admin --data DATA args...`
  CommandResult admin(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {PNFSGW_BINARY, "admin", "--data", server_.data_dir()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, 60);
  }
  void admin_ok(const std::vector<std::string>& args) {
    CommandResult r = admin(args);
    ASSERT_EQ(r.status, 0) << args[0] << " failed: " << r.errors;
    EXPECT_EQ(r.errors, "");
  }

  // Creates dir/name through NFS with content.
  Fh nfs_file(const Fh& dir, const std::string& name, const std::string& content) {
    client::OpenOptions o;
    o.create = true;
    o.attrs.mode = 0644;
    o.attrs.size = 0;
    auto f = client_->open(dir, name, o);
    EXPECT_TRUE(f) << "open " << name << ": " << f.err();
    if (!f) return Fh{};
    for (size_t off = 0; off < content.size(); off += 1 << 20) {
      auto chunk = bytes_of(content).subspan(off, std::min<size_t>(1 << 20, content.size() - off));
      auto w = client_->write(f->fh, f->stateid, off, chunk);
      EXPECT_TRUE(w) << "write " << name << ": " << w.err();
    }
    EXPECT_TRUE(client_->close(f->fh, f->stateid));
    return f->fh;
  }

  // The whole file through NFS READ.
  std::string nfs_read(const Fh& fh) {
    std::string out;
    while (true) {
      auto r = client_->read(fh, Stateid::anonymous(), out.size(), 1 << 20);
      EXPECT_TRUE(r) << "read: " << r.err();
      if (!r) return out;
      out.append(r->data.begin(), r->data.end());
      if (r->eof || r->data.empty()) return out;
    }
  }

  uint64_t nfs_size(const Fh& fh) {
    auto a = client_->getattr(fh);
    EXPECT_TRUE(a && a->size) << "getattr";
    return a && a->size ? *a->size : 0;
  }
  uint64_t nfs_change(const Fh& fh) {
    auto a = client_->getattr(fh);
    EXPECT_TRUE(a && a->change) << "getattr";
    return a && a->change ? *a->change : 0;
  }

  std::string sock_path() const { return server_.data_dir() + "/admin.sock"; }

  PnfsgwServer server_{PNFSGW_BINARY, GetParam().serve_args};
  std::unique_ptr<Nfs4Client> client_;
  Fh root_;
};

TEST_P(AdminIntegration, InsertRangeShiftsTheDataNfsClientsRead) {
  auto dir = client_->mkdir(root_, "dir");
  ASSERT_TRUE(dir);
  const std::string data = random_bytes(4 * kBlock, 1);
  Fh f = nfs_file(*dir, "f", data);
  const uint64_t change_before = nfs_change(f);

  admin_ok({"fallocate", "--insert-range", "/dir/f", "4K", "8K"});

  std::string want = data.substr(0, kBlock) + std::string(2 * kBlock, '\0') + data.substr(kBlock);
  EXPECT_EQ(nfs_size(f), want.size());
  EXPECT_TRUE(nfs_read(f) == want) << "NFS READ after insert-range differs";
  EXPECT_NE(nfs_change(f), change_before) << "the change attribute must move";
}

TEST_P(AdminIntegration, CollapseRangeRemovesTheRangeAndShiftsTheRestDown) {
  const std::string data = random_bytes(5 * kBlock + 100, 2);
  Fh f = nfs_file(root_, "f", data);
  admin_ok({"fallocate", "--collapse-range", "f", "4096", "8K"});
  std::string want = data.substr(0, kBlock) + data.substr(3 * kBlock);
  EXPECT_EQ(nfs_size(f), want.size());
  EXPECT_TRUE(nfs_read(f) == want) << "NFS READ after collapse-range differs";
}

TEST_P(AdminIntegration, InsertThenCollapseRestoresTheFile) {
  const std::string data = random_bytes(64 * kBlock, 3);
  Fh f = nfs_file(root_, "f", data);
  admin_ok({"fallocate", "--insert-range", "/f", "16K", "1M"});
  EXPECT_EQ(nfs_size(f), data.size() + (1 << 20));
  admin_ok({"fallocate", "--collapse-range", "/f", "16K", "1M"});
  EXPECT_TRUE(nfs_read(f) == data);
}

TEST_P(AdminIntegration, PunchHoleAndZeroRangeZeroTheDataAndKeepTheSize) {
  const std::string data = random_bytes(4 * kBlock, 4);
  Fh f = nfs_file(root_, "f", data);
  admin_ok({"fallocate", "--punch-hole", "/f", "4K", "4K"});
  std::string want = data;
  std::fill(want.begin() + kBlock, want.begin() + 2 * kBlock, '\0');
  EXPECT_TRUE(nfs_read(f) == want);
  admin_ok({"fallocate", "--zero-range", "/f", "10000", "100"});
  std::fill(want.begin() + 10000, want.begin() + 10100, '\0');
  EXPECT_TRUE(nfs_read(f) == want);
  EXPECT_EQ(nfs_size(f), data.size());
}

TEST_P(AdminIntegration, AllocateExtendsTheFileWithZeroes) {
  const std::string data = random_bytes(1000, 5);
  Fh f = nfs_file(root_, "f", data);
  admin_ok({"fallocate", "--allocate", "/f", "0", "64K"});
  EXPECT_EQ(nfs_size(f), 64u * 1024);
  EXPECT_TRUE(nfs_read(f) == data + std::string(64 * 1024 - 1000, '\0'));
}

TEST_P(AdminIntegration, CopyCopiesBytesBetweenFiles) {
  const std::string a = random_bytes(3 * kBlock, 6);
  Fh fa = nfs_file(root_, "a", a);
  Fh fb = nfs_file(root_, "b", std::string(kBlock, 'b'));
  CommandResult r = admin({"copy", "/a", "4K", "/b", "2K", "1G"});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_EQ(r.output, "8192 bytes copied\n");
  EXPECT_TRUE(nfs_read(fb) == std::string(2048, 'b') + a.substr(kBlock));
  EXPECT_TRUE(nfs_read(fa) == a);
}

TEST_P(AdminIntegration, CloneSharesTheBytesOrSaysTheBackendCannot) {
  const std::string a = random_bytes(2 * kBlock, 7);
  nfs_file(root_, "a", a);
  Fh fb = nfs_file(root_, "b", std::string(2 * kBlock, 'b'));
  CommandResult r = admin({"clone", "/a", "4K", "/b", "0", "4K"});
  if (r.status != 0) {
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.errors, "pnfsgw admin: clone /a: operation not supported by the backend\n");
    EXPECT_TRUE(nfs_read(fb) == std::string(2 * kBlock, 'b'));
    return;
  }
  EXPECT_TRUE(nfs_read(fb) == a.substr(kBlock) + std::string(kBlock, 'b'));
}

TEST_P(AdminIntegration, QueriesDescribeTheFile) {
  Fh f = nfs_file(root_, "f", random_bytes(3 * kBlock, 8));
  CommandResult r = admin({"stat", "/f"});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_NE(r.output.find("type: regular file\nmode: 0644\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("size: 12288\n"), std::string::npos) << r.output;
  r = admin({"seek", "/f", "0", "data"});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_EQ(r.output, "0\n");
  r = admin({"extents", "/f"});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_EQ(r.output.rfind("OFFSET", 0), 0u) << r.output;
  EXPECT_GE(std::count(r.output.begin(), r.output.end(), '\n'), 2) << r.output;
  r = admin({"status"});
  ASSERT_EQ(r.status, 0) << r.errors;
  EXPECT_EQ(r.output.rfind("read_only: no\n", 0), 0u) << r.output;
  if (std::string(GetParam().name) == "store") {
    // The store counts its group commits: the file above took at least one
    // change (create) and as many commits as changes at most.
    auto value = [&](const std::string& key) -> long long {
      size_t at = r.output.find("\n" + key + ": ");
      return at == std::string::npos ? -1 : std::stoll(r.output.substr(at + key.size() + 3));
    };
    long long changes = value("changes_committed"), commits = value("metadata_commits");
    EXPECT_GE(changes, 1) << r.output;
    EXPECT_GE(commits, 1) << r.output;
    EXPECT_LE(commits, changes) << r.output;
  }
  (void)f;
}

TEST_P(AdminIntegration, UsageErrorsExitTwoAndNameTheProblem) {
  CommandResult r = admin({"frobnicate", "/f"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.errors.rfind("pnfsgw admin: unknown command 'frobnicate'\n", 0), 0u) << r.errors;
  r = admin({"fallocate", "--punch-hole", "/f", "12Q", "4K"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.errors.rfind("pnfsgw admin: bad OFFSET '12Q'", 0), 0u) << r.errors;
  r = admin({"fallocate", "--explode", "/f", "0", "4K"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.errors.rfind("pnfsgw admin: fallocate: unknown mode '--explode'", 0), 0u);
  r = admin({"stat", "/a/../b"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.errors.rfind("pnfsgw admin: /a/../b: '..' is not allowed in a path", 0), 0u);
}

TEST_P(AdminIntegration, AMissingOrWrongFileIsNamed) {
  CommandResult r = admin({"fallocate", "--insert-range", "/nope", "0", "4K"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.errors, "pnfsgw admin: /nope: No such file or directory\n");
  ASSERT_TRUE(client_->mkdir(root_, "d"));
  r = admin({"fallocate", "--punch-hole", "/d", "0", "4K"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.errors, "pnfsgw admin: /d: is a directory, not a regular file\n");
  nfs_file(root_, "f", "x");
  r = admin({"stat", "/f/x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.errors, "pnfsgw admin: /f/x: 'f' is not a directory\n");
}

TEST_P(AdminIntegration, TheSocketIsPrivateAndGoesAwayWithTheServer) {
  struct stat st;
  ASSERT_EQ(lstat(sock_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  client_->shutdown();
  client_.reset();
  EXPECT_EQ(server_.stop(), 0);
  EXPECT_NE(lstat(sock_path().c_str(), &st), 0) << "removed at clean shutdown";
  CommandResult r = admin({"status"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.errors.rfind("pnfsgw admin: cannot connect to " + sock_path() + ": ", 0), 0u)
      << r.errors;
}

TEST_P(AdminIntegration, AStaleSocketFromACrashIsReplacedAtStart) {
  client_->shutdown();
  client_.reset();
  ASSERT_EQ(server_.stop(), 0);
  {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock_path().c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);
  }
  std::string err;
  ASSERT_TRUE(server_.start(&err)) << err;
  mount();
  EXPECT_EQ(admin({"status"}).status, 0);
}

TEST_P(AdminIntegration, AStuckAdminClientDoesNotHoldUpNfs) {
  const std::string data = random_bytes(kBlock, 9);
  Fh f = nfs_file(root_, "f", data);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path().c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(send(fd, "\0\0\0\x40PNFS", 8, MSG_NOSIGNAL), 8);  // half a request, then nothing
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(nfs_read(f) == data);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  // Other admin clients are served meanwhile too.
  EXPECT_EQ(admin({"status"}).status, 0);
  close(fd);
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminIntegration,
                         ::testing::Values(Backend{"store", {}},
                                           Backend{"hostdir", {"--backend", "hostdir"}}),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return std::string(info.param.name);
                         });

TEST(AdminSocketOption, ServeAndAdminAgreeOnAnotherSocketPath) {
  TempDir dir("pnfsgw-admin");
  const std::string sock = dir.path() + "/ctl.sock";
  ServerProcess server(PNFSGW_BINARY);
  std::string err;
  ASSERT_TRUE(server.start(dir.path() + "/data", dir.path(), {"--admin-socket", sock},
                           std::chrono::seconds(30), &err))
      << err;
  CommandResult r = run_command({PNFSGW_BINARY, "admin", "--socket", sock, "stat", "/"}, 60);
  EXPECT_EQ(r.status, 0) << r.errors;
  EXPECT_NE(r.output.find("type: directory\n"), std::string::npos);
  struct stat st;
  EXPECT_NE(lstat((dir.path() + "/data/admin.sock").c_str(), &st), 0);
  EXPECT_EQ(server.stop(), 0);
  EXPECT_NE(lstat(sock.c_str(), &st), 0);
}

}  // namespace
}  // namespace pnfsgw::test
