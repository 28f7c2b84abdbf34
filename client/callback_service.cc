#include "client/callback_service.h"

#include <cstring>

#include "common/log.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
constexpr uint32_t kCbVersion = 1;  // RFC 5662: NFS_CB version 1
constexpr size_t kMaxTag = NFS4_OPAQUE_LIMIT;
constexpr size_t kMaxCbOps = 64;
constexpr size_t kMaxReferringLists = 64;
constexpr size_t kMaxReferringCalls = 1024;
// How long a CB_COMPOUND waits for a CREATE_SESSION reply to be processed.
constexpr std::chrono::milliseconds kSessionWait{2000};

bool valid_cb_op(uint32_t op) { return op >= OP_CB_GETATTR && op <= OP_CB_OFFLOAD; }

void append(XdrEncoder& out, std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  size_t at = out.append_space(bytes.size());
  std::memcpy(out.data() + at, bytes.data(), bytes.size());
}
}  // namespace

bool CbLayoutRecall::decode(XdrDecoder& dec) {
  layout_type = dec.u32();
  iomode = dec.u32();
  changed = dec.boolean();
  recall_type = dec.u32();
  switch (recall_type) {
    case 1:
      fh.decode(dec);
      offset = dec.u64();
      length = dec.u64();
      stateid.decode(dec);
      break;
    case 2:
      fsid_major = dec.u64();
      fsid_minor = dec.u64();
      break;
    case 3:
      break;
    default:
      dec.fail();
  }
  return dec.ok();
}

bool CbRecall::decode(XdrDecoder& dec) {
  stateid.decode(dec);
  truncate = dec.boolean();
  fh.decode(dec);
  return dec.ok();
}

void CallbackService::set_session(const SessionId& sid, uint32_t nslots, uint32_t minorversion) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    session_ = sid;
    minorversion_ = minorversion;
    session_pending_ = false;
    slots_.assign(std::max<uint32_t>(nslots, 1), CbSlot{});
  }
  cv_.notify_all();
}

void CallbackService::expect_session() {
  std::lock_guard<std::mutex> lk(mu_);
  session_pending_ = true;
}

void CallbackService::clear_session() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    session_.reset();
    session_pending_ = false;
    slots_.clear();
  }
  cv_.notify_all();
}

void CallbackService::set_op_hook(CbOpHook hook) {
  std::lock_guard<std::mutex> lk(mu_);
  hook_ = std::move(hook);
}

CbCounters CallbackService::counters() const {
  std::lock_guard<std::mutex> lk(mu_);
  return counters_;
}

bool CallbackService::wait_for(const std::function<bool(const CbCounters&)>& pred,
                               std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return pred(counters_); });
}

void CallbackService::count(const std::function<void(CbCounters&)>& f) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    f(counters_);
  }
  cv_.notify_all();
}

rpc::AcceptStat CallbackService::handle_call(const rpc::CallHeader& hdr, XdrDecoder& args,
                                             XdrEncoder& results) {
  if (hdr.prog != cb_program_) return rpc::PROG_UNAVAIL;
  if (hdr.vers != kCbVersion) return rpc::PROG_MISMATCH;
  switch (hdr.proc) {
    case kCbProcNull:
      count([](CbCounters& c) { c.cb_null++; });
      return rpc::SUCCESS;
    case kCbProcCompound:
      return handle_compound(args, results);
    default:
      return rpc::PROC_UNAVAIL;
  }
}

rpc::AcceptStat CallbackService::handle_compound(XdrDecoder& args, XdrEncoder& out) {
  std::string tag(args.string(kMaxTag));
  uint32_t minorversion = args.u32();
  args.u32();  // callback_ident (NFSv4.0 only)
  uint32_t nops = args.array_len(kMaxCbOps);
  if (!args.ok()) return rpc::GARBAGE_ARGS;
  count([](CbCounters& c) { c.cb_compound++; });

  XdrEncoder body;
  uint32_t nres = 0;
  uint32_t status = NFS4_OK;
  std::optional<uint32_t> seq_slot;  // set once CB_SEQUENCE started a new request
  uint32_t session_minor;
  {
    std::lock_guard<std::mutex> lk(mu_);
    session_minor = session_ ? minorversion_ : minorversion;
  }
  // A session's callbacks carry its own minor version (a 4.2 session's: 2).
  if (minorversion > 2 || minorversion != session_minor) {
    status = NFS4ERR_MINOR_VERS_MISMATCH;  // RFC 8881 20.1: empty result array
    nops = 0;
  }
  for (uint32_t i = 0; i < nops && status == NFS4_OK; i++) {
    uint32_t op = args.u32();
    if (!args.ok()) {
      status = NFS4ERR_BADXDR;
      break;
    }
    count([op](CbCounters& c) { c.ops[op]++; });
    size_t op_at = body.size();
    body.u32(op);
    size_t status_at = body.reserve_u32();
    size_t res_start = body.size();
    if (op == OP_CB_SEQUENCE) {
      count([](CbCounters& c) { c.cb_sequence++; });
      if (i != 0) {
        status = NFS4ERR_SEQUENCE_POS;
      } else {
        uint32_t slot = 0;
        std::optional<std::vector<uint8_t>> replay;
        status = do_cb_sequence(args, body, &slot, &replay);
        if (replay) {
          count([](CbCounters& c) { c.cb_sequence_replays++; });
          append(out, *replay);
          return rpc::SUCCESS;
        }
        if (status == NFS4_OK) {
          seq_slot = slot;
          count([](CbCounters& c) { c.cb_sequence_ok++; });
        }
      }
    } else if (!valid_cb_op(op)) {
      body.patch_u32(op_at, OP_CB_ILLEGAL);
      status = NFS4ERR_OP_ILLEGAL;
    } else if (i == 0 && minorversion >= 1) {
      status = NFS4ERR_OP_NOT_IN_SESSION;  // RFC 8881 20.9.3
    } else {
      status = do_other_op(op, args, body);
    }
    body.patch_u32(status_at, status);
    if (status != NFS4_OK) body.truncate(res_start);
    nres++;
  }

  XdrEncoder reply;
  reply.u32(status);
  reply.string(tag);
  reply.u32(nres);
  append(reply, body.buffer());
  if (seq_slot) {
    // Cache every reply: they are small, and a retry must get the same bytes.
    std::lock_guard<std::mutex> lk(mu_);
    if (*seq_slot < slots_.size()) slots_[*seq_slot].cached = reply.buffer();
  }
  append(out, reply.buffer());
  return rpc::SUCCESS;
}

uint32_t CallbackService::do_cb_sequence(XdrDecoder& args, XdrEncoder& res, uint32_t* slot_out,
                                         std::optional<std::vector<uint8_t>>* replay) {
  SessionId sid{};
  auto sid_bytes = args.fixed_opaque(sid.size());
  if (args.ok()) std::memcpy(sid.data(), sid_bytes.data(), sid.size());
  uint32_t seqid = args.u32();
  uint32_t slotid = args.u32();
  uint32_t highest = args.u32();
  args.boolean();  // csa_cachethis: we cache every reply anyway
  uint32_t nlists = args.array_len(kMaxReferringLists, NFS4_SESSIONID_SIZE + 4);
  for (uint32_t i = 0; i < nlists && args.ok(); i++) {
    args.fixed_opaque(NFS4_SESSIONID_SIZE);
    uint32_t ncalls = args.array_len(kMaxReferringCalls, 8);
    for (uint32_t j = 0; j < ncalls && args.ok(); j++) {
      args.u32();
      args.u32();
    }
  }
  if (!args.ok()) return NFS4ERR_BADXDR;
  (void)highest;

  std::unique_lock<std::mutex> lk(mu_);
  if ((!session_ || *session_ != sid) && session_pending_) {
    cv_.wait_for(lk, kSessionWait, [&] { return !session_pending_; });
  }
  if (!session_ || *session_ != sid) return NFS4ERR_BADSESSION;
  if (slotid >= slots_.size()) return NFS4ERR_BADSLOT;
  CbSlot& slot = slots_[slotid];
  if (seqid == slot.seqid) {
    if (!slot.cached) return NFS4ERR_RETRY_UNCACHED_REP;
    *replay = slot.cached;
    return NFS4_OK;
  }
  if (seqid != slot.seqid + 1) return NFS4ERR_SEQ_MISORDERED;
  slot.seqid = seqid;
  slot.cached.reset();
  *slot_out = slotid;
  uint32_t max_slot = static_cast<uint32_t>(slots_.size() - 1);
  lk.unlock();

  res.fixed_opaque(sid.data(), sid.size());
  res.u32(seqid);
  res.u32(slotid);
  res.u32(max_slot);  // csr_highest_slotid
  res.u32(max_slot);  // csr_target_highest_slotid
  return NFS4_OK;
}

uint32_t CallbackService::do_other_op(uint32_t op, XdrDecoder& args, XdrEncoder& res) {
  CbOpHook hook;
  {
    std::lock_guard<std::mutex> lk(mu_);
    hook = hook_;
  }
  if (!hook) return NFS4ERR_NOTSUPP;
  uint32_t status = hook(op, args, res);
  if (status == NFS4_OK && !args.ok()) return NFS4ERR_BADXDR;
  return status;
}

}  // namespace pnfsgw::client
