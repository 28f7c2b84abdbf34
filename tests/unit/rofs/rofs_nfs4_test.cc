// NFSv4.2 on a read-only store: the ops that change the export answer
// NFS4ERR_ROFS before they reach the store (OPEN too, when it would create
// or open for writing), reads keep working, and ACCESS grants no write
// bits. Runs the server in-process; COMPOUNDs are built and parsed with the
// project's client codecs.
#include <gtest/gtest.h>

#include "client/compound.h"
#include "gateway/nfs4/filehandle.h"
#include "gateway/nfs4/server.h"
#include "tests/unit/hostdir/hostdir_test_util.h"
#include "tests/unit/rofs/read_only_fs.h"

namespace pnfsgw::client {
namespace {
using namespace nfs4;

class Nfs4ReadOnlyTest : public backend::testing::HostDirFsTest {
 protected:
  void SetUp() override {
    HostDirFsTest::SetUp();
    std::array<uint8_t, 32> key{};
    for (size_t i = 0; i < key.size(); i++) key[i] = static_cast<uint8_t>(i * 5 + 3);
    fhc_ = std::make_unique<FhCodec>(key);
    ro_ = std::make_unique<pnfsgw::testing::ReadOnlySwitchFs>(fs_.get());
    Nfs4Options o;
    o.export_id = 9;
    o.grace = std::chrono::seconds(0);
    server_ = std::make_unique<Nfs4Server>(o, ro_.get(), fhc_.get());
    ASSERT_NO_FATAL_FAILURE(establish_session());
    ASSERT_NO_FATAL_FAILURE(make_files());
  }

  void TearDown() override {
    server_.reset();
    ro_.reset();
    HostDirFsTest::TearDown();
  }

  Result<CompoundReply> call(const std::vector<uint8_t>& args, std::span<const uint32_t> ops) {
    rpc::CallContext ctx;
    ctx.hdr.xid = next_xid_++;
    ctx.hdr.prog = 100003;
    ctx.hdr.vers = 4;
    ctx.hdr.proc = 1;
    ctx.hdr.flavor = rpc::AUTH_SYS;
    xdr::XdrDecoder dec(args.data(), args.size());
    xdr::XdrEncoder out;
    rpc::AcceptStat stat = rpc::SUCCESS;
    EXPECT_EQ(server_->handle(ctx, dec, out, &stat), rpc::Disposition::kReply);
    EXPECT_EQ(stat, rpc::SUCCESS);
    return CompoundReply::parse(out.take(), 0, ops);
  }

  void establish_session() {
    CompoundBuilder eid("", 2);
    ExchangeIdArgs ea;
    ea.owner = "rofs-test";
    eid.exchange_id(ea);
    auto r = call(eid.encode(), eid.ops());
    ASSERT_TRUE(r);
    auto e = r->get<ExchangeIdRes>(0);
    ASSERT_TRUE(e) << e.err();
    CreateSessionArgs ca;
    ca.clientid = e->clientid;
    ca.sequenceid = e->sequenceid;
    ca.fore = ChannelAttrs{0, 2u << 20, 2u << 20, 64 * 1024, 16, 4};
    ca.back = ChannelAttrs{0, 16 * 1024, 16 * 1024, 16 * 1024, 4, 1};
    ca.cb_program = 0x40000000;
    CompoundBuilder cs("", 2);
    cs.create_session(ca);
    r = call(cs.encode(), cs.ops());
    ASSERT_TRUE(r);
    auto s = r->get<CreateSessionRes>(0);
    ASSERT_TRUE(s) << s.err();
    sessionid_ = s->sessionid;
    clientid_ = e->clientid;
  }

  // b with a SEQUENCE in front; results indexed with the SEQUENCE at 0.
  CompoundReply run(const CompoundBuilder& b) {
    SequenceArgs seq{sessionid_, ++seqid_, 0, 0, false};
    std::vector<uint32_t> ops{OP_SEQUENCE};
    ops.insert(ops.end(), b.ops().begin(), b.ops().end());
    auto r = call(b.encode_as(2, &seq), ops);
    EXPECT_TRUE(r) << "undecodable reply";
    return r ? std::move(*r) : CompoundReply{};
  }

  uint32_t status_of(const CompoundBuilder& b) { return run(b).status(); }

  OpenArgs open_args(const std::string& name, uint32_t access, bool create) {
    OpenArgs a;
    a.share_access = access;
    a.clientid = clientid_;
    a.owner = "owner";
    a.create = create;
    a.attrs.mode = 0644;
    a.name = name;
    return a;
  }

  // "file" (holding "data") and "dir", made while the store is writable.
  void make_files() {
    CompoundBuilder b;
    b.putrootfh().open(open_args("file", OPEN4_SHARE_ACCESS_BOTH, true)).getfh();
    CompoundReply r = run(b);
    auto open = r.get<OpenRes>(2);
    ASSERT_TRUE(open) << open.err();
    auto fh = r.get<GetfhRes>(3);
    ASSERT_TRUE(fh);
    file_ = fh->fh;
    const std::string data = "data";
    CompoundBuilder w;
    w.putfh(file_)
        .write(open->stateid, 0, FILE_SYNC4,
               std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()))
        .close(0, open->stateid);
    ASSERT_EQ(status_of(w), NFS4_OK);
    CompoundBuilder d;
    SetAttrs mode;
    mode.mode = 0755;
    d.putrootfh().create_dir("dir", mode);
    ASSERT_EQ(status_of(d), NFS4_OK);
    ro_->set_read_only(true);
    changes_before_ = ro_->changes();
  }

  std::unique_ptr<FhCodec> fhc_;
  std::unique_ptr<pnfsgw::testing::ReadOnlySwitchFs> ro_;
  std::unique_ptr<Nfs4Server> server_;
  SessionId sessionid_{};
  uint64_t clientid_ = 0;
  uint32_t seqid_ = 0;
  uint32_t next_xid_ = 1;
  Fh file_;
  int changes_before_ = 0;
};

TEST_F(Nfs4ReadOnlyTest, OpsThatChangeTheExportAnswerRofs) {
  const Stateid anon = Stateid::anonymous();
  const std::string data = "more";
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  SetAttrs mode;
  mode.mode = 0600;
  CopyArgs copy;
  copy.count = 4;
  struct Case {
    const char* name;
    CompoundBuilder b;
  };
  std::vector<Case> cases;
  cases.push_back({"WRITE", CompoundBuilder().putfh(file_).write(anon, 0, FILE_SYNC4, bytes)});
  cases.push_back({"SETATTR", CompoundBuilder().putfh(file_).setattr(anon, mode)});
  cases.push_back({"CREATE", CompoundBuilder().putrootfh().create_dir("d2", mode)});
  cases.push_back({"REMOVE", CompoundBuilder().putrootfh().remove("file")});
  cases.push_back({"RENAME", CompoundBuilder().putrootfh().savefh().rename("file", "moved")});
  cases.push_back({"LINK", CompoundBuilder().putfh(file_).savefh().putrootfh().link("hard")});
  cases.push_back({"OPEN create", CompoundBuilder().putrootfh().open(
                                      open_args("new", OPEN4_SHARE_ACCESS_READ, true))});
  cases.push_back({"OPEN for write", CompoundBuilder().putrootfh().open(
                                         open_args("file", OPEN4_SHARE_ACCESS_WRITE, false))});
  cases.push_back({"ALLOCATE", CompoundBuilder().putfh(file_).allocate(anon, 0, 4096)});
  cases.push_back({"DEALLOCATE", CompoundBuilder().putfh(file_).deallocate(anon, 0, 4)});
  cases.push_back({"COPY", CompoundBuilder().putfh(file_).savefh().putfh(file_).copy(copy)});
  cases.push_back(
      {"CLONE", CompoundBuilder().putfh(file_).savefh().putfh(file_).clone(anon, anon, 0, 0, 0)});
  for (const Case& c : cases) EXPECT_EQ(status_of(c.b), NFS4ERR_ROFS) << c.name;
  EXPECT_EQ(ro_->changes(), changes_before_) << "the store was asked to change";
}

TEST_F(Nfs4ReadOnlyTest, ReadsStillWork) {
  const Stateid anon = Stateid::anonymous();
  CompoundBuilder b;
  b.putfh(file_).read(anon, 0, 100).seek(anon, 0, NFS4_CONTENT_HOLE).read_plus(anon, 0, 100);
  CompoundReply r = run(b);
  ASSERT_EQ(r.status(), NFS4_OK);
  auto rd = r.get<ReadRes>(2);
  ASSERT_TRUE(rd);
  EXPECT_EQ(std::string(rd->data.begin(), rd->data.end()), "data");
  auto sk = r.get<SeekRes>(3);
  ASSERT_TRUE(sk);
  EXPECT_EQ(sk->offset, 4u);
  EXPECT_TRUE(r.get<ReadPlusRes>(4));
  // Opening an existing file for reading changes nothing.
  CompoundBuilder o;
  o.putrootfh().open(open_args("file", OPEN4_SHARE_ACCESS_READ, false));
  EXPECT_EQ(status_of(o), NFS4_OK);
  EXPECT_EQ(ro_->changes(), changes_before_);
}

TEST_F(Nfs4ReadOnlyTest, AccessGrantsNoWriteBits) {
  CompoundBuilder b;
  b.putfh(file_).access(ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_EXTEND);
  CompoundReply r = run(b);
  auto a = r.get<AccessRes>(2);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->access, ACCESS4_READ);
}

TEST_F(Nfs4ReadOnlyTest, AStoreThatIsWritableAgainTakesChanges) {
  ro_->set_read_only(false);
  CompoundBuilder b;
  b.putfh(file_).allocate(Stateid::anonymous(), 0, 8192);
  EXPECT_EQ(status_of(b), NFS4_OK);
}

}  // namespace
}  // namespace pnfsgw::client
