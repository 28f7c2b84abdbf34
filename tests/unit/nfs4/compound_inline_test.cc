// Nfs4Server::runs_inline: which COMPOUNDs the transport may run on its
// event loop (no hand-off to the pool). Only NFSv4.1+ compounds of ops that
// cannot wait; anything else, or anything it cannot parse, goes to the pool.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <vector>

#include "gateway/nfs4/filehandle.h"
#include "gateway/nfs4/nfs4_const.h"
#include "gateway/nfs4/server.h"
#include "gateway/rpc/rpc.h"
#include "gateway/xdr/xdr.h"
#include "tests/unit/hostdir/hostdir_test_util.h"

namespace pnfsgw::nfs4 {
namespace {

class CompoundInlineTest : public backend::testing::HostDirFsTest {
 protected:
  void SetUp() override {
    HostDirFsTest::SetUp();
    std::array<uint8_t, 32> key{};
    fhc_ = std::make_unique<FhCodec>(key);
    server_ = std::make_unique<Nfs4Server>(Nfs4Options{}, fs_.get(), fhc_.get());
  }
  void TearDown() override {
    server_.reset();
    HostDirFsTest::TearDown();
  }

  // A COMPOUND header: tag, minor version, op count.
  static xdr::XdrEncoder compound(uint32_t minor, uint32_t nops) {
    xdr::XdrEncoder e;
    e.string("t");
    e.u32(minor);
    e.u32(nops);
    return e;
  }
  static void sequence(xdr::XdrEncoder& e) {
    e.u32(OP_SEQUENCE);
    std::array<uint8_t, NFS4_SESSIONID_SIZE> sid{};
    e.fixed_opaque(sid.data(), sid.size());
    e.u32(1);  // sequence
    e.u32(0);  // slot
    e.u32(0);  // highest slot
    e.u32(0);  // cachethis
  }
  static void putfh(xdr::XdrEncoder& e) {
    e.u32(OP_PUTFH);
    std::array<uint8_t, 40> fh{};
    e.var_opaque(fh.data(), fh.size());
  }
  static void getattr(xdr::XdrEncoder& e) {
    e.u32(OP_GETATTR);
    e.u32(2);
    e.u32(0x0010011a);
    e.u32(0x00b0a23a);
  }
  static void read(xdr::XdrEncoder& e, uint32_t count) {
    e.u32(OP_READ);
    std::array<uint8_t, 16> stateid{};
    e.fixed_opaque(stateid.data(), stateid.size());
    e.u64(0);
    e.u32(count);
  }
  static void write(xdr::XdrEncoder& e, uint32_t stable, uint32_t len) {
    e.u32(OP_WRITE);
    std::array<uint8_t, 16> stateid{};
    e.fixed_opaque(stateid.data(), stateid.size());
    e.u64(0);
    e.u32(stable);
    std::vector<uint8_t> data(len, 'w');
    e.var_opaque(data.data(), data.size());
  }
  bool runs_inline(const xdr::XdrEncoder& e, uint32_t proc = 1) {
    rpc::CallHeader h;
    h.prog = 100003;
    h.vers = 4;
    h.proc = proc;
    return server_->runs_inline(h, e.buffer());
  }

  std::unique_ptr<FhCodec> fhc_;
  std::unique_ptr<Nfs4Server> server_;
};

TEST_F(CompoundInlineTest, ReadOnlyCompoundsRunInline) {
  auto e = compound(1, 3);
  sequence(e);
  putfh(e);
  getattr(e);
  EXPECT_TRUE(runs_inline(e));

  auto l = compound(2, 5);
  sequence(l);
  l.u32(OP_PUTROOTFH);
  l.u32(OP_LOOKUP);
  l.string("name");
  l.u32(OP_GETFH);
  getattr(l);
  EXPECT_TRUE(runs_inline(l));

  auto r = compound(1, 3);
  sequence(r);
  putfh(r);
  read(r, 4096);
  EXPECT_TRUE(runs_inline(r));

  // A small UNSTABLE WRITE starts on the loop; op_write defers the
  // COMPOUND to the pool when the store would wait.
  for (uint32_t len : {1u, 4096u, 65536u}) {
    auto w = compound(1, 4);
    sequence(w);
    putfh(w);
    write(w, UNSTABLE4, len);
    getattr(w);
    EXPECT_TRUE(runs_inline(w)) << len;
  }
}

TEST_F(CompoundInlineTest, CompoundsThatMayWaitGoToThePool) {
  auto big = compound(1, 3);  // a 1 MiB READ: a long copy
  sequence(big);
  putfh(big);
  read(big, 1 << 20);
  EXPECT_FALSE(runs_inline(big));

  auto w = compound(1, 3);  // a WRITE cut short
  sequence(w);
  putfh(w);
  w.u32(OP_WRITE);
  EXPECT_FALSE(runs_inline(w));

  auto stable = compound(1, 3);  // FILE_SYNC waits for the device
  sequence(stable);
  putfh(stable);
  write(stable, FILE_SYNC4, 4096);
  EXPECT_FALSE(runs_inline(stable));

  auto large = compound(1, 3);
  sequence(large);
  putfh(large);
  write(large, UNSTABLE4, 65537);
  EXPECT_FALSE(runs_inline(large));

  auto two = compound(1, 4);  // a deferral would do the first one twice
  sequence(two);
  putfh(two);
  write(two, UNSTABLE4, 4096);
  write(two, UNSTABLE4, 4096);
  EXPECT_FALSE(runs_inline(two));

  auto v40 = compound(0, 2);  // NFSv4.0: the duplicate request cache
  putfh(v40);
  getattr(v40);
  EXPECT_FALSE(runs_inline(v40));

  auto cut = compound(1, 3);  // says 3 ops, holds 2
  sequence(cut);
  putfh(cut);
  EXPECT_FALSE(runs_inline(cut));

  auto many = compound(1, 100000);
  EXPECT_FALSE(runs_inline(many));
}

TEST_F(CompoundInlineTest, OtherProceduresAreAnsweredInline) {
  xdr::XdrEncoder none;
  EXPECT_TRUE(runs_inline(none, 7));  // PROC_UNAVAIL at once
}

}  // namespace
}  // namespace pnfsgw::nfs4
