// Fixture for NFSv3 procedure tests: an Nfs3Server over a HostDirFs on a
// fresh temp directory, called in-process through RpcProgram::handle()
// with hand-encoded arguments. Results are decoded here by hand, from the
// RFC 1813 layouts, independently of the server's own encoders.
#pragma once
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/nfs3/nfs3_const.h"
#include "gateway/nfs3/server.h"
#include "gateway/nfs4/filehandle.h"
#include "gateway/rpc/rpc.h"
#include "gateway/xdr/xdr.h"
#include "tests/unit/hostdir/hostdir_test_util.h"

namespace pnfsgw::nfs3::testing {

using Fh = std::vector<uint8_t>;

struct Time3 {
  uint32_t sec = 0, nsec = 0;
  bool operator==(const Time3&) const = default;
};

struct Fattr3 {
  uint32_t type = 0, mode = 0, nlink = 0, uid = 0, gid = 0;
  uint64_t size = 0, used = 0;
  uint32_t rdev1 = 0, rdev2 = 0;
  uint64_t fsid = 0, fileid = 0;
  Time3 atime, mtime, ctime;
};

struct WccAttr3 {
  uint64_t size = 0;
  Time3 mtime, ctime;
};

struct Wcc3 {
  std::optional<WccAttr3> before;
  std::optional<Fattr3> after;
};

inline Time3 get_time(xdr::XdrDecoder& d) {
  Time3 t;
  t.sec = d.u32();
  t.nsec = d.u32();
  return t;
}

inline Fattr3 get_fattr3(xdr::XdrDecoder& d) {
  Fattr3 f;
  f.type = d.u32();
  f.mode = d.u32();
  f.nlink = d.u32();
  f.uid = d.u32();
  f.gid = d.u32();
  f.size = d.u64();
  f.used = d.u64();
  f.rdev1 = d.u32();
  f.rdev2 = d.u32();
  f.fsid = d.u64();
  f.fileid = d.u64();
  f.atime = get_time(d);
  f.mtime = get_time(d);
  f.ctime = get_time(d);
  return f;
}

inline std::optional<Fattr3> get_post_op(xdr::XdrDecoder& d) {
  if (!d.boolean()) return std::nullopt;
  return get_fattr3(d);
}

inline Wcc3 get_wcc(xdr::XdrDecoder& d) {
  Wcc3 w;
  if (d.boolean()) {
    WccAttr3 b;
    b.size = d.u64();
    b.mtime = get_time(d);
    b.ctime = get_time(d);
    w.before = b;
  }
  w.after = get_post_op(d);
  return w;
}

inline Fh get_fh(xdr::XdrDecoder& d) {
  auto s = d.var_opaque(NFS3_FHSIZE);
  return Fh(s.begin(), s.end());
}

inline void put_fh(xdr::XdrEncoder& e, const Fh& fh) { e.var_opaque(fh.data(), fh.size()); }
inline void put_dirop(xdr::XdrEncoder& e, const Fh& dir, const std::string& name) {
  put_fh(e, dir);
  e.string(name);
}

// sattr3 with only the mode set (or nothing, for mode < 0).
inline void put_sattr(xdr::XdrEncoder& e, int mode = -1) {
  e.boolean(mode >= 0);
  if (mode >= 0) e.u32(static_cast<uint32_t>(mode));
  e.boolean(false);  // uid
  e.boolean(false);  // gid
  e.boolean(false);  // size
  e.u32(DONT_CHANGE);
  e.u32(DONT_CHANGE);
}

// One procedure's answer: the accept status and the result bytes.
struct Reply {
  rpc::AcceptStat stat = rpc::SUCCESS;
  std::vector<uint8_t> bytes;
  xdr::XdrDecoder dec() const { return xdr::XdrDecoder(bytes.data(), bytes.size()); }
};

struct Caller {
  uint32_t uid = 0, gid = 0;
};

class Nfs3ProcTest : public backend::testing::HostDirFsTest {
 protected:
  static constexpr uint32_t kExportId = 7;
  static constexpr std::array<uint8_t, 8> kVerifier{1, 2, 3, 4, 5, 6, 7, 8};

  void SetUp() override {
    HostDirFsTest::SetUp();
    std::array<uint8_t, 32> key{};
    for (size_t i = 0; i < key.size(); i++) key[i] = static_cast<uint8_t>(i * 7 + 1);
    fhc_ = std::make_unique<nfs4::FhCodec>(key);
    serve(fs_.get());
    root_fh_ = fh_of(root());
  }

  // (Re)starts the server over fs: fs_ itself, or a wrapper around it.
  void serve(backend::Filesystem* fs) {
    Nfs3Options o;
    o.export_id = kExportId;
    o.write_verifier = kVerifier;
    server_ = std::make_unique<Nfs3Server>(o, fs, fhc_.get());
  }

  void TearDown() override {
    server_.reset();
    HostDirFsTest::TearDown();
  }

  // The handle the server hands out for ino (the NFSv4 handle bytes).
  Fh fh_of(backend::InodeId ino) {
    auto layer = fs_->encode_handle(ino);
    EXPECT_TRUE(layer);
    auto fh = fhc_->encode(kExportId, ino,
                           {reinterpret_cast<const uint8_t*>(layer->data()), layer->size()});
    EXPECT_TRUE(fh);
    return *fh;
  }

  // Every call has a new xid, as a client's would: the duplicate request
  // cache replays the reply of an earlier call with the same xid and args.
  Reply call(uint32_t proc, const xdr::XdrEncoder& args, Caller who = {}) {
    rpc::CallContext ctx;
    ctx.hdr.xid = next_xid_++;
    ctx.hdr.prog = NFS_PROGRAM;
    ctx.hdr.vers = NFS_V3;
    ctx.hdr.proc = proc;
    ctx.hdr.flavor = rpc::AUTH_SYS;
    ctx.hdr.sys.uid = who.uid;
    ctx.hdr.sys.gid = who.gid;
    xdr::XdrDecoder dec(args.buffer().data(), args.buffer().size());
    xdr::XdrEncoder out;
    Reply r;
    EXPECT_EQ(server_->handle(ctx, dec, out, &r.stat), rpc::Disposition::kReply);
    r.bytes = out.take();
    return r;
  }

  // LOOKUP dir/name -> handle (empty on failure).
  Fh lookup(const Fh& dir, const std::string& name, uint32_t* status = nullptr) {
    xdr::XdrEncoder a;
    put_dirop(a, dir, name);
    Reply r = call(NFSPROC3_LOOKUP, a);
    auto d = r.dec();
    uint32_t st = d.u32();
    if (status) *status = st;
    return st == NFS3_OK ? get_fh(d) : Fh{};
  }

  // CREATE UNCHECKED dir/name with a mode; returns the new handle.
  Fh create(const Fh& dir, const std::string& name, uint32_t mode = 0644, Caller who = {}) {
    xdr::XdrEncoder a;
    put_dirop(a, dir, name);
    a.u32(UNCHECKED);
    put_sattr(a, static_cast<int>(mode));
    Reply r = call(NFSPROC3_CREATE, a, who);
    auto d = r.dec();
    EXPECT_EQ(d.u32(), NFS3_OK) << "CREATE " << name;
    EXPECT_TRUE(d.boolean()) << "no handle for " << name;
    return get_fh(d);
  }

  Fattr3 getattr(const Fh& fh) {
    xdr::XdrEncoder a;
    put_fh(a, fh);
    Reply r = call(NFSPROC3_GETATTR, a);
    auto d = r.dec();
    EXPECT_EQ(d.u32(), NFS3_OK);
    return get_fattr3(d);
  }

  std::unique_ptr<nfs4::FhCodec> fhc_;
  std::unique_ptr<Nfs3Server> server_;
  Fh root_fh_;
  uint32_t next_xid_ = 1;
};

}  // namespace pnfsgw::nfs3::testing
