// Nfs4Client, NFSv4.0 basics (RFC 7530): client id setup, lease renewal,
// open confirmation and the open-owner / lock-owner seqid rules.
#include "client/nfs4_client.h"
#include "client/ops_reply.h"

namespace pnfsgw::client {
using namespace nfs4;

namespace {
// An unusable callback address (port 0): we run no NFSv4.0 callback
// service, so the server finds the path down and grants no delegations.
constexpr char kNoCallbackNetid[] = "tcp";
constexpr char kNoCallbackAddr[] = "127.0.0.1.0.0";
constexpr uint32_t kCallbackIdent = 1;
}  // namespace

Status Nfs4Client::setclientid() {
  CompoundBuilder b("setclientid", 0);
  b.setclientid(boot_verf_, opts_.owner, opts_.cb_program, kNoCallbackNetid, kNoCallbackAddr,
                kCallbackIdent);
  auto r = send_compound(b);
  if (!r) return r.status();
  auto res = r->get<SetclientidRes>(0);
  if (!res) return res.status();
  CompoundBuilder c("setclientid_confirm", 0);
  c.setclientid_confirm(res->clientid, res->confirm);
  auto rc = send_compound(c);
  if (!rc) return rc.status();
  if (Status st = rc->ok_status(); !st) return st;
  clientid_ = res->clientid;
  return Status::ok();
}

Status Nfs4Client::renew() {
  CompoundBuilder b("renew", 0);
  b.renew(clientid_);
  auto r = send_compound(b);
  return r ? r->ok_status() : r.status();
}

uint32_t Nfs4Client::open_seqid_locked(const std::string& owner) { return open_seqids_[owner]; }

void Nfs4Client::after_seqid_op_locked(uint32_t* seqid, std::optional<uint32_t> status) {
  // The op did not run (or its outcome is unknown): the seqid stays.
  if (status && seqid_advances(*status)) (*seqid)++;
}

std::string Nfs4Client::owner_of_locked(const Stateid& s) const {
  auto it = owners_.find(s.other);
  return it != owners_.end() ? it->second : opts_.open_owner;
}

Result<Stateid> Nfs4Client::open_confirm_locked(const Fh& fh, const Stateid& s,
                                                const std::string& owner) {
  uint32_t& seqid = open_seqids_[owner];
  CompoundBuilder b;
  b.putfh(fh).open_confirm(s, seqid);
  OpsReply r = run(b);
  after_seqid_op_locked(&seqid, r.op_status(1));
  auto res = r.get<OpenConfirmRes>(1);
  if (!res) return res.status();
  return res->stateid;
}

}  // namespace pnfsgw::client
