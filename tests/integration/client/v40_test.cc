// NFSv4.0 basics through the same client: SETCLIENTID, OPEN (+OPEN_CONFIRM),
// open-owner and lock-owner seqids, RENEW.
#include "tests/integration/client/client_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

class V40Test : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    if (HasFatalFailure()) return;
    Nfs4ClientOptions opts;
    opts.minorversion = 0;
    v40_ = new_client("v40", opts);
    ASSERT_TRUE(v40_);
  }
  void TearDown() override {
    if (v40_) v40_->shutdown();
    v40_.reset();
    ClientTest::TearDown();
  }
  std::unique_ptr<Nfs4Client> v40_;
};

std::span<const uint8_t> bytes_of(const std::string& s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST_F(V40Test, SetclientidThenRenewAndGetattr) {
  EXPECT_NE(v40_->clientid(), 0u);
  EXPECT_FALSE(v40_->has_session());
  EXPECT_OK(v40_->renew());
  auto root = v40_->root_fh();
  ASSERT_OK(root);
  EXPECT_EQ(*root, root_);
  auto attrs = v40_->getattr(*root);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->type, NF4DIR);
}

TEST_F(V40Test, OpenWriteReadCloseAdvancesTheOpenOwnerSeqid) {
  for (int round = 0; round < 3; round++) {
    OpenOptions o;
    o.create = true;
    o.attrs.mode = 0644;
    auto f = v40_->open(root_, "v40file", o);
    ASSERT_OK(f);
    std::string text = "round " + std::to_string(round);
    auto w = v40_->write(f->fh, f->stateid, 0, bytes_of(text));
    ASSERT_OK(w);
    auto r = v40_->read(f->fh, f->stateid, 0, 100);
    ASSERT_OK(r);
    EXPECT_EQ(std::string(r->data.begin(), r->data.end()), text);
    ASSERT_OK(v40_->close(f->fh, f->stateid));
  }
  // The 4.1 client sees the same file.
  auto fh = client_->lookup(root_, "v40file");
  ASSERT_OK(fh);
  EXPECT_EQ(read_all(*fh), "round 2");
}

TEST_F(V40Test, LockSeqidsAcrossLockLockuAndRelock) {
  OpenOptions o;
  o.create = true;
  auto f = v40_->open(root_, "v40lock", o);
  ASSERT_OK(f);
  OpenOptions o2;
  o2.owner = "v40-second-owner";
  auto f2 = v40_->open(root_, "v40lock", o2);
  ASSERT_OK(f2);
  LockOwnerState a{"v40-lo-a", f->stateid, std::nullopt};
  LockOwnerState b{"v40-lo-b", f2->stateid, std::nullopt};
  ASSERT_OK(v40_->lock(f->fh, a, WRITE_LT, 0, 10));
  EXPECT_NFS_ERR(v40_->lock(f->fh, b, WRITE_LT, 5, 10), NFS4ERR_DENIED);
  EXPECT_NFS_ERR(v40_->lockt(f->fh, b.owner, READ_LT, 0, 1), NFS4ERR_DENIED);
  ASSERT_OK(v40_->locku(f->fh, a, WRITE_LT, 0, 10));
  ASSERT_OK(v40_->lock(f->fh, b, WRITE_LT, 5, 10));
  ASSERT_OK(v40_->lock(f->fh, a, WRITE_LT, 100, 10));  // existing lock owner
  ASSERT_OK(v40_->locku(f->fh, a, WRITE_LT, 100, 10));
  ASSERT_OK(v40_->locku(f->fh, b, WRITE_LT, 5, 10));
  ASSERT_OK(v40_->close(f->fh, f->stateid));
  ASSERT_OK(v40_->close(f2->fh, f2->stateid));
}

TEST_F(V40Test, OpenDowngradeUsesTheOwnersSeqid) {
  OpenOptions o;
  o.create = true;
  auto f = v40_->open(root_, "v40dg", o);
  ASSERT_OK(f);
  auto sid =
      v40_->open_downgrade(f->fh, f->stateid, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE);
  ASSERT_OK(sid);
  EXPECT_NFS_ERR(v40_->write(f->fh, *sid, 0, bytes_of("x")), NFS4ERR_OPENMODE);
  ASSERT_OK(v40_->close(f->fh, *sid));
}

}  // namespace
}  // namespace pnfsgw::client::test
