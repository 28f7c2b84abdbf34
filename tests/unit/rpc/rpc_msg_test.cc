// RPC message headers (RFC 5531 9): parse_call, parse_reply, the encoders.
#include <gtest/gtest.h>

#include "gateway/rpc/rpc.h"

namespace pnfsgw::rpc {
namespace {

// A CALL header built field by field, so tests can break any one field.
struct CallSpec {
  uint32_t xid = 42;
  uint32_t mtype = CALL;
  uint32_t rpcvers = 2;
  uint32_t prog = 100003;
  uint32_t vers = 4;
  uint32_t proc = 1;
  uint32_t cred_flavor = AUTH_NONE;
  std::vector<uint8_t> cred_body;
  uint32_t verf_flavor = AUTH_NONE;
  std::vector<uint8_t> verf_body;
  std::vector<uint8_t> args;

  std::vector<uint8_t> encode() const {
    xdr::XdrEncoder enc;
    enc.u32(xid);
    enc.u32(mtype);
    enc.u32(rpcvers);
    enc.u32(prog);
    enc.u32(vers);
    enc.u32(proc);
    enc.u32(cred_flavor);
    enc.var_opaque(cred_body);
    enc.u32(verf_flavor);
    enc.var_opaque(verf_body);
    enc.fixed_opaque(args.data(), args.size());
    return enc.take();
  }
};

std::vector<uint8_t> authsys_body(uint32_t stamp, std::string_view machine, uint32_t uid,
                                  uint32_t gid, std::vector<uint32_t> gids) {
  xdr::XdrEncoder enc;
  enc.u32(stamp);
  enc.string(machine);
  enc.u32(uid);
  enc.u32(gid);
  enc.u32(static_cast<uint32_t>(gids.size()));
  for (uint32_t g : gids) enc.u32(g);
  return enc.take();
}

ParseResult parse(const std::vector<uint8_t>& msg, CallHeader* hdr,
                  xdr::XdrDecoder* out_dec = nullptr) {
  xdr::XdrDecoder dec(msg);
  ParseResult r = parse_call(dec, hdr);
  if (out_dec) *out_dec = dec;
  return r;
}

TEST(ParseCall, AuthNoneCallLeavesTheDecoderAtTheArguments) {
  CallSpec spec;
  spec.args = {0, 0, 0, 9};
  CallHeader hdr;
  xdr::XdrDecoder dec;
  std::vector<uint8_t> msg = spec.encode();  // dec views it
  ASSERT_EQ(parse(msg, &hdr, &dec), ParseResult::kCall);
  EXPECT_EQ(hdr.xid, 42u);
  EXPECT_EQ(hdr.prog, 100003u);
  EXPECT_EQ(hdr.vers, 4u);
  EXPECT_EQ(hdr.proc, 1u);
  EXPECT_EQ(hdr.flavor, AUTH_NONE);
  EXPECT_EQ(dec.u32(), 9u);
  EXPECT_EQ(dec.remaining(), 0u);
}

TEST(ParseCall, AuthSysCredentialIsDecoded) {
  CallSpec spec;
  spec.cred_flavor = AUTH_SYS;
  spec.cred_body = authsys_body(7, "client.example", 1000, 100, {4, 24, 27});
  CallHeader hdr;
  ASSERT_EQ(parse(spec.encode(), &hdr), ParseResult::kCall);
  EXPECT_EQ(hdr.flavor, AUTH_SYS);
  EXPECT_EQ(hdr.sys.stamp, 7u);
  EXPECT_EQ(hdr.sys.machine, "client.example");
  EXPECT_EQ(hdr.sys.uid, 1000u);
  EXPECT_EQ(hdr.sys.gid, 100u);
  EXPECT_EQ(hdr.sys.gids, (std::vector<uint32_t>{4, 24, 27}));
}

TEST(ParseCall, AuthSysAtItsLimitsIsAccepted) {
  CallSpec spec;
  spec.cred_flavor = AUTH_SYS;
  std::vector<uint32_t> gids(kMaxAuthSysGids, 5);
  spec.cred_body = authsys_body(1, std::string(kMaxMachineName, 'm'), 0, 0, gids);
  CallHeader hdr;
  ASSERT_EQ(parse(spec.encode(), &hdr), ParseResult::kCall);
  EXPECT_EQ(hdr.sys.gids.size(), kMaxAuthSysGids);
  EXPECT_EQ(hdr.sys.machine.size(), kMaxMachineName);
}

TEST(ParseCall, WrongRpcVersionIsRpcMismatchWithTheXid) {
  CallSpec spec;
  spec.rpcvers = 3;
  CallHeader hdr;
  EXPECT_EQ(parse(spec.encode(), &hdr), ParseResult::kRpcMismatch);
  EXPECT_EQ(hdr.xid, 42u);
}

TEST(ParseCall, ReplyMessageIsReportedWithItsXid) {
  xdr::XdrEncoder enc;
  encode_accepted_reply(enc, 77, SUCCESS);
  CallHeader hdr;
  EXPECT_EQ(parse(enc.buffer(), &hdr), ParseResult::kReply);
  EXPECT_EQ(hdr.xid, 77u);
}

TEST(ParseCall, UnknownMessageTypeIsGarbage) {
  CallSpec spec;
  spec.mtype = 2;
  CallHeader hdr;
  EXPECT_EQ(parse(spec.encode(), &hdr), ParseResult::kGarbage);
}

TEST(ParseCall, UnknownCredentialFlavorIsBadCred) {
  for (uint32_t flavor : {2u, 3u, 6u, 390003u, 0xFFFFFFFFu}) {
    CallSpec spec;
    spec.cred_flavor = flavor;
    spec.cred_body = {1, 2, 3, 4};
    CallHeader hdr;
    EXPECT_EQ(parse(spec.encode(), &hdr), ParseResult::kAuthBadCred) << flavor;
    EXPECT_EQ(hdr.xid, 42u);
  }
}

TEST(ParseCall, AuthNoneWithANonEmptyBodyIsBadCred) {
  CallSpec spec;
  spec.cred_body = {1, 2, 3, 4};
  CallHeader hdr;
  EXPECT_EQ(parse(spec.encode(), &hdr), ParseResult::kAuthBadCred);
}

TEST(ParseCall, CredentialBodyOver400BytesIsBadCred) {
  CallSpec spec;
  spec.cred_flavor = AUTH_SYS;
  spec.cred_body.assign(kMaxAuthBody + 4, 0);
  CallHeader hdr;
  EXPECT_EQ(parse(spec.encode(), &hdr), ParseResult::kAuthBadCred);
}

TEST(ParseCall, HostileCredentialLengthIsBadCredNotAnAllocation) {
  xdr::XdrEncoder enc;
  for (uint32_t v : {42u, 0u, 2u, 1u, 1u, 1u, 1u, 0xFFFFFFFFu}) enc.u32(v);
  CallHeader hdr;
  EXPECT_EQ(parse(enc.buffer(), &hdr), ParseResult::kAuthBadCred);
}

TEST(ParseCall, VerifierBodyOver400BytesIsBadCred) {
  CallSpec spec;
  spec.verf_body.assign(kMaxAuthBody + 4, 0);
  CallHeader hdr;
  EXPECT_EQ(parse(spec.encode(), &hdr), ParseResult::kAuthBadCred);
}

TEST(ParseCall, MalformedAuthSysBodiesAreBadCred) {
  std::vector<std::vector<uint8_t>> bodies;
  auto good = authsys_body(1, "host", 1, 1, {1, 2});
  bodies.push_back(std::vector<uint8_t>(good.begin(), good.end() - 4));  // truncated gids
  auto trailing = good;
  trailing.insert(trailing.end(), {0, 0, 0, 0});
  bodies.push_back(trailing);  // trailing bytes
  bodies.push_back(authsys_body(1, std::string(kMaxMachineName + 1, 'm'), 1, 1, {}));
  bodies.push_back(authsys_body(1, "h", 1, 1, std::vector<uint32_t>(kMaxAuthSysGids + 1, 1)));
  bodies.push_back({});  // empty
  {
    xdr::XdrEncoder enc;  // machine name length beyond the body
    enc.u32(1);
    enc.u32(200);
    enc.u32(0);
    bodies.push_back(enc.take());
  }
  for (size_t i = 0; i < bodies.size(); ++i) {
    CallSpec spec;
    spec.cred_flavor = AUTH_SYS;
    spec.cred_body = bodies[i];
    CallHeader hdr;
    EXPECT_EQ(parse(spec.encode(), &hdr), ParseResult::kAuthBadCred) << "body " << i;
  }
}

TEST(ParseCall, HeaderTruncatedAtEveryLengthIsGarbage) {
  CallSpec spec;
  spec.cred_flavor = AUTH_SYS;
  spec.cred_body = authsys_body(3, "m", 1, 2, {3});
  spec.verf_body = {9, 9, 9, 9};
  auto full = spec.encode();
  for (size_t cut = 0; cut < full.size(); ++cut) {
    std::vector<uint8_t> part(full.begin(), full.begin() + cut);
    CallHeader hdr;
    EXPECT_EQ(parse(part, &hdr), ParseResult::kGarbage) << "cut at " << cut;
  }
  CallHeader hdr;
  EXPECT_EQ(parse(full, &hdr), ParseResult::kCall);
}

TEST(ParseCall, EncodeCallRoundTripsWithAndWithoutCredential) {
  AuthSysParams cred{9, "me", 501, 20, {12, 61}};
  const AuthSysParams* creds[] = {nullptr, &cred};
  for (const AuthSysParams* c : creds) {
    xdr::XdrEncoder enc;
    encode_call(enc, 5, 0x40000000, 1, 4, c);
    CallHeader hdr;
    xdr::XdrDecoder dec;
    ASSERT_EQ(parse(enc.buffer(), &hdr, &dec), ParseResult::kCall);
    EXPECT_EQ(dec.remaining(), 0u);
    EXPECT_EQ(hdr.xid, 5u);
    EXPECT_EQ(hdr.prog, 0x40000000u);
    EXPECT_EQ(hdr.vers, 1u);
    EXPECT_EQ(hdr.proc, 4u);
    if (c) {
      EXPECT_EQ(hdr.flavor, AUTH_SYS);
      EXPECT_EQ(hdr.sys.stamp, 9u);
      EXPECT_EQ(hdr.sys.machine, "me");
      EXPECT_EQ(hdr.sys.uid, 501u);
      EXPECT_EQ(hdr.sys.gid, 20u);
      EXPECT_EQ(hdr.sys.gids, cred.gids);
    } else {
      EXPECT_EQ(hdr.flavor, AUTH_NONE);
    }
  }
}

TEST(ParseReply, AcceptedSuccessLeavesTheDecoderAtTheResults) {
  xdr::XdrEncoder enc;
  encode_accepted_reply(enc, 11, SUCCESS);
  enc.u32(0xABCD);
  xdr::XdrDecoder dec(enc.buffer());
  ReplyHeader rh;
  ASSERT_TRUE(parse_reply(dec, &rh));
  EXPECT_EQ(rh.xid, 11u);
  EXPECT_EQ(rh.stat, MSG_ACCEPTED);
  EXPECT_EQ(rh.accept, SUCCESS);
  EXPECT_EQ(dec.u32(), 0xABCDu);
}

TEST(ParseReply, EveryReplyHeaderEncoderRoundTrips) {
  {
    xdr::XdrEncoder enc;
    encode_prog_mismatch(enc, 1, 3, 4);
    xdr::XdrDecoder dec(enc.buffer());
    ReplyHeader rh;
    ASSERT_TRUE(parse_reply(dec, &rh));
    EXPECT_EQ(rh.accept, PROG_MISMATCH);
    EXPECT_EQ(rh.low, 3u);
    EXPECT_EQ(rh.high, 4u);
    EXPECT_EQ(dec.remaining(), 0u);
  }
  {
    xdr::XdrEncoder enc;
    encode_rpc_mismatch(enc, 2);
    xdr::XdrDecoder dec(enc.buffer());
    ReplyHeader rh;
    ASSERT_TRUE(parse_reply(dec, &rh));
    EXPECT_EQ(rh.xid, 2u);
    EXPECT_EQ(rh.stat, MSG_DENIED);
    EXPECT_EQ(rh.reject, RPC_MISMATCH);
    EXPECT_EQ(rh.low, 2u);
    EXPECT_EQ(rh.high, 2u);
  }
  {
    xdr::XdrEncoder enc;
    encode_auth_error(enc, 3, AUTH_BADCRED);
    xdr::XdrDecoder dec(enc.buffer());
    ReplyHeader rh;
    ASSERT_TRUE(parse_reply(dec, &rh));
    EXPECT_EQ(rh.stat, MSG_DENIED);
    EXPECT_EQ(rh.reject, AUTH_ERROR);
    EXPECT_EQ(rh.auth, AUTH_BADCRED);
  }
  for (AcceptStat s : {PROG_UNAVAIL, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR}) {
    xdr::XdrEncoder enc;
    encode_accepted_reply(enc, 4, s);
    xdr::XdrDecoder dec(enc.buffer());
    ReplyHeader rh;
    ASSERT_TRUE(parse_reply(dec, &rh));
    EXPECT_EQ(rh.accept, s);
  }
}

TEST(ParseReply, TruncatedOrMalformedRepliesAreRejected) {
  xdr::XdrEncoder enc;
  encode_prog_mismatch(enc, 1, 3, 4);
  const auto& full = enc.buffer();
  for (size_t cut = 0; cut < full.size(); ++cut) {
    xdr::XdrDecoder dec(full.data(), cut);
    ReplyHeader rh;
    EXPECT_FALSE(parse_reply(dec, &rh)) << cut;
  }
  xdr::XdrEncoder call;
  encode_call(call, 1, 2, 3, 4, nullptr);
  xdr::XdrDecoder dec(call.buffer());
  ReplyHeader rh;
  EXPECT_FALSE(parse_reply(dec, &rh));
}

}  // namespace
}  // namespace pnfsgw::rpc
