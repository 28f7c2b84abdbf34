// Portmapper registration against a fake portmapper served by RpcServer.
#include "gateway/portmap/pmap_client.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "gateway/net/server.h"

namespace pnfsgw::portmap {
namespace {

// Portmap v2 SET/UNSET with rpcbind's rules: SET of a (prog, vers, prot)
// that is already mapped is refused; UNSET removes every protocol's.
class FakePortmapper : public rpc::RpcProgram {
 public:
  uint32_t program() const override { return PMAP_PROG; }
  uint32_t min_version() const override { return 2; }
  uint32_t max_version() const override { return 2; }
  rpc::Disposition handle(const rpc::CallContext& ctx, xdr::XdrDecoder& args, xdr::XdrEncoder& out,
                          rpc::AcceptStat* stat) override {
    Mapping m{args.u32(), args.u32(), args.u32(), args.u32()};
    if (!args.ok()) {
      *stat = rpc::GARBAGE_ARGS;
      return rpc::Disposition::kReply;
    }
    std::lock_guard<std::mutex> lk(mu);
    last_uid = ctx.hdr.sys.uid;
    if (ctx.hdr.proc == PMAPPROC_SET) {
      auto key = std::make_tuple(m.prog, m.vers, m.prot);
      bool ok = !map.count(key) && !refuse_set;
      if (ok) map[key] = m.port;
      out.boolean(ok);
    } else if (ctx.hdr.proc == PMAPPROC_UNSET) {
      bool any = false;
      for (auto it = map.begin(); it != map.end();) {
        if (std::get<0>(it->first) == m.prog && std::get<1>(it->first) == m.vers) {
          it = map.erase(it);
          any = true;
        } else {
          ++it;
        }
      }
      out.boolean(any);
    } else {
      *stat = rpc::PROC_UNAVAIL;
    }
    return rpc::Disposition::kReply;
  }

  std::mutex mu;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, uint32_t> map;
  bool refuse_set = false;
  uint32_t last_uid = 12345;
};

class PmapClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::ServerOptions o;
    o.port = 0;
    server_ = std::make_unique<net::RpcServer>(o, std::vector<rpc::RpcProgram*>{&fake_});
    ASSERT_TRUE(server_->start());
    runner_ = std::thread([this] { server_->run(false); });
  }
  void TearDown() override {
    server_->stop();
    runner_.join();
  }

  FakePortmapper fake_;
  std::unique_ptr<net::RpcServer> server_;
  std::thread runner_;
};

TEST_F(PmapClientTest, RegistersEveryProgramOnOurPortAndTakesThemBack) {
  {
    PmapRegistration reg("127.0.0.1", server_->port());
    ASSERT_TRUE(reg.register_all({{100003, 3}, {100003, 4}, {100005, 3}}, 4321));
    std::lock_guard<std::mutex> lk(fake_.mu);
    EXPECT_EQ(fake_.map.size(), 3u);
    EXPECT_EQ((fake_.map[{100003, 3, IPPROTO_TCP_NUM}]), 4321u);
    EXPECT_EQ((fake_.map[{100005, 3, IPPROTO_TCP_NUM}]), 4321u);
    EXPECT_EQ(fake_.last_uid, geteuid());
  }
  std::lock_guard<std::mutex> lk(fake_.mu);
  EXPECT_TRUE(fake_.map.empty());  // unregistered by the destructor
}

TEST_F(PmapClientTest, AStaleMappingOfAnEarlierInstanceIsReplaced) {
  {
    std::lock_guard<std::mutex> lk(fake_.mu);
    fake_.map[{100003, 3, IPPROTO_TCP_NUM}] = 999;
  }
  PmapRegistration reg("127.0.0.1", server_->port());
  ASSERT_TRUE(reg.register_all({{100003, 3}}, 4321));
  std::lock_guard<std::mutex> lk(fake_.mu);
  EXPECT_EQ((fake_.map[{100003, 3, IPPROTO_TCP_NUM}]), 4321u);
}

TEST_F(PmapClientTest, ARefusedSetIsEexist) {
  fake_.refuse_set = true;
  PmapRegistration reg("127.0.0.1", server_->port());
  EXPECT_EQ(reg.register_all({{100003, 3}}, 4321).err(), EEXIST);
}

TEST(PmapClientNoServer, WithoutAPortmapperRegistrationFailsQuickly) {
  // Port 1 on loopback: nothing listens there.
  auto r = pmap_call("127.0.0.1", 1, PMAPPROC_SET, Mapping{100003, 3, IPPROTO_TCP_NUM, 2049});
  EXPECT_EQ(r.err(), ECONNREFUSED);
}

}  // namespace
}  // namespace pnfsgw::portmap
