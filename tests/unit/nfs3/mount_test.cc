// MOUNT: MNT, DUMP, UMNT, UMNTALL, EXPORT, in-process.
#include "gateway/mount/server.h"
#include "tests/unit/nfs3/nfs3_test_util.h"

namespace pnfsgw::mount {
namespace {

using nfs3::testing::Fh;

class FakeConn : public rpc::RpcConnection {
 public:
  explicit FakeConn(std::string peer) : peer_(std::move(peer)) {}
  uint64_t id() const override { return 1; }
  bool is_open() const override { return true; }
  std::string peer() const override { return peer_; }
  void send_call(uint32_t, uint32_t, uint32_t, const rpc::AuthSysParams*, std::vector<uint8_t>,
                 std::chrono::milliseconds, ReplyHandler done) override {
    done(Status::error(ECONNRESET));
  }
  void close() override {}

 private:
  std::string peer_;
};

class MountTest : public nfs3::testing::Nfs3ProcTest {
 protected:
  void SetUp() override {
    Nfs3ProcTest::SetUp();
    mountd_ = std::make_unique<MountServer>(MountOptions{kExportId}, fs_.get(), fhc_.get());
  }

  nfs3::testing::Reply mcall(uint32_t proc, const xdr::XdrEncoder& args, uint32_t vers = 3,
                             const std::string& peer = "10.0.0.1:700") {
    rpc::CallContext ctx;
    ctx.hdr.prog = MOUNT_PROGRAM;
    ctx.hdr.vers = vers;
    ctx.hdr.proc = proc;
    ctx.conn = std::make_shared<FakeConn>(peer);
    xdr::XdrDecoder dec(args.buffer().data(), args.buffer().size());
    xdr::XdrEncoder out;
    nfs3::testing::Reply r;
    EXPECT_EQ(mountd_->handle(ctx, dec, out, &r.stat), rpc::Disposition::kReply);
    r.bytes = out.take();
    return r;
  }

  // MNT path -> status and handle.
  std::pair<uint32_t, Fh> mnt(const std::string& path, const std::string& peer = "10.0.0.1:700") {
    xdr::XdrEncoder a;
    a.string(path);
    auto r = mcall(MOUNTPROC3_MNT, a, 3, peer);
    auto d = r.dec();
    uint32_t st = d.u32();
    Fh fh;
    if (st == MNT3_OK) {
      fh = nfs3::testing::get_fh(d);
      EXPECT_EQ(d.u32(), 2u);
      EXPECT_EQ(d.u32(), rpc::AUTH_SYS);
      EXPECT_EQ(d.u32(), rpc::AUTH_NONE);
    }
    EXPECT_TRUE(d.ok() && d.remaining() == 0);
    return {st, fh};
  }

  std::vector<std::pair<std::string, std::string>> dump() {
    auto r = mcall(MOUNTPROC3_DUMP, xdr::XdrEncoder());
    auto d = r.dec();
    std::vector<std::pair<std::string, std::string>> out;
    while (d.ok() && d.boolean()) {
      std::string host(d.string(255));
      std::string dir(d.string(1024));
      out.emplace_back(host, dir);
    }
    EXPECT_TRUE(d.ok() && d.remaining() == 0);
    return out;
  }

  std::unique_ptr<MountServer> mountd_;
};

TEST_F(MountTest, MntOfTheExportRootReturnsTheNfsRootHandleAndFlavors) {
  auto [st, fh] = mnt("/");
  ASSERT_EQ(st, MNT3_OK);
  EXPECT_EQ(fh, root_fh_);
  EXPECT_EQ(getattr(fh).fileid, root());  // the NFSv3 program accepts it
}

TEST_F(MountTest, MntOfASubdirectoryReturnsItsHandle) {
  mkdir(root(), "a");
  mkdir(fs_->lookup(root(), "a")->ino, "b");
  auto [st, fh] = mnt("/a//b/");
  ASSERT_EQ(st, MNT3_OK);
  EXPECT_EQ(fh, lookup(lookup(root_fh_, "a"), "b"));
}

TEST_F(MountTest, MntOfAnUnknownPathIsNoent) {
  file_with("file", "x");
  EXPECT_EQ(mnt("/nothing").first, MNT3ERR_NOENT);
  EXPECT_EQ(mnt("relative").first, MNT3ERR_NOENT);
  EXPECT_EQ(mnt("/..").first, MNT3ERR_NOENT);
  EXPECT_EQ(mnt("/file").first, MNT3ERR_NOTDIR);
}

TEST_F(MountTest, DumpListsMountsUntilUnmounted) {
  ASSERT_EQ(mnt("/", "10.0.0.1:700").first, MNT3_OK);
  ASSERT_EQ(mnt("/", "10.0.0.2:800").first, MNT3_OK);
  mkdir(root(), "d");
  ASSERT_EQ(mnt("/d", "10.0.0.2:801").first, MNT3_OK);
  using V = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(dump(), (V{{"10.0.0.1", "/"}, {"10.0.0.2", "/"}, {"10.0.0.2", "/d"}}));
  xdr::XdrEncoder u;
  u.string("/");
  mcall(MOUNTPROC3_UMNT, u, 3, "10.0.0.1:701");
  EXPECT_EQ(dump(), (V{{"10.0.0.2", "/"}, {"10.0.0.2", "/d"}}));
  mcall(MOUNTPROC3_UMNTALL, xdr::XdrEncoder(), 3, "10.0.0.2:9");
  EXPECT_TRUE(dump().empty());
}

TEST_F(MountTest, ExportListsTheRootOpenToEveryone) {
  auto r = mcall(MOUNTPROC3_EXPORT, xdr::XdrEncoder());
  auto d = r.dec();
  ASSERT_TRUE(d.boolean());
  EXPECT_EQ(d.string(1024), "/");
  EXPECT_FALSE(d.boolean());  // no groups: everyone
  EXPECT_FALSE(d.boolean());  // no more exports
  EXPECT_TRUE(d.ok() && d.remaining() == 0);
  // The same list for MOUNT v1 (showmount -e).
  EXPECT_EQ(mcall(MOUNTPROC3_EXPORT, xdr::XdrEncoder(), 1).bytes, r.bytes);
}

TEST_F(MountTest, Version1MntCannotCarryOurHandles) {
  xdr::XdrEncoder a;
  a.string("/");
  auto r = mcall(MOUNTPROC3_MNT, a, 1);
  EXPECT_EQ(r.stat, rpc::SUCCESS);
  EXPECT_EQ(r.bytes.size(), 4u);
  EXPECT_EQ(r.dec().u32(), MNT3ERR_ACCES);
}

TEST_F(MountTest, MalformedPathIsGarbageAndUnknownProcUnavailable) {
  xdr::XdrEncoder a;
  a.u32(5000);  // longer than MNTPATHLEN
  EXPECT_EQ(mcall(MOUNTPROC3_MNT, a).stat, rpc::GARBAGE_ARGS);
  EXPECT_EQ(mcall(6, xdr::XdrEncoder()).stat, rpc::PROC_UNAVAIL);
}

}  // namespace
}  // namespace pnfsgw::mount
