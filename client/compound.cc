#include "client/compound.h"

#include <algorithm>
#include <cstring>

#include "common/log.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
constexpr size_t kMaxTag = NFS4_OPAQUE_LIMIT;
constexpr size_t kMaxResults = 4096;

void encode_lock_owner(XdrEncoder& enc, uint64_t clientid, std::string_view owner) {
  enc.u64(clientid);
  enc.string(owner);
}
}  // namespace

XdrEncoder& CompoundBuilder::op(uint32_t opnum) {
  ops_.push_back(opnum);
  args_.u32(opnum);
  return args_;
}

CompoundBuilder& CompoundBuilder::putfh(const Fh& fh) {
  fh.encode(op(OP_PUTFH));
  return *this;
}

CompoundBuilder& CompoundBuilder::putrootfh() {
  op(OP_PUTROOTFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::getfh() {
  op(OP_GETFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::savefh() {
  op(OP_SAVEFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::restorefh() {
  op(OP_RESTOREFH);
  return *this;
}

CompoundBuilder& CompoundBuilder::lookup(std::string_view name) {
  op(OP_LOOKUP).string(name);
  return *this;
}

CompoundBuilder& CompoundBuilder::lookupp() {
  op(OP_LOOKUPP);
  return *this;
}

CompoundBuilder& CompoundBuilder::getattr(const Bitmap4& mask) {
  mask.encode(op(OP_GETATTR));
  return *this;
}

CompoundBuilder& CompoundBuilder::setattr(const Stateid& s, const SetAttrs& attrs) {
  XdrEncoder& e = op(OP_SETATTR);
  s.encode(e);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::access(uint32_t mask) {
  op(OP_ACCESS).u32(mask);
  return *this;
}

CompoundBuilder& CompoundBuilder::verify(const SetAttrs& attrs) {
  attrs.encode(op(OP_VERIFY));
  return *this;
}

CompoundBuilder& CompoundBuilder::create_dir(std::string_view name, const SetAttrs& attrs) {
  return create_special(NF4DIR, name, attrs);
}

CompoundBuilder& CompoundBuilder::create_symlink(std::string_view name, std::string_view target,
                                                 const SetAttrs& attrs) {
  XdrEncoder& e = op(OP_CREATE);
  e.u32(NF4LNK);
  e.string(target);
  e.string(name);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::create_special(uint32_t type, std::string_view name,
                                                 const SetAttrs& attrs, uint32_t major,
                                                 uint32_t minor) {
  XdrEncoder& e = op(OP_CREATE);
  e.u32(type);
  if (type == NF4BLK || type == NF4CHR) {
    e.u32(major);
    e.u32(minor);
  }
  e.string(name);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::remove(std::string_view name) {
  op(OP_REMOVE).string(name);
  return *this;
}

CompoundBuilder& CompoundBuilder::rename(std::string_view oldname, std::string_view newname) {
  XdrEncoder& e = op(OP_RENAME);
  e.string(oldname);
  e.string(newname);
  return *this;
}

CompoundBuilder& CompoundBuilder::link(std::string_view newname) {
  op(OP_LINK).string(newname);
  return *this;
}

CompoundBuilder& CompoundBuilder::readlink() {
  op(OP_READLINK);
  return *this;
}

CompoundBuilder& CompoundBuilder::readdir(uint64_t cookie, const Verifier& cookieverf,
                                          uint32_t dircount, uint32_t maxcount,
                                          const Bitmap4& attrs) {
  XdrEncoder& e = op(OP_READDIR);
  e.u64(cookie);
  e.fixed_opaque(cookieverf.data(), cookieverf.size());
  e.u32(dircount);
  e.u32(maxcount);
  attrs.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::open(const OpenArgs& a) {
  XdrEncoder& e = op(OP_OPEN);
  e.u32(a.seqid);
  e.u32(a.share_access);
  e.u32(a.share_deny);
  encode_lock_owner(e, a.clientid, a.owner);  // open_owner4 has the same shape
  e.u32(a.create ? OPEN4_CREATE : OPEN4_NOCREATE);
  if (a.create) {
    e.u32(a.createmode);
    switch (a.createmode) {
      case UNCHECKED4:
      case GUARDED4:
        a.attrs.encode(e);
        break;
      case EXCLUSIVE4:
        e.fixed_opaque(a.verf.data(), a.verf.size());
        break;
      case EXCLUSIVE4_1:
        e.fixed_opaque(a.verf.data(), a.verf.size());
        a.attrs.encode(e);
        break;
    }
  }
  e.u32(a.claim);
  if (a.claim == CLAIM_NULL) e.string(a.name);
  return *this;
}

CompoundBuilder& CompoundBuilder::close(uint32_t seqid, const Stateid& s) {
  XdrEncoder& e = op(OP_CLOSE);
  e.u32(seqid);
  s.encode(e);
  return *this;
}

CompoundBuilder& CompoundBuilder::open_downgrade(const Stateid& s, uint32_t seqid, uint32_t access,
                                                 uint32_t deny) {
  XdrEncoder& e = op(OP_OPEN_DOWNGRADE);
  s.encode(e);
  e.u32(seqid);
  e.u32(access);
  e.u32(deny);
  return *this;
}

CompoundBuilder& CompoundBuilder::read(const Stateid& s, uint64_t offset, uint32_t count) {
  XdrEncoder& e = op(OP_READ);
  s.encode(e);
  e.u64(offset);
  e.u32(count);
  return *this;
}

CompoundBuilder& CompoundBuilder::write(const Stateid& s, uint64_t offset, uint32_t stable,
                                        std::span<const uint8_t> data) {
  XdrEncoder& e = op(OP_WRITE);
  s.encode(e);
  e.u64(offset);
  e.u32(stable);
  e.var_opaque(data);
  return *this;
}

CompoundBuilder& CompoundBuilder::write_borrowed(const Stateid& s, uint64_t offset, uint32_t stable,
                                                 std::span<const uint8_t> data) {
  if (data.empty() || !borrowed_.empty()) return write(s, offset, stable, data);
  XdrEncoder& e = op(OP_WRITE);
  s.encode(e);
  e.u64(offset);
  e.u32(stable);
  e.u32(static_cast<uint32_t>(data.size()));  // opaque data<>: its length here, bytes at send
  borrowed_ = data;
  borrowed_at_ = e.size();
  return *this;
}

CompoundBuilder& CompoundBuilder::commit(uint64_t offset, uint32_t count) {
  XdrEncoder& e = op(OP_COMMIT);
  e.u64(offset);
  e.u32(count);
  return *this;
}

CompoundBuilder& CompoundBuilder::lock(uint32_t locktype, bool reclaim, uint64_t offset,
                                       uint64_t length, const LockerArgs& l) {
  XdrEncoder& e = op(OP_LOCK);
  e.u32(locktype);
  e.boolean(reclaim);
  e.u64(offset);
  e.u64(length);
  e.boolean(l.new_lock_owner);
  if (l.new_lock_owner) {
    e.u32(l.open_seqid);
    l.open_stateid.encode(e);
    e.u32(l.lock_seqid);
    encode_lock_owner(e, l.clientid, l.owner);
  } else {
    l.lock_stateid.encode(e);
    e.u32(l.lock_seqid);
  }
  return *this;
}

CompoundBuilder& CompoundBuilder::lockt(uint32_t locktype, uint64_t offset, uint64_t length,
                                        uint64_t clientid, std::string_view owner) {
  XdrEncoder& e = op(OP_LOCKT);
  e.u32(locktype);
  e.u64(offset);
  e.u64(length);
  encode_lock_owner(e, clientid, owner);
  return *this;
}

CompoundBuilder& CompoundBuilder::locku(uint32_t locktype, uint32_t seqid, const Stateid& s,
                                        uint64_t offset, uint64_t length) {
  XdrEncoder& e = op(OP_LOCKU);
  e.u32(locktype);
  e.u32(seqid);
  s.encode(e);
  e.u64(offset);
  e.u64(length);
  return *this;
}

CompoundBuilder& CompoundBuilder::raw_op(uint32_t opnum, std::span<const uint8_t> args) {
  XdrEncoder& e = op(opnum);
  if (!args.empty()) {
    size_t at = e.append_space(args.size());
    std::memcpy(e.data() + at, args.data(), args.size());
  }
  return *this;
}

size_t CompoundParts::size() const {
  size_t n = 0;
  for (std::span<const uint8_t> p : spans()) n += p.size();
  return n;
}

void CompoundBuilder::encode_parts(uint32_t minorversion, const SequenceArgs* seq,
                                   CompoundParts* out) const {
  static constexpr uint8_t kZeros[4] = {};
  XdrEncoder& h = out->head;
  h.string(tag_);
  h.u32(minorversion);
  h.u32(static_cast<uint32_t>(ops_.size() + (seq ? 1 : 0)));
  if (seq) encode_sequence_op(h, *seq);
  out->count = 0;
  auto add = [out](std::span<const uint8_t> p) {
    if (!p.empty()) out->pieces[out->count++] = p;
  };
  add(std::span<const uint8_t>(h.data(), h.size()));
  std::span<const uint8_t> ops(args_.buffer());
  if (borrowed_.empty()) {
    add(ops);
    return;
  }
  add(ops.first(borrowed_at_));
  add(borrowed_);
  add(std::span<const uint8_t>(kZeros, xdr::pad4(borrowed_.size()) - borrowed_.size()));
  add(ops.subspan(borrowed_at_));
}

std::vector<uint8_t> CompoundBuilder::encode_as(uint32_t minorversion,
                                                const SequenceArgs* seq) const {
  CompoundParts parts;
  encode_parts(minorversion, seq, &parts);
  std::vector<uint8_t> out;
  out.reserve(parts.size());
  for (std::span<const uint8_t> p : parts.spans()) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<uint8_t> CompoundBuilder::encode() const { return encode_as(minorversion_, nullptr); }

std::vector<uint8_t> CompoundBuilder::encode_with_sequence(const SequenceArgs& seq) const {
  return encode_as(minorversion_, &seq);
}

Result<CompoundReply> CompoundReply::parse(std::vector<uint8_t> raw, size_t offset,
                                           std::span<const uint32_t> sent_ops) {
  if (offset > raw.size()) return Result<CompoundReply>::error(EBADMSG);
  CompoundReply r;
  r.offset_ = offset;
  XdrDecoder dec(raw.data() + offset, raw.size() - offset);
  r.status_ = dec.u32();
  r.tag_ = std::string(dec.string(kMaxTag));
  uint32_t n = dec.array_len(kMaxResults, 8);
  r.results_.reserve(std::min<uint32_t>(n, 16));
  for (uint32_t i = 0; i < n && dec.ok(); i++) {
    OpResult res;
    res.op = dec.u32();
    res.status = dec.u32();
    res.body_offset = static_cast<size_t>(dec.position() - raw.data());
    const OpInfo* info = find_op(res.op);
    if (info) {
      info->skip(dec, res.status);
    } else if (i + 1 == n) {
      dec.skip(dec.remaining());  // unknown last op: its body is the rest
    } else {
      PLOG_WARN("client: reply has result for unknown op %u before the last result", res.op);
      dec.fail();
    }
    res.body_size = static_cast<size_t>(dec.position() - raw.data()) - res.body_offset;
    r.results_.push_back(res);
  }
  if (!dec.ok()) return Result<CompoundReply>::error(EBADMSG);

  if (!sent_ops.empty()) {
    if (r.results_.size() > sent_ops.size()) return Result<CompoundReply>::error(EBADMSG);
    for (size_t i = 0; i < r.results_.size(); i++) {
      const OpResult& res = r.results_[i];
      if (res.op != sent_ops[i] && res.op != OP_ILLEGAL) {
        PLOG_WARN("client: result %zu answers op %u, sent %u", i, res.op, sent_ops[i]);
        return Result<CompoundReply>::error(EBADMSG);
      }
      bool last = i + 1 == r.results_.size();
      if (!last && res.status != NFS4_OK) {
        PLOG_WARN("client: op %zu (%s) failed with %u but results go on", i,
                  op_name(res.op).c_str(), res.status);
        return Result<CompoundReply>::error(EBADMSG);
      }
    }
    if (!r.results_.empty() && r.results_.back().status != r.status_) {
      PLOG_WARN("client: compound status %u differs from last op status %u", r.status_,
                r.results_.back().status);
      return Result<CompoundReply>::error(EBADMSG);
    }
    if (r.results_.size() < sent_ops.size() && r.status_ == NFS4_OK) {
      PLOG_WARN("client: compound OK but only %zu of %zu results", r.results_.size(),
                sent_ops.size());
      return Result<CompoundReply>::error(EBADMSG);
    }
  }
  r.raw_ = std::move(raw);
  return r;
}

}  // namespace pnfsgw::client
