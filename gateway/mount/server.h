// The MOUNT program (100005, RFC 1813 appendix I) for the one export "/":
// version 3, and versions 1 and 2 for everything but MNT (their 32-byte
// handles cannot carry ours; MNT answers EACCES there). Served on the
// same port as NFS. handle() is safe from any thread.
#pragma once
#include <cstdint>
#include <string>

#include "backend/fs.h"
#include "gateway/mount/mount_list.h"
#include "gateway/nfs3/fh3.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::mount {

constexpr uint32_t MOUNT_PROGRAM = 100005;
constexpr uint32_t MNTPATHLEN = 1024;
constexpr uint32_t MNTNAMLEN = 255;

enum mountproc3 : uint32_t {
  MOUNTPROC3_NULL = 0,
  MOUNTPROC3_MNT = 1,
  MOUNTPROC3_DUMP = 2,
  MOUNTPROC3_UMNT = 3,
  MOUNTPROC3_UMNTALL = 4,
  MOUNTPROC3_EXPORT = 5,
};

enum mountstat3 : uint32_t {
  MNT3_OK = 0,
  MNT3ERR_PERM = 1,
  MNT3ERR_NOENT = 2,
  MNT3ERR_IO = 5,
  MNT3ERR_ACCES = 13,
  MNT3ERR_NOTDIR = 20,
  MNT3ERR_INVAL = 22,
  MNT3ERR_NAMETOOLONG = 63,
  MNT3ERR_NOTSUPP = 10004,
  MNT3ERR_SERVERFAULT = 10006,
};

struct MountOptions {
  uint32_t export_id = 1;  // must be the NFS programs' export id
};

class MountServer : public rpc::RpcProgram {
 public:
  // fs and fhc must outlive the server.
  MountServer(MountOptions opts, backend::Filesystem* fs, const nfs4::FhCodec* fhc);

  uint32_t program() const override { return MOUNT_PROGRAM; }
  uint32_t min_version() const override { return 1; }
  uint32_t max_version() const override { return 3; }
  rpc::Disposition handle(const rpc::CallContext& ctx, xdr::XdrDecoder& args, xdr::XdrEncoder& out,
                          rpc::AcceptStat* stat) override;

  const MountList& mounts() const { return mounts_; }

 private:
  // The inode a MNT path names: "/" is the export root; deeper paths are
  // walked one component at a time (subdirectory mounts).
  mountstat3 resolve_path(std::string_view path, uint64_t* ino);
  void mnt(const rpc::CallContext& ctx, std::string_view path, xdr::XdrEncoder& out);

  backend::Filesystem* fs_;
  nfs3::Fh3Codec fh_;
  MountList mounts_;
};

}  // namespace pnfsgw::mount
