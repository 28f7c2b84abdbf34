// Internal to the client library: a compound's reply indexed by builder
// position, whether or not the session put a SEQUENCE in front.
#pragma once
#include <cerrno>
#include <optional>

#include "client/compound.h"

namespace pnfsgw::client {

class OpsReply {
 public:
  OpsReply(Result<CompoundReply> r, size_t base) : r_(std::move(r)), base_(base) {}
  OpsReply() : r_(Status::error(ENOTCONN)), base_(0) {}  // no reply yet

  // Builder op i decoded as R if it ran and succeeded (see CompoundReply::get).
  template <class R>
  Result<R> get(size_t i) const {
    if (!r_) return r_.status();
    return r_->get<R>(base_ + i);
  }
  // Builder op i decoded as R whatever its status.
  template <class R>
  Result<R> body(size_t i) const {
    if (!r_) return r_.status();
    return r_->body<R>(base_ + i);
  }
  // The status of builder op i if the server ran it.
  std::optional<uint32_t> op_status(size_t i) const {
    if (!r_ || base_ + i >= r_->size()) return std::nullopt;
    return r_->at(base_ + i).status;
  }
  // OK if the transport and every op succeeded.
  Status status() const { return r_ ? r_->ok_status() : r_.status(); }
  // The record buffer, for RpcClientConnection::recycle(); no results after.
  std::vector<uint8_t> release_buffer() {
    return r_ ? r_->release_buffer() : std::vector<uint8_t>{};
  }

 private:
  Result<CompoundReply> r_;
  size_t base_;
};

}  // namespace pnfsgw::client
