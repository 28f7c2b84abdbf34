// READ, WRITE, COMMIT.
#include <unistd.h>

#include <functional>
#include <utility>

#include "tests/unit/admin/admin_test_util.h"
#include "tests/unit/nfs3/nfs3_test_util.h"

namespace pnfsgw::nfs3::testing {
namespace {

struct WriteOut {
  uint32_t status = 0;
  Wcc3 wcc;
  uint32_t count = 0, committed = 0;
  std::array<uint8_t, 8> verf{};
};

struct ReadOut {
  uint32_t status = 0;
  std::optional<Fattr3> attr;
  uint32_t count = 0;
  bool eof = false;
  std::string data;
};

class Nfs3IoFixture : public Nfs3ProcTest {
 protected:
  WriteOut write(const Fh& fh, uint64_t off, const std::string& data, uint32_t stable = UNSTABLE,
                 Caller who = {}) {
    xdr::XdrEncoder a;
    put_fh(a, fh);
    a.u64(off);
    a.u32(static_cast<uint32_t>(data.size()));
    a.u32(stable);
    a.var_opaque(data.data(), data.size());
    Reply r = call(NFSPROC3_WRITE, a, who);
    EXPECT_EQ(r.stat, rpc::SUCCESS);
    auto d = r.dec();
    WriteOut w;
    w.status = d.u32();
    w.wcc = get_wcc(d);
    if (w.status == NFS3_OK) {
      w.count = d.u32();
      w.committed = d.u32();
      auto v = d.fixed_opaque(8);
      std::copy(v.begin(), v.end(), w.verf.begin());
    }
    EXPECT_TRUE(d.ok() && d.remaining() == 0);
    return w;
  }

  ReadOut read(const Fh& fh, uint64_t off, uint32_t count, Caller who = {}) {
    xdr::XdrEncoder a;
    put_fh(a, fh);
    a.u64(off);
    a.u32(count);
    Reply r = call(NFSPROC3_READ, a, who);
    EXPECT_EQ(r.stat, rpc::SUCCESS);
    auto d = r.dec();
    ReadOut o;
    o.status = d.u32();
    o.attr = get_post_op(d);
    if (o.status == NFS3_OK) {
      o.count = d.u32();
      o.eof = d.boolean();
      auto s = d.var_opaque(1u << 21);
      o.data.assign(s.begin(), s.end());
    }
    EXPECT_TRUE(d.ok() && d.remaining() == 0);
    return o;
  }
};

TEST_F(Nfs3IoFixture, UnstableWriteAndCommitReturnTheSharedVerifier) {
  Fh f = create(root_fh_, "f");
  WriteOut w = write(f, 0, "hello");
  ASSERT_EQ(w.status, NFS3_OK);
  EXPECT_EQ(w.count, 5u);
  EXPECT_EQ(w.committed, UNSTABLE);
  EXPECT_EQ(w.verf, kVerifier);
  xdr::XdrEncoder a;
  put_fh(a, f);
  a.u64(0);
  a.u32(0);
  Reply r = call(NFSPROC3_COMMIT, a);
  auto d = r.dec();
  ASSERT_EQ(d.u32(), NFS3_OK);
  Wcc3 wcc = get_wcc(d);
  EXPECT_TRUE(wcc.before && wcc.after);
  auto v = d.fixed_opaque(8);
  EXPECT_TRUE(std::equal(v.begin(), v.end(), kVerifier.begin()));
}

TEST_F(Nfs3IoFixture, StableWritesReportHowStableTheDataIs) {
  Fh f = create(root_fh_, "f");
  EXPECT_EQ(write(f, 0, "a", DATA_SYNC).committed, DATA_SYNC);
  EXPECT_EQ(write(f, 1, "b", FILE_SYNC).committed, FILE_SYNC);
}

TEST_F(Nfs3IoFixture, WriteWccHasTheAttributesFromBeforeAndAfterTheWrite) {
  Fh f = create(root_fh_, "f");
  ASSERT_EQ(write(f, 0, "0123456789").status, NFS3_OK);
  Fattr3 before = getattr(f);
  WriteOut w = write(f, 50, std::string(100, 'x'));
  ASSERT_EQ(w.status, NFS3_OK);
  ASSERT_TRUE(w.wcc.before && w.wcc.after);
  EXPECT_EQ(w.wcc.before->size, 10u);
  EXPECT_EQ(w.wcc.before->mtime, before.mtime);
  EXPECT_EQ(w.wcc.before->ctime, before.ctime);
  EXPECT_EQ(w.wcc.after->size, 150u);
  EXPECT_EQ(read_all(fs_->lookup(root(), "f")->ino).substr(50), std::string(100, 'x'));
}

TEST_F(Nfs3IoFixture, ReadReturnsDataAttributesAndEof) {
  Fh f = create(root_fh_, "f");
  std::string data;
  for (int i = 0; i < 3000; i++) data.push_back(static_cast<char>('a' + i % 26));
  ASSERT_EQ(write(f, 0, data).status, NFS3_OK);
  ReadOut head = read(f, 0, 1000);
  ASSERT_EQ(head.status, NFS3_OK);
  EXPECT_EQ(head.count, 1000u);
  EXPECT_FALSE(head.eof);
  EXPECT_EQ(head.data, data.substr(0, 1000));
  ASSERT_TRUE(head.attr);
  EXPECT_EQ(head.attr->size, 3000u);
  ReadOut tail = read(f, 2000, 5000);
  EXPECT_EQ(tail.count, 1000u);
  EXPECT_TRUE(tail.eof);
  EXPECT_EQ(tail.data, data.substr(2000));
  ReadOut past = read(f, 10000, 10);
  EXPECT_EQ(past.count, 0u);
  EXPECT_TRUE(past.eof);
}

// Lets a change land right after a read took its data, as a WRITE on
// another thread may: the read holds no lock over the file.
class ChangeAfterReadFs : public admin::testing::ForwardingFs {
 public:
  using ForwardingFs::ForwardingFs;
  std::function<void()> after_read;
  Result<size_t> read(backend::InodeId i, uint64_t o, std::span<uint8_t> b, bool* eof) override {
    auto r = ForwardingFs::read(i, o, b, eof);
    if (after_read) std::exchange(after_read, nullptr)();
    return r;
  }
};

// A client caches READ data under the reply's attributes. Attributes from
// after a racing WRITE would label the old data as current (the client
// would keep it); the ones from before only make it read again.
TEST_F(Nfs3IoFixture, ReadAttributesAreThoseOfTheStateItsDataCameFrom) {
  Fh f = create(root_fh_, "f");
  ASSERT_EQ(write(f, 0, "hello").status, NFS3_OK);
  const Fattr3 before = getattr(f);
  const backend::InodeId ino = fs_->lookup(root(), "f")->ino;
  ChangeAfterReadFs racy(fs_.get());
  racy.after_read = [&] {
    usleep(20000);  // a later mtime even on a coarse clock
    ASSERT_TRUE(fs_->write(ino, 5, backend::testing::as_bytes(" world")));
  };
  serve(&racy);
  ReadOut r = read(f, 0, 100);
  ASSERT_EQ(r.status, NFS3_OK);
  EXPECT_EQ(r.data, "hello");
  ASSERT_TRUE(r.attr);
  EXPECT_EQ(r.attr->size, 5u);
  EXPECT_EQ(r.attr->mtime, before.mtime);
  const Fattr3 now = getattr(f);  // the write did land, and the client will see it
  EXPECT_EQ(now.size, 11u);
  EXPECT_NE(now.mtime, before.mtime);
}

TEST_F(Nfs3IoFixture, ReadCountIsCappedAtOneMiB) {
  Fh f = create(root_fh_, "big");
  ASSERT_EQ(write(f, 0, std::string(1u << 20, 'y')).status, NFS3_OK);
  ASSERT_EQ(write(f, 1u << 20, std::string(1u << 19, 'z')).status, NFS3_OK);
  ReadOut r = read(f, 0, 4u << 20);
  ASSERT_EQ(r.status, NFS3_OK);
  EXPECT_EQ(r.count, 1u << 20);
  EXPECT_FALSE(r.eof);
  EXPECT_EQ(r.data, std::string(1u << 20, 'y'));
}

TEST_F(Nfs3IoFixture, WriteOfMoreThanOneMiBIsGarbage) {
  Fh f = create(root_fh_, "f");
  xdr::XdrEncoder a;
  put_fh(a, f);
  a.u64(0);
  a.u32((1u << 20) + 1);
  a.u32(UNSTABLE);
  std::string data((1u << 20) + 1, 'q');
  a.var_opaque(data.data(), data.size());
  EXPECT_EQ(call(NFSPROC3_WRITE, a).stat, rpc::GARBAGE_ARGS);
}

TEST_F(Nfs3IoFixture, WriteArgumentsThatDisagreeAreGarbage) {
  Fh f = create(root_fh_, "f");
  xdr::XdrEncoder more;  // count larger than the data
  put_fh(more, f);
  more.u64(0);
  more.u32(10);
  more.u32(UNSTABLE);
  more.var_opaque("abc", 3);
  EXPECT_EQ(call(NFSPROC3_WRITE, more).stat, rpc::GARBAGE_ARGS);
  xdr::XdrEncoder stable;  // no such stable_how
  put_fh(stable, f);
  stable.u64(0);
  stable.u32(3);
  stable.u32(3);
  stable.var_opaque("abc", 3);
  EXPECT_EQ(call(NFSPROC3_WRITE, stable).stat, rpc::GARBAGE_ARGS);
}

TEST_F(Nfs3IoFixture, ReadOfADirectoryIsIsdir) {
  EXPECT_EQ(read(root_fh_, 0, 10).status, NFS3ERR_ISDIR);
  EXPECT_EQ(write(root_fh_, 0, "x").status, NFS3ERR_ISDIR);
}

TEST_F(Nfs3IoFixture, ReadWriteAndCommitOfARemovedFileAreStaleAndOfAForgedHandleBadhandle) {
  Fh f = create(root_fh_, "gone");
  ASSERT_EQ(::unlink(host_path("gone").c_str()), 0);
  EXPECT_EQ(read(f, 0, 3).status, NFS3ERR_STALE);
  EXPECT_EQ(write(f, 0, "x").status, NFS3ERR_STALE);
  xdr::XdrEncoder c;
  put_fh(c, f);
  c.u64(0);
  c.u32(0);
  EXPECT_EQ(call(NFSPROC3_COMMIT, c).dec().u32(), NFS3ERR_STALE);
  Fh forged = root_fh_;
  forged[forged.size() / 2] ^= 1;
  EXPECT_EQ(read(forged, 0, 3).status, NFS3ERR_BADHANDLE);
  EXPECT_EQ(write(forged, 0, "x").status, NFS3ERR_BADHANDLE);
}

TEST_F(Nfs3IoFixture, OwnerMayWriteTheirReadOnlyFileOthersMayNot) {
  mkdir(root(), "open", 0777);
  Fh f = create(lookup(root_fh_, "open"), "f", 0444, {1000, 1000});
  EXPECT_EQ(getattr(f).uid, 1000u);
  EXPECT_EQ(write(f, 0, "mine", UNSTABLE, {1000, 1000}).status, NFS3_OK);
  EXPECT_EQ(write(f, 0, "nope", UNSTABLE, {1001, 1001}).status, NFS3ERR_ACCES);
  EXPECT_EQ(read(f, 0, 4, {1001, 1001}).data, "mine");  // 0444: others may read
}

TEST_F(Nfs3IoFixture, ExecuteOnlyFilesMayBeReadForExecution) {
  Fh f = create(root_fh_, "bin", 0711);
  ASSERT_EQ(write(f, 0, "#!").status, NFS3_OK);
  EXPECT_EQ(read(f, 0, 2, {1000, 1000}).status, NFS3_OK);
  Fh g = create(root_fh_, "secret", 0700);
  EXPECT_EQ(read(g, 0, 2, {1000, 1000}).status, NFS3ERR_ACCES);
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing

namespace pnfsgw::nfs3::testing {
namespace {

// The transport runs a call on its event loop (no hand-off) only if the
// program says it cannot wait: reads yes, changes (group commit) and large
// READs no.
TEST_F(Nfs3IoFixture, OnlyQuickCallsRunInline) {
  auto inline_for = [&](uint32_t proc, const xdr::XdrEncoder& a) {
    rpc::CallHeader h;
    h.prog = NFS_PROGRAM;
    h.vers = NFS_V3;
    h.proc = proc;
    return server_->runs_inline(h, a.buffer());
  };
  xdr::XdrEncoder fh;
  put_fh(fh, root_fh_);
  EXPECT_TRUE(inline_for(NFSPROC3_GETATTR, fh));
  EXPECT_TRUE(inline_for(NFSPROC3_FSINFO, fh));
  xdr::XdrEncoder dirop;
  put_dirop(dirop, root_fh_, "a");
  EXPECT_TRUE(inline_for(NFSPROC3_LOOKUP, dirop));
  EXPECT_FALSE(inline_for(NFSPROC3_CREATE, dirop));
  EXPECT_FALSE(inline_for(NFSPROC3_REMOVE, dirop));
  for (uint32_t count : {4096u, 65536u, 65537u, 1u << 20}) {
    xdr::XdrEncoder rd;
    put_fh(rd, root_fh_);
    rd.u64(0);
    rd.u32(count);
    EXPECT_EQ(inline_for(NFSPROC3_READ, rd), count <= 65536) << count;
  }
  xdr::XdrEncoder truncated;  // a READ cut short is left to the handler to reject
  put_fh(truncated, root_fh_);
  EXPECT_FALSE(inline_for(NFSPROC3_READ, truncated));
  EXPECT_FALSE(inline_for(NFSPROC3_WRITE, fh));
  EXPECT_FALSE(inline_for(NFSPROC3_COMMIT, fh));
  // A small UNSTABLE WRITE may start on the loop (it defers when it would
  // wait); a stable or a large one goes to the pool.
  for (uint32_t stable : {UNSTABLE, DATA_SYNC, FILE_SYNC}) {
    for (uint32_t count : {4096u, 65536u, 65537u}) {
      xdr::XdrEncoder wr;
      put_fh(wr, root_fh_);
      wr.u64(0);
      wr.u32(count);
      wr.u32(stable);
      EXPECT_EQ(inline_for(NFSPROC3_WRITE, wr), stable == UNSTABLE && count <= 65536)
          << count << " " << stable;
    }
  }
}

// On the event loop a WRITE the filesystem cannot do without waiting (the
// host directory has no quick path) asks for the pool, having written
// nothing and encoded nothing; there it runs, and the duplicate request
// cache still answers a retransmit from the first run's reply.
TEST_F(Nfs3IoFixture, AWriteThatWouldWaitOnTheLoopIsDeferredUntouched) {
  Fh f = create(root_fh_, "f");
  xdr::XdrEncoder a;
  put_fh(a, f);
  a.u64(0);
  a.u32(5);
  a.u32(UNSTABLE);
  a.var_opaque("hello", 5);
  rpc::CallContext ctx;
  ctx.hdr.xid = 4242;
  ctx.hdr.prog = NFS_PROGRAM;
  ctx.hdr.vers = NFS_V3;
  ctx.hdr.proc = NFSPROC3_WRITE;
  ctx.hdr.flavor = rpc::AUTH_SYS;
  ctx.may_defer = true;
  auto run = [&](xdr::XdrEncoder* out, rpc::AcceptStat* stat) {
    xdr::XdrDecoder dec(a.buffer().data(), a.buffer().size());
    return server_->handle(ctx, dec, *out, stat);
  };
  xdr::XdrEncoder out;
  rpc::AcceptStat stat = rpc::SUCCESS;
  EXPECT_EQ(run(&out, &stat), rpc::Disposition::kDefer);
  EXPECT_EQ(out.size(), 0u);
  EXPECT_EQ(getattr(f).size, 0u);
  ctx.may_defer = false;  // on the pool
  EXPECT_EQ(run(&out, &stat), rpc::Disposition::kReply);
  ASSERT_GT(out.size(), 4u);
  EXPECT_EQ(xdr::XdrDecoder(out.buffer().data(), out.buffer().size()).u32(), NFS3_OK);
  EXPECT_EQ(read(f, 0, 100).data, "hello");
  xdr::XdrEncoder again;  // a retransmit: the same bytes, from the cache
  ctx.may_defer = true;
  EXPECT_EQ(run(&again, &stat), rpc::Disposition::kReply);
  EXPECT_EQ(again.buffer(), out.buffer());
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing
