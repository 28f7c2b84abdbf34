// The RPC-over-TCP server: accepts connections, frames records, answers
// NULL and mismatches, runs calls on its event loops (quick ones) or a
// worker pool (those that may wait), and
// carries backchannel calls (server -> client) on the same connections.
// Asio stays inside server.cc (pimpl).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "gateway/rpc/rpc.h"

namespace pnfsgw::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 2049;  // 0 = ephemeral
  // io_threads event loops, one thread each, read the sockets and run the
  // calls a program says run inline (RpcProgram::runs_inline); a pool of
  // worker_threads threads runs the others.
  size_t io_threads = 1;
  size_t worker_threads = 4;
  // After an event loop has answered a call itself (or read part of a
  // record), it polls its sockets for this long before it sleeps (0 = sleep
  // at once). Saves a wake-up per call for a client with one call
  // outstanding; costs CPU only right after such a reply.
  std::chrono::microseconds busy_poll{0};
  size_t max_record = 4u << 20;  // bytes; larger records close the connection
  size_t max_connections = 1024;
  size_t max_inflight_per_connection = 256;  // calls being handled at once
};

class RpcServer {
 public:
  RpcServer(ServerOptions opts, std::vector<rpc::RpcProgram*> programs);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Binds and listens; after success port() is the bound port.
  Status start();
  uint16_t port() const;
  // Runs the I/O threads until stop() or SIGINT/SIGTERM; returns after a
  // clean shutdown (connections closed, in-flight calls finished).
  void run(bool handle_signals);
  // Safe from any thread, including a signal-driven path.
  void stop();
  // Connections currently open (for tests and monitoring). Safe from any thread.
  size_t connection_count() const;
  // Calls begun on an event loop that their handler sent on to the worker
  // pool (Disposition::kDefer). Safe from any thread.
  uint64_t deferred_calls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pnfsgw::net
