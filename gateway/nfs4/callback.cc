#include "gateway/nfs4/callback.h"

#include "common/log.h"
#include "gateway/nfs4/compound.h"

namespace pnfsgw::nfs4 {
namespace {

constexpr auto kCbTimeout = std::chrono::seconds(15);

void mark_down(const std::shared_ptr<Session>& s, const char* why) {
  std::lock_guard<std::mutex> lk(s->mu);
  if (!s->cb_down) PLOG_WARN("backchannel of client %016llx is down: %s",
                             static_cast<unsigned long long>(s->clientid), why);
  s->cb_down = true;
}

}  // namespace

void send_cb_compound(const std::shared_ptr<Session>& s, uint32_t nops,
                      std::vector<uint8_t> ops_xdr, CbDone done) {
  std::shared_ptr<rpc::RpcConnection> conn;
  uint32_t seqid = 0;
  nfsstat4 refused = NFS4_OK;
  {
    std::lock_guard<std::mutex> lk(s->mu);
    conn = s->back_conn.lock();
    if (!conn || !conn->is_open() || s->destroyed) {
      refused = NFS4ERR_CB_PATH_DOWN;
    } else if (s->cb_busy) {
      refused = NFS4ERR_DELAY;
    } else {
      s->cb_busy = true;
      seqid = ++s->cb_seqid;
    }
  }
  // done() may take s->mu itself (mark_down does): never call it under the
  // lock. (It did, and a probe racing a connection's close deadlocked the
  // session and then the server's shutdown.)
  if (refused != NFS4_OK) return done(refused, {});
  xdr::XdrEncoder enc;
  enc.string("");        // tag
  enc.u32(s->minorversion);
  enc.u32(0);            // callback_ident (unused in 4.1)
  enc.u32(nops + 1);
  enc.u32(OP_CB_SEQUENCE);
  enc.fixed_opaque(s->id.data(), s->id.size());
  enc.u32(seqid);
  enc.u32(0);            // slot
  enc.u32(0);            // highest slot
  enc.boolean(false);    // cachethis
  enc.u32(0);            // referring_call_lists
  enc.fixed_opaque(ops_xdr.data(), ops_xdr.size());
  const rpc::AuthSysParams* cred = s->cb_auth_sys ? &s->cb_cred : nullptr;
  std::weak_ptr<Session> weak = s;
  conn->send_call(
      s->cb_program, 1, kCbProcCompound, cred, enc.take(),
      std::chrono::duration_cast<std::chrono::milliseconds>(kCbTimeout),
      [weak, done](Result<std::vector<uint8_t>> r) {
        auto s = weak.lock();
        if (!s) return done(NFS4ERR_BADSESSION, {});
        {
          std::lock_guard<std::mutex> lk(s->mu);
          s->cb_busy = false;
        }
        if (!r) return done(NFS4ERR_CB_PATH_DOWN, {});
        xdr::XdrDecoder dec(r->data(), r->size());
        uint32_t status = dec.u32();
        dec.string(NFS4_OPAQUE_LIMIT);  // tag
        uint32_t nres = dec.u32();
        if (!dec.ok()) return done(NFS4ERR_BADXDR, {});
        if (nres >= 1) {
          uint32_t op = dec.u32();
          uint32_t seq_status = dec.u32();
          if (op != OP_CB_SEQUENCE) return done(NFS4ERR_BADXDR, {});
          if (seq_status != NFS4_OK) return done(static_cast<nfsstat4>(seq_status), {});
          dec.fixed_opaque(NFS4_SESSIONID_SIZE);
          dec.u32();  // seqid
          dec.u32();  // slot
          dec.u32();  // highest
          dec.u32();  // target highest
        }
        if (!dec.ok()) return done(NFS4ERR_BADXDR, {});
        done(static_cast<nfsstat4>(status),
             std::vector<uint8_t>(dec.position(), dec.position() + dec.remaining()));
      });
}

void maybe_probe_backchannel(Nfs4Core&, const std::shared_ptr<Session>& s) {
  std::shared_ptr<rpc::RpcConnection> conn;
  {
    std::lock_guard<std::mutex> lk(s->mu);
    if (s->cb_probed) return;
    conn = s->back_conn.lock();
    if (!conn || !conn->is_open()) return;
    s->cb_probed = true;
  }
  std::weak_ptr<Session> weak = s;
  const rpc::AuthSysParams* cred = s->cb_auth_sys ? &s->cb_cred : nullptr;
  conn->send_call(s->cb_program, 1, kCbProcNull, cred, {},
                  std::chrono::milliseconds(15000), [weak](Result<std::vector<uint8_t>> r) {
                    auto s = weak.lock();
                    if (!s) return;
                    if (!r) return mark_down(s, "CB_NULL failed");
                    send_cb_compound(s, 0, {}, [weak](nfsstat4 st, std::vector<uint8_t>) {
                      auto s = weak.lock();
                      if (!s) return;
                      if (st != NFS4_OK) return mark_down(s, "CB_SEQUENCE failed");
                      std::lock_guard<std::mutex> lk(s->mu);
                      s->cb_down = false;
                      PLOG_DEBUG("backchannel of client %016llx is up",
                                 static_cast<unsigned long long>(s->clientid));
                    });
                  });
}

}  // namespace pnfsgw::nfs4
