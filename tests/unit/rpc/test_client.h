// A blocking RPC-over-TCP client for tests: plain sockets, encode_call and
// RecordFramer. One thread at a time.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "gateway/rpc/record.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::rpc::testing {

using namespace std::chrono_literals;

struct TestReply {
  ReplyHeader hdr;
  std::vector<uint8_t> body;  // the bytes after the reply header
};

class TestRpcClient {
 public:
  // Connects to 127.0.0.1:port; connected() says whether it worked.
  explicit TestRpcClient(uint16_t port);
  ~TestRpcClient();
  TestRpcClient(const TestRpcClient&) = delete;
  TestRpcClient& operator=(const TestRpcClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_raw(std::span<const uint8_t> bytes);
  // Sends body as one single-fragment record.
  bool send_record(std::span<const uint8_t> body);
  // Sends a CALL; returns its xid.
  uint32_t send_call(uint32_t prog, uint32_t vers, uint32_t proc, std::span<const uint8_t> args,
                     const AuthSysParams* cred = nullptr);
  // The next complete record; nullopt on EOF, error or timeout.
  std::optional<std::vector<uint8_t>> read_record(std::chrono::milliseconds timeout = 5s);
  // The next record, parsed as a reply; nullopt if none or not a reply.
  std::optional<TestReply> read_reply(std::chrono::milliseconds timeout = 5s);
  std::optional<TestReply> call(uint32_t prog, uint32_t vers, uint32_t proc,
                                std::span<const uint8_t> args = {},
                                const AuthSysParams* cred = nullptr);
  // True if the server closes the connection within timeout. Records that
  // arrive first are discarded.
  bool wait_for_close(std::chrono::milliseconds timeout = 5s);
  void shutdown_write();
  void close();

 private:
  int fd_ = -1;
  uint32_t next_xid_ = 1000;
  RecordFramer framer_{64u << 20};
  std::vector<uint8_t> pending_;  // received, not yet fed to the framer
  size_t pending_pos_ = 0;
};

// Encodes a (SUCCESS) accepted reply with body, record mark included.
std::vector<uint8_t> make_reply_record(uint32_t xid, AcceptStat stat,
                                       std::span<const uint8_t> body = {});
std::vector<uint8_t> bytes_of(std::string_view s);

}  // namespace pnfsgw::rpc::testing
