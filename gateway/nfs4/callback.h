// The NFSv4.1 backchannel (RFC 8881 2.10.3.1, 20): CB_COMPOUND calls sent
// on the connection the client bound for callbacks, each led by CB_SEQUENCE
// on the session's single backchannel slot. Later issues use
// send_cb_compound for CB_LAYOUTRECALL and CB_RECALL.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "gateway/nfs4/nfs4_const.h"
#include "gateway/xdr/xdr.h"

namespace pnfsgw::nfs4 {

struct Nfs4Core;
class Session;

// Result of one CB_COMPOUND: the COMPOUND status, and the reply bytes after
// the CB_SEQUENCE result (the caller's ops' results) to decode.
using CbDone = std::function<void(nfsstat4 status, std::vector<uint8_t> rest)>;

// Sends CB_COMPOUND { CB_SEQUENCE, ops... } where ops_xdr holds nops encoded
// nfs_cb_argop4s. done runs exactly once, on some thread. When the slot is
// busy or there is no backchannel, done gets NFS4ERR_DELAY or
// NFS4ERR_CB_PATH_DOWN without anything sent.
void send_cb_compound(const std::shared_ptr<Session>& s, uint32_t nops,
                      std::vector<uint8_t> ops_xdr, CbDone done);

// After a backchannel is bound: CB_NULL, then a CB_COMPOUND with only
// CB_SEQUENCE, once per binding. A failure marks the session's callback
// path down, which SEQUENCE reports with SEQ4_STATUS_CB_PATH_DOWN_SESSION.
void maybe_probe_backchannel(Nfs4Core& core, const std::shared_ptr<Session>& s);

}  // namespace pnfsgw::nfs4
