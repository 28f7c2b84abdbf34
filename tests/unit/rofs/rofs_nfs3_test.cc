// NFSv3 on a read-only store: the procedures that change the export answer
// NFS3ERR_ROFS with their (empty) failure bodies and never reach the store;
// the others keep working.
#include "tests/unit/nfs3/nfs3_test_util.h"
#include "tests/unit/rofs/read_only_fs.h"

namespace pnfsgw::nfs3::testing {
namespace {

class Nfs3ReadOnlyTest : public Nfs3ProcTest {
 protected:
  void SetUp() override {
    Nfs3ProcTest::SetUp();
    ro_ = std::make_unique<pnfsgw::testing::ReadOnlySwitchFs>(fs_.get());
    Nfs3Options o;
    o.export_id = kExportId;
    o.write_verifier = kVerifier;
    server_ = std::make_unique<Nfs3Server>(o, ro_.get(), fhc_.get());
    file_ = create(root_fh_, "file");
    dir_fh_ = mkdir_fh("dir");
    ro_->set_read_only(true);
    changes_before_ = ro_->changes();
  }

  void TearDown() override {
    server_.reset();
    ro_.reset();
    Nfs3ProcTest::TearDown();
  }

  Fh mkdir_fh(const std::string& name) {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, name);
    put_sattr(a, 0755);
    Reply r = call(NFSPROC3_MKDIR, a);
    auto d = r.dec();
    EXPECT_EQ(d.u32(), NFS3_OK);
    EXPECT_TRUE(d.boolean());
    return get_fh(d);
  }

  // The call answers NFS3ERR_ROFS followed by `words` FALSE words and
  // nothing else (every optional attribute absent).
  void expect_rofs(uint32_t proc, const xdr::XdrEncoder& args, int words, const char* what) {
    Reply r = call(proc, args);
    EXPECT_EQ(r.stat, rpc::SUCCESS) << what;
    auto d = r.dec();
    EXPECT_EQ(d.u32(), static_cast<uint32_t>(NFS3ERR_ROFS)) << what;
    for (int i = 0; i < words; i++) EXPECT_FALSE(d.boolean()) << what << " word " << i;
    EXPECT_TRUE(d.ok()) << what;
    EXPECT_EQ(d.remaining(), 0u) << what;
  }

  std::unique_ptr<pnfsgw::testing::ReadOnlySwitchFs> ro_;
  Fh file_, dir_fh_;
  int changes_before_ = 0;
};

TEST_F(Nfs3ReadOnlyTest, EveryChangingProcedureAnswersRofs) {
  {
    xdr::XdrEncoder a;
    put_fh(a, file_);
    put_sattr(a, 0600);
    a.boolean(false);  // no guard
    expect_rofs(NFSPROC3_SETATTR, a, 2, "SETATTR");
  }
  {
    xdr::XdrEncoder a;
    put_fh(a, file_);
    a.u64(0);
    a.u32(4);
    a.u32(FILE_SYNC);
    a.var_opaque(reinterpret_cast<const uint8_t*>("data"), 4);
    expect_rofs(NFSPROC3_WRITE, a, 2, "WRITE");
  }
  {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, "new");
    a.u32(UNCHECKED);
    put_sattr(a, 0644);
    expect_rofs(NFSPROC3_CREATE, a, 2, "CREATE");
  }
  {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, "newdir");
    put_sattr(a, 0755);
    expect_rofs(NFSPROC3_MKDIR, a, 2, "MKDIR");
  }
  {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, "sym");
    put_sattr(a);
    a.string("target");
    expect_rofs(NFSPROC3_SYMLINK, a, 2, "SYMLINK");
  }
  {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, "fifo");
    a.u32(NF3FIFO);
    put_sattr(a, 0644);
    expect_rofs(NFSPROC3_MKNOD, a, 2, "MKNOD");
  }
  {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, "file");
    expect_rofs(NFSPROC3_REMOVE, a, 2, "REMOVE");
  }
  {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, "dir");
    expect_rofs(NFSPROC3_RMDIR, a, 2, "RMDIR");
  }
  {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, "file");
    put_dirop(a, root_fh_, "renamed");
    expect_rofs(NFSPROC3_RENAME, a, 4, "RENAME");
  }
  {
    xdr::XdrEncoder a;
    put_fh(a, file_);
    put_dirop(a, root_fh_, "hardlink");
    expect_rofs(NFSPROC3_LINK, a, 3, "LINK");
  }
  EXPECT_EQ(ro_->changes(), changes_before_) << "the store was asked to change";
}

TEST_F(Nfs3ReadOnlyTest, ReadingProceduresStillWork) {
  EXPECT_EQ(getattr(file_).size, 0u);
  uint32_t st = 0;
  EXPECT_FALSE(lookup(root_fh_, "file", &st).empty());
  EXPECT_EQ(st, static_cast<uint32_t>(NFS3_OK));
  xdr::XdrEncoder a;
  put_fh(a, file_);
  a.u64(0);
  a.u32(100);
  Reply r = call(NFSPROC3_READ, a);
  EXPECT_EQ(r.dec().u32(), static_cast<uint32_t>(NFS3_OK));
}

TEST_F(Nfs3ReadOnlyTest, AStoreThatIsWritableAgainTakesChanges) {
  ro_->set_read_only(false);
  xdr::XdrEncoder a;
  put_dirop(a, root_fh_, "later");
  a.u32(UNCHECKED);
  put_sattr(a, 0644);
  Reply r = call(NFSPROC3_CREATE, a);
  EXPECT_EQ(r.dec().u32(), static_cast<uint32_t>(NFS3_OK));
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing
