// `pnfsgw serve` on the extent store: the data directory it creates, a
// sparse device of the asked size, the DAX device path, and fsck after use.
#include <sys/stat.h>

#include "tests/integration/client/client_fixture.h"
#include "tests/support/host_tools.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

class StoreExportTest : public ClientTest {
 protected:
  std::vector<std::string> server_args() const override {
    return {"--grace", "0", "--device-size", "256M"};
  }
  void write_read_back() {
    std::string data = pnfsgw::test::random_bytes((1 << 20) - 100, 11);  // one WRITE
    Fh f = make_file(root_, "f", data);
    auto r = client_->read(f, Stateid::anonymous(), 500000, 4096);
    ASSERT_OK(r);
    ASSERT_EQ(std::string(r->data.begin(), r->data.end()), data.substr(500000, 4096));
    auto a = client_->getattr(f, Bitmap4{FATTR4_SIZE, FATTR4_SPACE_USED});
    ASSERT_OK(a);
    EXPECT_EQ(a->space_used.value_or(0), uint64_t(1) << 20) << "space_used reports the blocks the store allocated";
  }
};

TEST_F(StoreExportTest, CreatesASparseDeviceAndMetadataInTheDataDir) {
  struct stat st;
  ASSERT_EQ(stat((data_dir_ + "/device").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 256 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "the device file should be sparse";
  ASSERT_EQ(stat((data_dir_ + "/meta/data.mdb").c_str(), &st), 0);
  write_read_back();
}

TEST_F(StoreExportTest, DataSurvivesARestartAndFsckFindsItClean) {
  std::string data = pnfsgw::test::random_bytes(100000, 3);
  make_file(root_, "kept", data);
  client_->shutdown();
  client_.reset();
  ASSERT_EQ(server_.stop(), 0);
  auto fsck = pnfsgw::test::run_command({PNFSGW_BINARY, "fsck", data_dir_});
  EXPECT_EQ(fsck.status, 0) << fsck.output << fsck.errors;
  EXPECT_NE(fsck.output.find("is clean"), std::string::npos) << fsck.output;
  ASSERT_TRUE(server_.start(data_dir_, tmp_.path(), server_args()));
  client_ = new_client("again");
  ASSERT_TRUE(client_);
  auto fh = client_->lookup_path("/kept");
  ASSERT_OK(fh);
  auto r = client_->read(*fh, Stateid::anonymous(), 0, 100000);
  ASSERT_OK(r);
  EXPECT_EQ(std::string(r->data.begin(), r->data.end()), data);
}

class DaxExportTest : public StoreExportTest {
 protected:
  std::vector<std::string> server_args() const override {
    return {"--grace", "0", "--device-size", "128M", "--dax"};
  }
};

TEST_F(DaxExportTest, ServesTheStoreThroughAMappedDevice) { write_read_back(); }

}  // namespace
}  // namespace pnfsgw::client::test
