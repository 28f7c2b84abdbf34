// Nfs4Client file operations: each builds one compound (after the SEQUENCE
// that compound() adds in 4.1) and returns the interesting result. Ops that
// use NFSv4.0 seqids hold v40_mu_ and advance the seqids (nfs4_client_v40.cc).
#include <algorithm>
#include <cstring>
#include <iterator>
#include <mutex>

#include "client/nfs4_client.h"
#include "client/ops_reply.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
template <class R>
Result<R> result_at(const OpsReply& r, size_t builder_index) {
  return r.get<R>(builder_index);
}

Status status_of(const OpsReply& r) { return r.status(); }

constexpr uint32_t kReaddirMaxcount = 64 * 1024;
constexpr size_t kReaddirMaxRounds = 100000;
}  // namespace

Result<Fh> Nfs4Client::root_fh() {
  CompoundBuilder b;
  b.putrootfh().getfh();
  auto fh = result_at<GetfhRes>(run(b), 1);
  if (!fh) return fh.status();
  return std::move(fh->fh);
}

Result<Fh> Nfs4Client::lookup_path(std::string_view path) {
  CompoundBuilder b;
  b.putrootfh();
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (end > pos) b.lookup(path.substr(pos, end - pos));
    pos = end + 1;
  }
  b.getfh();
  auto fh = result_at<GetfhRes>(run(b), b.op_count() - 1);
  if (!fh) return fh.status();
  return std::move(fh->fh);
}

Result<Fh> Nfs4Client::lookup(const Fh& dir, std::string_view name) {
  CompoundBuilder b;
  b.putfh(dir).lookup(name).getfh();
  auto fh = result_at<GetfhRes>(run(b), 2);
  if (!fh) return fh.status();
  return std::move(fh->fh);
}

Result<Fattr> Nfs4Client::getattr(const Fh& fh, const Bitmap4& mask) {
  CompoundBuilder b;
  b.putfh(fh).getattr(mask);
  auto res = result_at<GetattrRes>(run(b), 1);
  if (!res) return res.status();
  return std::move(res->attrs);
}

Status Nfs4Client::setattr(const Fh& fh, const SetAttrs& attrs, const Stateid& s) {
  CompoundBuilder b;
  b.putfh(fh).setattr(s, attrs);
  return status_of(run(b));
}

Result<AccessRes> Nfs4Client::access(const Fh& fh, uint32_t mask) {
  CompoundBuilder b;
  b.putfh(fh).access(mask);
  return result_at<AccessRes>(run(b), 1);
}

namespace {
OpenArgs open_args(const OpenOptions& o, uint64_t clientid, const std::string& default_owner) {
  OpenArgs a;
  a.share_access = o.share_access;
  a.share_deny = o.share_deny;
  a.clientid = clientid;
  a.owner = o.owner.empty() ? default_owner : o.owner;
  a.create = o.create;
  a.createmode = o.createmode;
  a.attrs = o.attrs;
  a.verf = o.verf;
  return a;
}

Result<OpenResult> open_result(const OpsReply& r) {
  auto open = result_at<OpenRes>(r, 1);
  if (!open) return open.status();
  auto fh = result_at<GetfhRes>(r, 2);
  if (!fh) return fh.status();
  return OpenResult{std::move(fh->fh), open->stateid, open->rflags, open->delegation_type};
}
}  // namespace

Result<OpenResult> Nfs4Client::open(const Fh& dir, std::string_view name, const OpenOptions& o) {
  OpenArgs a = open_args(o, clientid_, opts_.open_owner);
  a.claim = CLAIM_NULL;
  a.name = std::string(name);
  return do_open(dir, a);
}

Result<OpenResult> Nfs4Client::open_fh(const Fh& fh, const OpenOptions& o) {
  OpenArgs a = open_args(o, clientid_, opts_.open_owner);
  a.create = false;
  a.claim = CLAIM_FH;
  return do_open(fh, a);
}

Result<OpenResult> Nfs4Client::do_open(const Fh& fh, OpenArgs& a) {
  std::unique_lock<std::mutex> lk(v40_mu_, std::defer_lock);
  if (v40()) {
    lk.lock();
    a.seqid = open_seqid_locked(a.owner);
  }
  CompoundBuilder b;
  b.putfh(fh).open(a).getfh();
  OpsReply r = run(b);
  if (!v40()) return open_result(r);

  after_seqid_op_locked(&open_seqids_[a.owner], r.op_status(1));
  auto res = open_result(r);
  if (!res) return res;
  if (res->rflags & OPEN4_RESULT_CONFIRM) {  // RFC 7530 16.18.5
    auto confirmed = open_confirm_locked(res->fh, res->stateid, a.owner);
    if (!confirmed) return confirmed.status();
    res->stateid = *confirmed;
  }
  owners_[res->stateid.other] = a.owner;
  return res;
}

Result<Stateid> Nfs4Client::close(const Fh& fh, const Stateid& s) {
  std::unique_lock<std::mutex> lk(v40_mu_, std::defer_lock);
  uint32_t* seqid = nullptr;
  if (v40()) {
    lk.lock();
    seqid = &open_seqids_[owner_of_locked(s)];
  }
  CompoundBuilder b;
  b.putfh(fh).close(seqid ? *seqid : 0, s);
  OpsReply r = run(b);
  if (seqid) after_seqid_op_locked(seqid, r.op_status(1));
  auto res = result_at<CloseRes>(r, 1);
  if (!res) return res.status();
  if (v40()) owners_.erase(s.other);
  return res->stateid;
}

Result<Stateid> Nfs4Client::open_downgrade(const Fh& fh, const Stateid& s, uint32_t access,
                                           uint32_t deny) {
  std::unique_lock<std::mutex> lk(v40_mu_, std::defer_lock);
  uint32_t* seqid = nullptr;
  if (v40()) {
    lk.lock();
    seqid = &open_seqids_[owner_of_locked(s)];
  }
  CompoundBuilder b;
  b.putfh(fh).open_downgrade(s, seqid ? *seqid : 0, access, deny);
  OpsReply r = run(b);
  if (seqid) after_seqid_op_locked(seqid, r.op_status(1));
  auto res = result_at<OpenDowngradeRes>(r, 1);
  if (!res) return res.status();
  return res->stateid;
}

Result<ReadView> Nfs4Client::read_view(const Fh& fh, const Stateid& s, uint64_t offset,
                                       uint32_t count, OpsReply* r) {
  CompoundBuilder b;
  b.putfh(fh).read(s, offset, count);
  *r = run(b);
  auto res = result_at<ReadView>(*r, 1);
  if (res && res->data.size() > count) return Status::error(EBADMSG);
  return res;
}

Result<ReadResult> Nfs4Client::read(const Fh& fh, const Stateid& s, uint64_t offset,
                                    uint32_t count) {
  OpsReply r;
  auto res = read_view(fh, s, offset, count, &r);
  if (!res) return res.status();
  ReadResult out{std::vector<uint8_t>(res->data.begin(), res->data.end()), res->eof};
  recycle(r);
  return out;
}

Result<ReadIntoResult> Nfs4Client::read_into(const Fh& fh, const Stateid& s, uint64_t offset,
                                             std::span<uint8_t> buf) {
  uint32_t count = static_cast<uint32_t>(std::min<size_t>(buf.size(), UINT32_MAX));
  OpsReply r;
  auto res = read_view(fh, s, offset, count, &r);
  if (!res) return res.status();
  if (!res->data.empty()) std::memcpy(buf.data(), res->data.data(), res->data.size());
  ReadIntoResult out{static_cast<uint32_t>(res->data.size()), res->eof};
  recycle(r);
  return out;
}

Status Nfs4Client::read_in_place(const Fh& fh, const Stateid& s, uint64_t offset, uint32_t count,
                                 ReadBuffer* out) {
  // The previous record back first, so the reader can receive this reply
  // into it.
  if (RpcClientConnection* cn = conn(0); cn && out->record_.capacity() != 0) {
    cn->recycle(std::move(out->record_));
  }
  *out = ReadBuffer{};
  OpsReply r;
  auto res = read_view(fh, s, offset, count, &r);
  if (!res) return res.status();
  out->data_ = res->data;
  out->eof_ = res->eof;
  out->record_ = r.release_buffer();  // moving keeps data_ pointing into it
  return Status::ok();
}

Result<WriteResult> Nfs4Client::write(const Fh& fh, const Stateid& s, uint64_t offset,
                                      std::span<const uint8_t> data, uint32_t stable) {
  CompoundBuilder b;
  b.putfh(fh).write_borrowed(s, offset, stable, data);  // sent from data, not copied
  auto res = result_at<WriteRes>(run(b), 1);
  if (!res) return res.status();
  if (res->count > data.size()) return Status::error(EBADMSG);
  return WriteResult{res->count, res->committed, res->verf};
}

Result<Verifier> Nfs4Client::commit(const Fh& fh, uint64_t offset, uint32_t count) {
  CompoundBuilder b;
  b.putfh(fh).commit(offset, count);
  auto res = result_at<CommitRes>(run(b), 1);
  if (!res) return res.status();
  return res->verf;
}

Result<Fh> Nfs4Client::mkdir(const Fh& dir, std::string_view name, uint32_t mode) {
  SetAttrs attrs;
  attrs.mode = mode;
  CompoundBuilder b;
  b.putfh(dir).create_dir(name, attrs).getfh();
  auto fh = result_at<GetfhRes>(run(b), 2);
  if (!fh) return fh.status();
  return std::move(fh->fh);
}

Result<Fh> Nfs4Client::symlink(const Fh& dir, std::string_view name, std::string_view target) {
  SetAttrs attrs;
  attrs.mode = 0777;
  CompoundBuilder b;
  b.putfh(dir).create_symlink(name, target, attrs).getfh();
  auto fh = result_at<GetfhRes>(run(b), 2);
  if (!fh) return fh.status();
  return std::move(fh->fh);
}

Status Nfs4Client::remove(const Fh& dir, std::string_view name) {
  CompoundBuilder b;
  b.putfh(dir).remove(name);
  return status_of(run(b));
}

Status Nfs4Client::rename(const Fh& src_dir, std::string_view oldname, const Fh& dst_dir,
                          std::string_view newname) {
  CompoundBuilder b;
  b.putfh(src_dir).savefh().putfh(dst_dir).rename(oldname, newname);
  return status_of(run(b));
}

Status Nfs4Client::link(const Fh& file, const Fh& dir, std::string_view newname) {
  CompoundBuilder b;
  b.putfh(file).savefh().putfh(dir).link(newname);
  return status_of(run(b));
}

Result<std::string> Nfs4Client::readlink(const Fh& fh) {
  CompoundBuilder b;
  b.putfh(fh).readlink();
  auto res = result_at<ReadlinkRes>(run(b), 1);
  if (!res) return res.status();
  return std::move(res->link);
}

namespace {
// The pages of a listing as one vector, each entry moved once (a DirEntry
// is large: growing one vector page by page moved entries several times).
std::vector<DirEntry> join_pages(std::vector<std::vector<DirEntry>>& pages) {
  if (pages.size() == 1) return std::move(pages[0]);
  size_t total = 0;
  for (const auto& p : pages) total += p.size();
  std::vector<DirEntry> all;
  all.reserve(total);
  for (auto& p : pages) {
    all.insert(all.end(), std::make_move_iterator(p.begin()), std::make_move_iterator(p.end()));
  }
  return all;
}
}  // namespace

Result<std::vector<DirEntry>> Nfs4Client::readdir(const Fh& dir, const Bitmap4& attrs) {
  std::vector<std::vector<DirEntry>> pages;
  uint64_t cookie = 0;
  Verifier verf{};
  uint32_t maxcount = kReaddirMaxcount;
  if (fore_attrs_.maxresponsesize > 1024) {
    maxcount = std::min(maxcount, fore_attrs_.maxresponsesize - 512);
  }
  for (size_t round = 0; round < kReaddirMaxRounds; round++) {
    CompoundBuilder b;
    b.putfh(dir).readdir(cookie, verf, maxcount, maxcount, attrs);
    auto res = result_at<ReaddirRes>(run(b), 1);
    if (!res) return res.status();
    // A page with no entries that is not the last would loop forever.
    if (res->entries.empty() && !res->eof) return Status::error(EBADMSG);
    if (!res->entries.empty()) cookie = res->entries.back().cookie;
    verf = res->cookieverf;
    pages.push_back(std::move(res->entries));
    if (res->eof) return join_pages(pages);
  }
  return Status::error(EBADMSG);
}

Status Nfs4Client::lock(const Fh& fh, LockOwnerState& lo, uint32_t locktype, uint64_t offset,
                        uint64_t length, LockDenied* denied) {
  std::unique_lock<std::mutex> lk(v40_mu_, std::defer_lock);
  if (v40()) lk.lock();
  LockerArgs l;
  uint32_t* open_seqid = nullptr;
  if (lo.lock_stateid) {
    l.new_lock_owner = false;
    l.lock_stateid = *lo.lock_stateid;
  } else {
    l.new_lock_owner = true;
    l.open_stateid = lo.open_stateid;
    l.clientid = clientid_;
    l.owner = lo.owner;
    if (v40()) {
      open_seqid = &open_seqids_[owner_of_locked(lo.open_stateid)];
      l.open_seqid = *open_seqid;
    }
  }
  l.lock_seqid = v40() ? lo.seqid : 0;
  CompoundBuilder b;
  b.putfh(fh).lock(locktype, false, offset, length, l);
  OpsReply r = run(b);
  if (v40()) {
    if (open_seqid) after_seqid_op_locked(open_seqid, r.op_status(1));
    after_seqid_op_locked(&lo.seqid, r.op_status(1));
  }
  std::optional<uint32_t> st = r.op_status(1);
  if (!st) return r.status();
  auto res = r.body<LockRes>(1);
  if (!res) return res.status();
  if (*st == NFS4_OK) {
    lo.lock_stateid = res->stateid;
    return Status::ok();
  }
  if (denied && res->denied) *denied = *res->denied;
  return Status::error(*st);
}

Status Nfs4Client::lockt(const Fh& fh, std::string_view owner, uint32_t locktype, uint64_t offset,
                         uint64_t length, LockDenied* denied) {
  CompoundBuilder b;
  b.putfh(fh).lockt(locktype, offset, length, clientid_, owner);
  OpsReply r = run(b);
  std::optional<uint32_t> st = r.op_status(1);
  if (!st) return r.status();
  auto res = r.body<LocktRes>(1);
  if (!res) return res.status();
  if (denied && res->denied) *denied = *res->denied;
  return *st == NFS4_OK ? Status::ok() : Status::error(*st);
}

Status Nfs4Client::locku(const Fh& fh, LockOwnerState& lo, uint32_t locktype, uint64_t offset,
                         uint64_t length) {
  if (!lo.lock_stateid) return Status::error(EINVAL);
  std::unique_lock<std::mutex> lk(v40_mu_, std::defer_lock);
  if (v40()) lk.lock();
  CompoundBuilder b;
  b.putfh(fh).locku(locktype, v40() ? lo.seqid : 0, *lo.lock_stateid, offset, length);
  OpsReply r = run(b);
  if (v40()) after_seqid_op_locked(&lo.seqid, r.op_status(1));
  auto res = result_at<LockuRes>(r, 1);
  if (!res) return res.status();
  lo.lock_stateid = res->stateid;
  return Status::ok();
}

Result<std::vector<uint32_t>> Nfs4Client::test_stateid(std::span<const Stateid> stateids) {
  CompoundBuilder b;
  b.test_stateid(stateids);
  auto res = result_at<TestStateidRes>(run(b), 0);
  if (!res) return res.status();
  if (res->status_codes.size() != stateids.size()) return Status::error(EBADMSG);
  return std::move(res->status_codes);
}

Status Nfs4Client::free_stateid(const Stateid& s) {
  CompoundBuilder b;
  b.free_stateid(s);
  return status_of(run(b));
}

}  // namespace pnfsgw::client
