// A retransmitted NFSv4.0 COMPOUND (same xid, same client, e.g. after a
// reconnect) gets the original reply instead of running twice.
#include <gtest/gtest.h>

#include "gateway/nfs4/nfs4_const.h"
#include "gateway/rpc/record.h"
#include "tests/support/pnfsgw_server.h"
#include "tests/unit/rpc/test_client.h"

namespace pnfsgw {
namespace {

using namespace nfs4;

std::vector<uint8_t> create_dir_call(uint32_t xid, const char* name) {
  rpc::AuthSysParams cred;
  cred.machine = "retransmit";
  xdr::XdrEncoder e;
  e.u32(0);  // record mark, patched below
  rpc::encode_call(e, xid, kNfsProgram, 4, kProcCompound, &cred);
  e.string("");
  e.u32(0);  // minor version 0
  e.u32(2);
  e.u32(OP_PUTROOTFH);
  e.u32(OP_CREATE);
  e.u32(NF4DIR);
  e.string(name);
  e.u32(0);  // empty bitmap
  e.u32(0);  // empty attrlist
  rpc::RecordFramer::put_header(e.data(), static_cast<uint32_t>(e.size() - 4));
  return e.take();
}

// The COMPOUND status of a reply record.
uint32_t compound_status(const std::vector<uint8_t>& rec) {
  xdr::XdrDecoder d(rec.data(), rec.size());
  rpc::ReplyHeader h;
  if (!rpc::parse_reply(d, &h) || h.accept != rpc::SUCCESS) return 0xFFFFFFFF;
  return d.u32();
}

TEST(Retransmit, SameXidFromANewConnectionGetsTheOriginalReply) {
  test::PnfsgwServer server(PNFSGW_BINARY);
  std::string err;
  ASSERT_TRUE(server.start(&err)) << err;
  std::vector<uint8_t> first, second, third;
  {
    rpc::testing::TestRpcClient c(server.port());
    ASSERT_TRUE(c.send_raw(create_dir_call(0x5151, "once")));
    auto r = c.read_record();
    ASSERT_TRUE(r);
    first = *r;
  }
  {
    rpc::testing::TestRpcClient c(server.port());  // reconnect: new source port
    ASSERT_TRUE(c.send_raw(create_dir_call(0x5151, "once")));
    auto r = c.read_record();
    ASSERT_TRUE(r);
    second = *r;
    ASSERT_TRUE(c.send_raw(create_dir_call(0x5152, "once")));
    r = c.read_record();
    ASSERT_TRUE(r);
    third = *r;
  }
  EXPECT_EQ(compound_status(first), NFS4_OK);
  EXPECT_EQ(second, first);  // replayed, byte for byte
  EXPECT_EQ(compound_status(third), NFS4ERR_EXIST);  // a new request runs
  EXPECT_EQ(server.stop(), 0);
}

}  // namespace
}  // namespace pnfsgw
