// READDIR and READDIRPLUS (RFC 1813 3.3.16, 3.3.17).
//
// Cookies: "." is 1 and ".." is 2; every other cookie is the Filesystem's,
// which never uses 0, 1 or 2 and stays valid while the directory changes.
// So the cookie verifier is always zero and any verifier is accepted.
#include "gateway/nfs3/nfs3_internal.h"

namespace pnfsgw::nfs3 {
namespace {

constexpr uint64_t kDotCookie = 1;
constexpr uint64_t kDotDotCookie = 2;
// READDIR3resok / READDIRPLUS3resok without entries: dir_attributes,
// cookieverf, the final value_follows = FALSE and eof.
constexpr size_t kResokBase = kPostOpAttrSize + NFS3_COOKIEVERFSIZE + 4 + 4;

struct ReaddirArgs {
  Fh3 dir;
  uint64_t cookie = 0;
  uint32_t dircount = 0;  // READDIRPLUS only: limit on entry3 parts
  uint32_t maxcount = 0;  // limit on the whole resok
};

// Calls emit(entry) for each entry after `cookie` until it returns false
// (reply full) or the directory ends (*eof). With plus the entries carry
// their attributes ("." and ".." too: dir_attr is the directory's).
template <typename Emit>
nfsstat3 walk(Nfs3Ctx& ctx, uint64_t dino, const backend::Attr& dir_attr, uint64_t cookie,
              bool plus, Emit emit, bool* eof) {
  using backend::FileType;
  *eof = false;
  if (cookie == 0 && !emit({".", dino, FileType::kDirectory, kDotCookie, &dir_attr, {}}))
    return NFS3_OK;
  if (cookie <= kDotCookie) {
    auto parent = ctx.core.fs->lookup_parent(dino);
    if (!parent) return errno_status(parent.err());
    if (!emit({"..", parent->ino, FileType::kDirectory, kDotDotCookie, &*parent, {}}))
      return NFS3_OK;
  }
  uint64_t next = cookie <= kDotDotCookie ? 0 : cookie;
  Status st = ctx.core.fs->readdir_plus(
      dino, next, plus, [&](const backend::DirEntryPlus& e) { return emit(e); }, eof);
  if (!st) return st.err() == EINVAL && next != 0 ? NFS3ERR_BAD_COOKIE : errno_status(st.err());
  return NFS3_OK;
}

// The directory being listed, with the caller allowed to read it.
nfsstat3 listable(Nfs3Ctx& ctx, Fh3 fh, uint64_t* dino, std::optional<backend::Attr>* attr) {
  if (nfsstat3 st = resolve(ctx, fh, dino); st != NFS3_OK) return st;
  backend::Attr dir;
  nfsstat3 st = dir_attr(ctx, *dino, &dir);
  if (st == NFS3_OK || st == NFS3ERR_NOTDIR) *attr = dir;
  if (st != NFS3_OK) return st;
  return require(ctx, dir, gw::kMayRead);
}

// Encodes the reply of either procedure; plus selects READDIRPLUS.
void readdir_reply(Nfs3Ctx& ctx, const ReaddirArgs& a, bool plus, xdr::XdrEncoder& enc) {
  uint64_t dino = 0;
  std::optional<backend::Attr> dattr;
  const size_t start = enc.size();
  nfsstat3 st = listable(ctx, a.dir, &dino, &dattr);
  const size_t limit = std::min<size_t>(a.maxcount, ctx.core.opts.max_read);
  if (st == NFS3_OK && limit < kResokBase) st = NFS3ERR_TOOSMALL;
  if (st != NFS3_OK) {
    enc.u32(st);
    encode_post_op_attr(enc, dattr, ctx.core.fsid);
    return;
  }
  enc.u32(NFS3_OK);
  const size_t resok = enc.size();
  encode_post_op_attr(enc, dattr, ctx.core.fsid);
  enc.u64(0);  // cookieverf
  size_t entries = 0, dirbytes = 0;
  bool full = false;
  auto emit = [&](const backend::DirEntryPlus& e) {
    const size_t info = entry3_size(e.name.size());
    if (plus && dirbytes + info > a.dircount) return !(full = true);
    const size_t mark = enc.size();
    if (plus) {
      uint8_t fh[NFS3_FHSIZE];
      size_t fh_len = 0;
      if (e.attr) {
        auto n = ctx.core.fh.encode_to(e.ino, e.handle, fh);
        if (n) fh_len = *n;
      }
      encode_entryplus3(enc, e.ino, e.name, e.cookie, e.attr, ctx.core.fsid, {fh, fh_len});
    } else {
      encode_entry3(enc, e.ino, e.name, e.cookie);
    }
    if (enc.size() - resok + 8 > limit) {  // + the list end and eof
      enc.truncate(mark);
      return !(full = true);
    }
    dirbytes += info;
    entries++;
    return true;
  };
  bool eof = false;
  st = walk(ctx, dino, *dattr, a.cookie, plus, emit, &eof);
  if (st == NFS3_OK && entries == 0 && full) st = NFS3ERR_TOOSMALL;
  if (st != NFS3_OK) {
    enc.truncate(start);
    enc.u32(st);
    encode_post_op_attr(enc, dattr, ctx.core.fsid);
    return;
  }
  enc.boolean(false);  // no more entries
  enc.boolean(eof && !full);
}

bool proc_readdir(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  ReaddirArgs a;
  a.dir = decode_fh3(dec);
  a.cookie = dec.u64();
  dec.fixed_opaque(NFS3_COOKIEVERFSIZE);  // any verifier: our cookies stay valid
  a.maxcount = dec.u32();
  if (!dec.ok()) return false;
  readdir_reply(ctx, a, false, enc);
  return true;
}

bool proc_readdirplus(Nfs3Ctx& ctx, xdr::XdrDecoder& dec, xdr::XdrEncoder& enc) {
  ReaddirArgs a;
  a.dir = decode_fh3(dec);
  a.cookie = dec.u64();
  dec.fixed_opaque(NFS3_COOKIEVERFSIZE);
  a.dircount = dec.u32();
  a.maxcount = dec.u32();
  if (!dec.ok()) return false;
  readdir_reply(ctx, a, true, enc);
  return true;
}

}  // namespace

void register_readdir_procs(ProcDesc* t) {
  t[NFSPROC3_READDIR] = {"READDIR", proc_readdir};
  t[NFSPROC3_READDIRPLUS] = {"READDIRPLUS", proc_readdirplus};
}

}  // namespace pnfsgw::nfs3
