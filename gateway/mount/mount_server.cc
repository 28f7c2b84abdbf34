// MOUNT procedures (RFC 1813 appendix I, 5.2).
#include "common/log.h"
#include "gateway/mount/server.h"

namespace pnfsgw::mount {
namespace {

mountstat3 errno_to_mnt(int err) {
  switch (err) {
    case EPERM:
      return MNT3ERR_PERM;
    case ENOENT:
      return MNT3ERR_NOENT;
    case EIO:
      return MNT3ERR_IO;
    case EACCES:
      return MNT3ERR_ACCES;
    case ENOTDIR:
      return MNT3ERR_NOTDIR;
    case EINVAL:
      return MNT3ERR_INVAL;
    case ENAMETOOLONG:
      return MNT3ERR_NAMETOOLONG;
    case ESTALE:
      return MNT3ERR_NOENT;
    default:
      return MNT3ERR_SERVERFAULT;
  }
}

// The only export: the Filesystem's root, open to every client.
constexpr char kExportPath[] = "/";

}  // namespace

MountServer::MountServer(MountOptions opts, backend::Filesystem* fs, const nfs4::FhCodec* fhc)
    : fs_(fs), fh_(fs, fhc, opts.export_id) {}

mountstat3 MountServer::resolve_path(std::string_view path, uint64_t* ino) {
  if (path.empty() || path.front() != '/') return MNT3ERR_NOENT;
  uint64_t cur = fs_->root();
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") return MNT3ERR_NOENT;  // nothing above the export, and no tricks
    if (comp.size() > MNTNAMLEN) return MNT3ERR_NAMETOOLONG;
    auto a = fs_->lookup(cur, comp);
    if (!a) return errno_to_mnt(a.err());
    if (a->type != backend::FileType::kDirectory) return MNT3ERR_NOTDIR;
    cur = a->ino;
  }
  *ino = cur;
  return MNT3_OK;
}

void MountServer::mnt(const rpc::CallContext& ctx, std::string_view path, xdr::XdrEncoder& out) {
  uint64_t ino = 0;
  mountstat3 st = resolve_path(path, &ino);
  Result<std::vector<uint8_t>> fh = Status::error(EIO);
  if (st == MNT3_OK) {
    fh = fh_.encode(ino);
    if (!fh) st = fh.err() == EOVERFLOW ? MNT3ERR_SERVERFAULT : errno_to_mnt(fh.err());
  }
  if (ctx.hdr.vers < 3) {
    // fhstatus: v1/v2 handles are 32 bytes and ours are longer.
    out.u32(st == MNT3_OK ? MNT3ERR_ACCES : st);
    return;
  }
  out.u32(st);
  if (st != MNT3_OK) return;
  out.var_opaque(fh->data(), fh->size());
  out.u32(2);  // auth_flavors
  out.u32(rpc::AUTH_SYS);
  out.u32(rpc::AUTH_NONE);
  std::string host = ctx.conn ? host_of_peer(ctx.conn->peer()) : "";
  mounts_.add(host, std::string(path));
  PLOG_DEBUG("mount: %s mounted %.*s", host.c_str(), static_cast<int>(path.size()), path.data());
}

rpc::Disposition MountServer::handle(const rpc::CallContext& ctx, xdr::XdrDecoder& args,
                                     xdr::XdrEncoder& out, rpc::AcceptStat* stat) {
  const std::string host = ctx.conn ? host_of_peer(ctx.conn->peer()) : "";
  *stat = rpc::SUCCESS;
  switch (ctx.hdr.proc) {
    case MOUNTPROC3_NULL:
      break;
    case MOUNTPROC3_MNT: {
      std::string_view path = args.string(MNTPATHLEN);
      if (!args.ok())
        *stat = rpc::GARBAGE_ARGS;
      else
        mnt(ctx, path, out);
      break;
    }
    case MOUNTPROC3_DUMP:
      for (const auto& [h, dir] : mounts_.entries()) {
        out.boolean(true);
        out.string(h.substr(0, MNTNAMLEN));
        out.string(dir);
      }
      out.boolean(false);
      break;
    case MOUNTPROC3_UMNT: {
      std::string_view path = args.string(MNTPATHLEN);
      if (!args.ok())
        *stat = rpc::GARBAGE_ARGS;
      else
        mounts_.remove(host, std::string(path));
      break;
    }
    case MOUNTPROC3_UMNTALL:
      mounts_.remove_host(host);
      break;
    case MOUNTPROC3_EXPORT:
      out.boolean(true);
      out.string(kExportPath);
      out.boolean(false);  // ex_groups: none, i.e. every client
      out.boolean(false);
      break;
    default:
      *stat = rpc::PROC_UNAVAIL;
  }
  return rpc::Disposition::kReply;
}

}  // namespace pnfsgw::mount
