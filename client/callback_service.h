// The client's side of the NFSv4.1 backchannel (RFC 8881 20): answers
// CB_NULL and CB_COMPOUND calls the server sends on a connection bound to
// the session's back channel.
//
// CB_SEQUENCE is handled here with a backchannel slot table (RFC 8881 20.9.3,
// 2.10.6.1): a new request (seqid = last + 1) runs, a retry (seqid = last)
// gets the cached reply byte for byte, anything else NFS4ERR_SEQ_MISORDERED.
// Every other valid CB op goes to an optional hook (tests and, later, the
// pNFS client see CB_LAYOUTRECALL there); without a hook it is answered
// NFS4ERR_NOTSUPP. Op numbers outside the CB op range get OP_CB_ILLEGAL
// with NFS4ERR_OP_ILLEGAL (RFC 8881 20.13).
//
// A pure codec over buffers apart from its counters and waits; safe from
// any thread. The hook runs on the connection's callback thread and may make
// fore-channel calls (e.g. LAYOUTRETURN) before answering.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "client/nfs4_types.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::client {

// Called with a CB op's number and a decoder at its arguments. Returns an
// nfsstat4; on NFS4_OK it must have decoded the arguments exactly and may
// append the op's result body (after the status) to `res`.
using CbOpHook = std::function<uint32_t(uint32_t op, XdrDecoder& args, XdrEncoder& res)>;

struct CbCounters {
  uint64_t cb_null = 0;
  uint64_t cb_compound = 0;
  uint64_t cb_sequence = 0;          // CB_SEQUENCE ops seen, any outcome
  uint64_t cb_sequence_ok = 0;       // answered NFS4_OK (new requests)
  uint64_t cb_sequence_replays = 0;  // answered from the reply cache
  std::map<uint32_t, uint64_t> ops;  // every CB op number seen (incl. CB_SEQUENCE)
};

// CB_LAYOUTRECALL4args (RFC 8881 20.3), decoded for hooks.
struct CbLayoutRecall {
  uint32_t layout_type = 0;
  uint32_t iomode = 0;
  bool changed = false;
  uint32_t recall_type = 0;  // 1 FILE, 2 FSID, 3 ALL
  Fh fh;                     // FILE
  uint64_t offset = 0, length = 0;
  Stateid stateid;
  uint64_t fsid_major = 0, fsid_minor = 0;  // FSID
  bool decode(XdrDecoder& dec);
};

// CB_RECALL4args (RFC 8881 20.2).
struct CbRecall {
  Stateid stateid;
  bool truncate = false;
  Fh fh;
  bool decode(XdrDecoder& dec);
};

class CallbackService {
 public:
  explicit CallbackService(uint32_t cb_program) : cb_program_(cb_program) {}

  // The RpcClientConnection CallHandler: CB_NULL and CB_COMPOUND for our
  // program and version 1; PROG_UNAVAIL / PROG_MISMATCH / PROC_UNAVAIL else.
  rpc::AcceptStat handle_call(const rpc::CallHeader& hdr, XdrDecoder& args, XdrEncoder& results);
  // CB_COMPOUND4args in, CB_COMPOUND4res out. GARBAGE_ARGS if the header
  // does not decode.
  rpc::AcceptStat handle_compound(XdrDecoder& args, XdrEncoder& out);

  // The session whose back channel this serves, and its slot count (the
  // back channel ca_maxrequests). Resets the slot table.
  // minorversion: the session's; CB_COMPOUNDs of another minor version are
  // refused (NFS4ERR_MINOR_VERS_MISMATCH), as the Linux client drops them.
  void set_session(const SessionId& sid, uint32_t nslots, uint32_t minorversion = 1);
  // A CREATE_SESSION is in flight: a CB_COMPOUND for an unknown session
  // waits briefly for set_session() instead of failing (the server may call
  // back before the caller has seen the CREATE_SESSION reply).
  void expect_session();
  void clear_session();

  void set_op_hook(CbOpHook hook);
  CbCounters counters() const;
  // Waits until pred(counters) holds; false on timeout.
  bool wait_for(const std::function<bool(const CbCounters&)>& pred,
                std::chrono::milliseconds timeout) const;

 private:
  struct CbSlot {
    uint32_t seqid = 0;                          // last seqid processed
    std::optional<std::vector<uint8_t>> cached;  // CB_COMPOUND4res of it
  };
  // Runs CB_SEQUENCE; on a replay sets *replay to the cached reply.
  uint32_t do_cb_sequence(XdrDecoder& args, XdrEncoder& res, uint32_t* slot_out,
                          std::optional<std::vector<uint8_t>>* replay);
  uint32_t do_other_op(uint32_t op, XdrDecoder& args, XdrEncoder& res);
  void count(const std::function<void(CbCounters&)>& f);

  const uint32_t cb_program_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::optional<SessionId> session_;  // GUARDED_BY(mu_)
  uint32_t minorversion_ = 1;         // GUARDED_BY(mu_): the session's
  bool session_pending_ = false;      // GUARDED_BY(mu_)
  std::vector<CbSlot> slots_;         // GUARDED_BY(mu_)
  CbOpHook hook_;                     // GUARDED_BY(mu_)
  CbCounters counters_;               // GUARDED_BY(mu_)
};

}  // namespace pnfsgw::client
