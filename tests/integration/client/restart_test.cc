// Server restart on the same data directory: filehandles stay valid.
#include "tests/integration/client/client_fixture.h"

namespace pnfsgw::client::test {
namespace {
using namespace nfs4;

using RestartTest = ClientTest;

TEST_F(RestartTest, OldFilehandleWorksAfterRestartWithANewSession) {
  auto mk = client_->mkdir(root_, "keep");
  ASSERT_OK(mk);
  Fh dir = *mk;
  Fh file = make_file(dir, "f", "persistent bytes");
  auto before = client_->getattr(file);
  ASSERT_OK(before);

  client_->shutdown();
  client_.reset();
  ASSERT_EQ(server_.stop(), 0) << server_.log_tail();
  ASSERT_TRUE(server_.start(data_dir_, tmp_.path(), server_args()));

  client_ = new_client("after-restart");
  ASSERT_TRUE(client_);
  CompoundBuilder b;
  b.putfh(file).getattr(Bitmap4{FATTR4_TYPE, FATTR4_SIZE, FATTR4_FILEID});
  auto r = client_->compound(b);
  ASSERT_OK(r);
  ASSERT_EQ(r->status(), NFS4_OK) << "PUTFH+GETATTR of a pre-restart handle: "
                                  << err_name(r->status());
  auto attrs = r->get<GetattrRes>(2);
  ASSERT_OK(attrs);
  EXPECT_EQ(attrs->attrs.type, NF4REG);
  EXPECT_EQ(attrs->attrs.size, 16u);
  EXPECT_EQ(attrs->attrs.fileid, before->fileid);
  EXPECT_EQ(read_all(file), "persistent bytes");
  auto again = client_->lookup(dir, "f");
  ASSERT_OK(again);
  EXPECT_EQ(*again, file);
}

TEST_F(RestartTest, OldSessionIsUnknownToTheRestartedServer) {
  SessionId old = client_->sessionid();
  client_.reset();  // no DESTROY_SESSION: the server just goes away
  ASSERT_EQ(server_.stop(), 0) << server_.log_tail();
  ASSERT_TRUE(server_.start(data_dir_, tmp_.path(), server_args()));

  Nfs4ClientOptions opts;
  Nfs4Client raw(opts);
  ASSERT_OK(raw.connect("127.0.0.1", server_.port()));
  CompoundBuilder b;
  b.sequence(SequenceArgs{old, 5, 0, 0, false}).putrootfh();
  auto r = raw.send_compound(b);
  ASSERT_OK(r);
  EXPECT_EQ(r->status(), NFS4ERR_BADSESSION) << err_name(r->status());
  raw.shutdown();
  client_ = new_client("fresh");
  ASSERT_TRUE(client_);
}

}  // namespace
}  // namespace pnfsgw::client::test
