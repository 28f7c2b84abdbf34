// RPC message headers (RFC 5531 9): CALL parsing, REPLY parsing, and the
// header writers. Pure codecs over XdrDecoder/XdrEncoder.
#include "gateway/rpc/rpc.h"

namespace pnfsgw::rpc {
namespace {

// RFC 5531 appendix A: authsys_parms, decoded from the credential body with
// its own decoder so a lying inner length cannot run past the body.
bool decode_authsys(std::span<const uint8_t> body, AuthSysParams* out) {
  xdr::XdrDecoder d(body);
  out->stamp = d.u32();
  out->machine = std::string(d.string(kMaxMachineName));
  out->uid = d.u32();
  out->gid = d.u32();
  uint32_t n = d.array_len(kMaxAuthSysGids);
  out->gids.clear();
  for (uint32_t i = 0; i < n && d.ok(); ++i) out->gids.push_back(d.u32());
  // The body is exactly one authsys_parms; trailing bytes mean a lying client.
  return d.ok() && d.remaining() == 0;
}

void encode_verf_none(xdr::XdrEncoder& enc) {
  enc.u32(AUTH_NONE);
  enc.u32(0);
}

void encode_reply_start(xdr::XdrEncoder& enc, uint32_t xid, ReplyStat stat) {
  enc.u32(xid);
  enc.u32(REPLY);
  enc.u32(stat);
}

}  // namespace

ParseResult parse_call(xdr::XdrDecoder& dec, CallHeader* hdr) {
  *hdr = CallHeader{};
  hdr->xid = dec.u32();
  uint32_t mtype = dec.u32();
  if (!dec.ok()) return ParseResult::kGarbage;
  if (mtype == REPLY) return ParseResult::kReply;
  if (mtype != CALL) return ParseResult::kGarbage;

  uint32_t rpcvers = dec.u32();
  if (!dec.ok()) return ParseResult::kGarbage;
  // RFC 5531 9: the rest of a call from another RPC version cannot be trusted
  // to have our layout; the xid is enough to answer RPC_MISMATCH.
  if (rpcvers != kRpcVersion) return ParseResult::kRpcMismatch;
  hdr->prog = dec.u32();
  hdr->vers = dec.u32();
  hdr->proc = dec.u32();

  // RFC 5531 8.2: opaque_auth bodies are at most 400 bytes. An oversized
  // length is a bad credential (answerable), a short buffer is garbage.
  uint32_t cred_flavor = dec.u32();
  uint32_t cred_len = dec.u32();
  if (!dec.ok()) return ParseResult::kGarbage;
  if (cred_len > kMaxAuthBody) return ParseResult::kAuthBadCred;
  std::span<const uint8_t> cred_body = dec.fixed_opaque(cred_len);
  dec.u32();  // verifier flavor: AUTH_NONE and AUTH_SYS calls carry no usable verifier
  uint32_t verf_len = dec.u32();
  if (!dec.ok()) return ParseResult::kGarbage;
  if (verf_len > kMaxAuthBody) return ParseResult::kAuthBadCred;
  dec.fixed_opaque(verf_len);
  if (!dec.ok()) return ParseResult::kGarbage;

  hdr->flavor = cred_flavor;
  switch (cred_flavor) {
    case AUTH_NONE:
      // RFC 5531 10.1: the AUTH_NONE body is empty (Linux nfsd rejects others).
      return cred_body.empty() ? ParseResult::kCall : ParseResult::kAuthBadCred;
    case AUTH_SYS:
      return decode_authsys(cred_body, &hdr->sys) ? ParseResult::kCall : ParseResult::kAuthBadCred;
    default:
      return ParseResult::kAuthBadCred;
  }
}

bool parse_reply(xdr::XdrDecoder& dec, ReplyHeader* out) {
  *out = ReplyHeader{};
  out->xid = dec.u32();
  uint32_t mtype = dec.u32();
  uint32_t stat = dec.u32();
  if (!dec.ok() || mtype != REPLY) return false;
  if (stat == MSG_ACCEPTED) {
    out->stat = MSG_ACCEPTED;
    dec.u32();  // verifier flavor
    dec.var_opaque(kMaxAuthBody);
    uint32_t accept = dec.u32();
    if (!dec.ok() || accept > SYSTEM_ERR) return false;
    out->accept = static_cast<AcceptStat>(accept);
    if (accept == PROG_MISMATCH) {
      out->low = dec.u32();
      out->high = dec.u32();
    }
    return dec.ok();
  }
  if (stat != MSG_DENIED) return false;
  out->stat = MSG_DENIED;
  uint32_t reject = dec.u32();
  if (!dec.ok()) return false;
  if (reject == RPC_MISMATCH) {
    out->reject = RPC_MISMATCH;
    out->low = dec.u32();
    out->high = dec.u32();
    return dec.ok();
  }
  if (reject != AUTH_ERROR) return false;
  out->reject = AUTH_ERROR;
  out->auth = static_cast<AuthStat>(dec.u32());
  return dec.ok();
}

void encode_accepted_reply(xdr::XdrEncoder& enc, uint32_t xid, AcceptStat stat) {
  encode_reply_start(enc, xid, MSG_ACCEPTED);
  encode_verf_none(enc);
  enc.u32(stat);
}

void encode_prog_mismatch(xdr::XdrEncoder& enc, uint32_t xid, uint32_t low, uint32_t high) {
  encode_accepted_reply(enc, xid, PROG_MISMATCH);
  enc.u32(low);
  enc.u32(high);
}

void encode_rpc_mismatch(xdr::XdrEncoder& enc, uint32_t xid) {
  encode_reply_start(enc, xid, MSG_DENIED);
  enc.u32(RPC_MISMATCH);
  enc.u32(kRpcVersion);  // low
  enc.u32(kRpcVersion);  // high
}

void encode_auth_error(xdr::XdrEncoder& enc, uint32_t xid, AuthStat why) {
  encode_reply_start(enc, xid, MSG_DENIED);
  enc.u32(AUTH_ERROR);
  enc.u32(why);
}

void encode_call(xdr::XdrEncoder& enc, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                 const AuthSysParams* cred) {
  enc.u32(xid);
  enc.u32(CALL);
  enc.u32(kRpcVersion);
  enc.u32(prog);
  enc.u32(vers);
  enc.u32(proc);
  if (cred == nullptr) {
    encode_verf_none(enc);  // an AUTH_NONE credential has the same shape
  } else {
    enc.u32(AUTH_SYS);
    size_t len_at = enc.reserve_u32();
    size_t body_start = enc.size();
    enc.u32(cred->stamp);
    enc.string(cred->machine);
    enc.u32(cred->uid);
    enc.u32(cred->gid);
    enc.u32(static_cast<uint32_t>(cred->gids.size()));
    for (uint32_t g : cred->gids) enc.u32(g);
    enc.patch_u32(len_at, static_cast<uint32_t>(enc.size() - body_start));
  }
  encode_verf_none(enc);
}

}  // namespace pnfsgw::rpc
