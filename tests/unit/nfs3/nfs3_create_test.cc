// CREATE (UNCHECKED, GUARDED, EXCLUSIVE), MKDIR, SYMLINK, MKNOD.
#include <unistd.h>

#include "tests/unit/nfs3/nfs3_test_util.h"

namespace pnfsgw::nfs3::testing {
namespace {

struct CreateOut {
  uint32_t status = 0;
  Fh fh;
  std::optional<Fattr3> attr;
  Wcc3 dir_wcc;
};

CreateOut get_create_res(const Reply& r) {
  auto d = r.dec();
  CreateOut o;
  o.status = d.u32();
  if (o.status == NFS3_OK) {
    if (d.boolean()) o.fh = get_fh(d);
    o.attr = get_post_op(d);
  }
  o.dir_wcc = get_wcc(d);
  EXPECT_TRUE(d.ok() && d.remaining() == 0);
  return o;
}

class Nfs3CreateTest : public Nfs3ProcTest {
 protected:
  CreateOut create_how(const std::string& name, uint32_t how, uint32_t mode = 0640,
                       std::array<uint8_t, 8> verf = {}, Caller who = {}) {
    xdr::XdrEncoder a;
    put_dirop(a, root_fh_, name);
    a.u32(how);
    if (how == EXCLUSIVE)
      a.fixed_opaque(verf.data(), verf.size());
    else
      put_sattr(a, static_cast<int>(mode));
    Reply r = call(NFSPROC3_CREATE, a, who);
    EXPECT_EQ(r.stat, rpc::SUCCESS);
    return get_create_res(r);
  }
};

TEST_F(Nfs3CreateTest, UncheckedCreateMakesTheFileWithModeHandleAndDirWcc) {
  Fattr3 dir_before = getattr(root_fh_);
  CreateOut c = create_how("new", UNCHECKED, 0640);
  ASSERT_EQ(c.status, NFS3_OK);
  ASSERT_TRUE(c.attr);
  EXPECT_EQ(c.attr->mode, 0640u);
  EXPECT_EQ(c.attr->type, NF3REG);
  EXPECT_EQ(c.fh, lookup(root_fh_, "new"));
  ASSERT_TRUE(c.dir_wcc.before && c.dir_wcc.after);
  EXPECT_EQ(c.dir_wcc.before->mtime, dir_before.mtime);
  EXPECT_EQ(c.dir_wcc.after->mtime, getattr(root_fh_).mtime);
}

TEST_F(Nfs3CreateTest, UncheckedCreateOfAnExistingFileKeepsItsData) {
  file_with("old", "contents");
  CreateOut c = create_how("old", UNCHECKED);
  ASSERT_EQ(c.status, NFS3_OK);
  EXPECT_EQ(c.attr->size, 8u);
}

TEST_F(Nfs3CreateTest, GuardedCreateOfAnExistingFileIsExist) {
  file_with("old", "contents");
  EXPECT_EQ(create_how("old", GUARDED).status, NFS3ERR_EXIST);
  EXPECT_EQ(create_how("fresh", GUARDED).status, NFS3_OK);
}

TEST_F(Nfs3CreateTest, ExclusiveCreateRetriedWithTheSameVerifierSucceeds) {
  const std::array<uint8_t, 8> v{9, 8, 7, 6, 5, 4, 3, 2};
  CreateOut first = create_how("ex", EXCLUSIVE, 0, v);
  ASSERT_EQ(first.status, NFS3_OK);
  CreateOut retry = create_how("ex", EXCLUSIVE, 0, v);
  ASSERT_EQ(retry.status, NFS3_OK);
  EXPECT_EQ(retry.fh, first.fh);
  EXPECT_EQ(retry.attr->fileid, first.attr->fileid);
}

TEST_F(Nfs3CreateTest, ExclusiveCreateWithAnotherVerifierIsExist) {
  ASSERT_EQ(create_how("ex", EXCLUSIVE, 0, {1, 1, 1, 1, 1, 1, 1, 1}).status, NFS3_OK);
  EXPECT_EQ(create_how("ex", EXCLUSIVE, 0, {2, 2, 2, 2, 2, 2, 2, 2}).status, NFS3ERR_EXIST);
  file_with("plain", "x");  // made without a verifier
  EXPECT_EQ(create_how("plain", EXCLUSIVE, 0, {1, 1, 1, 1, 1, 1, 1, 1}).status, NFS3ERR_EXIST);
}

TEST_F(Nfs3CreateTest, CreateNeedsWriteAccessToTheDirectory) {
  CreateOut c = create_how("nope", UNCHECKED, 0644, {}, {1000, 1000});
  EXPECT_EQ(c.status, NFS3ERR_ACCES);
  EXPECT_TRUE(c.dir_wcc.before && c.dir_wcc.after);
}

TEST_F(Nfs3CreateTest, CreateNamesItCannotUse) {
  EXPECT_EQ(create_how(".", GUARDED).status, NFS3ERR_EXIST);
  EXPECT_EQ(create_how(std::string(256, 'l'), GUARDED).status, NFS3ERR_NAMETOOLONG);
  EXPECT_EQ(create_how("a/b", GUARDED).status, NFS3ERR_INVAL);
}

TEST_F(Nfs3CreateTest, CreatedFilesBelongToTheCaller) {
  mkdir(root(), "open", 0777);
  xdr::XdrEncoder a;
  put_dirop(a, lookup(root_fh_, "open"), "f");
  a.u32(GUARDED);
  put_sattr(a, 0600);
  CreateOut c = get_create_res(call(NFSPROC3_CREATE, a, {1234, 567}));
  ASSERT_EQ(c.status, NFS3_OK);
  EXPECT_EQ(c.attr->uid, 1234u);
  EXPECT_EQ(c.attr->gid, 567u);
}

TEST_F(Nfs3CreateTest, MkdirMakesADirectory) {
  xdr::XdrEncoder a;
  put_dirop(a, root_fh_, "d");
  put_sattr(a, 0750);
  CreateOut c = get_create_res(call(NFSPROC3_MKDIR, a));
  ASSERT_EQ(c.status, NFS3_OK);
  EXPECT_EQ(c.attr->type, NF3DIR);
  EXPECT_EQ(c.attr->mode, 0750u);
  EXPECT_EQ(get_create_res(call(NFSPROC3_MKDIR, a)).status, NFS3ERR_EXIST);
}

TEST_F(Nfs3CreateTest, SymlinkMakesALinkWithTheTarget) {
  xdr::XdrEncoder a;
  put_dirop(a, root_fh_, "ln");
  put_sattr(a);
  a.string("../target");
  CreateOut c = get_create_res(call(NFSPROC3_SYMLINK, a));
  ASSERT_EQ(c.status, NFS3_OK);
  EXPECT_EQ(c.attr->type, NF3LNK);
  char buf[64] = {};
  ASSERT_EQ(::readlink(host_path("ln").c_str(), buf, sizeof buf), 9);
  EXPECT_STREQ(buf, "../target");
}

xdr::XdrEncoder mknod_args(const Fh& dir, const std::string& name, uint32_t type) {
  xdr::XdrEncoder a;
  put_dirop(a, dir, name);
  a.u32(type);
  if (type == NF3CHR || type == NF3BLK) {
    put_sattr(a, 0600);
    a.u32(1);  // major: /dev/null's
    a.u32(3);
  } else if (type == NF3FIFO || type == NF3SOCK) {
    put_sattr(a, 0600);
  }
  return a;
}

TEST_F(Nfs3CreateTest, MknodMakesFifosAndDevicesForRoot) {
  CreateOut fifo = get_create_res(call(NFSPROC3_MKNOD, mknod_args(root_fh_, "p", NF3FIFO)));
  ASSERT_EQ(fifo.status, NFS3_OK);
  EXPECT_EQ(fifo.attr->type, NF3FIFO);
  CreateOut chr = get_create_res(call(NFSPROC3_MKNOD, mknod_args(root_fh_, "c", NF3CHR)));
  ASSERT_EQ(chr.status, NFS3_OK);
  EXPECT_EQ(chr.attr->type, NF3CHR);
  EXPECT_EQ(chr.attr->rdev1, 1u);
  EXPECT_EQ(chr.attr->rdev2, 3u);
}

TEST_F(Nfs3CreateTest, MknodOfADeviceByANonRootCallerIsPerm) {
  mkdir(root(), "open", 0777);
  Reply r = call(NFSPROC3_MKNOD, mknod_args(lookup(root_fh_, "open"), "c", NF3CHR), {1000, 1000});
  EXPECT_EQ(get_create_res(r).status, NFS3ERR_PERM);
}

TEST_F(Nfs3CreateTest, MknodOfARegularFileIsBadtype) {
  EXPECT_EQ(get_create_res(call(NFSPROC3_MKNOD, mknod_args(root_fh_, "r", NF3REG))).status,
            NFS3ERR_BADTYPE);
  xdr::XdrEncoder bad = mknod_args(root_fh_, "x", 99);
  EXPECT_EQ(call(NFSPROC3_MKNOD, bad).stat, rpc::GARBAGE_ARGS);
}

}  // namespace
}  // namespace pnfsgw::nfs3::testing
