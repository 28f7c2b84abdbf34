// Registration with a local portmapper (rpcbind, portmap protocol version
// 2, RFC 1833 section 3) so that clients that ask the portmapper find the
// NFS and MOUNT programs on our port. Optional (pnfsgw serve --rpcbind):
// clients that name the ports (port=, mountport=) never need it.
//
// Blocking TCP calls with a timeout; not for the I/O path. A
// PmapRegistration is not thread-safe; use it from the thread that starts
// and stops the server.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace pnfsgw::portmap {

constexpr uint32_t PMAP_PROG = 100000;
constexpr uint32_t PMAP_VERS = 2;
constexpr uint16_t PMAP_PORT = 111;
enum pmap_proc : uint32_t { PMAPPROC_NULL = 0, PMAPPROC_SET = 1, PMAPPROC_UNSET = 2 };
constexpr uint32_t IPPROTO_TCP_NUM = 6;  // mapping.prot

// struct mapping (RFC 1833 3.1).
struct Mapping {
  uint32_t prog = 0;
  uint32_t vers = 0;
  uint32_t prot = IPPROTO_TCP_NUM;
  uint32_t port = 0;
};

// One SET or UNSET call to the portmapper at host:port over TCP; returns
// its boolean answer, or an errno (ECONNREFUSED when none runs, ETIMEDOUT,
// EPROTO for a reply that is not an accepted SUCCESS).
Result<bool> pmap_call(const std::string& host, uint16_t port, pmap_proc proc, const Mapping& m,
                       std::chrono::milliseconds timeout = std::chrono::seconds(3));

// Registers programs on a TCP port and takes the registrations back on
// unregister_all() or destruction.
class PmapRegistration {
 public:
  explicit PmapRegistration(std::string host = "127.0.0.1", uint16_t pmap_port = PMAP_PORT)
      : host_(std::move(host)), pmap_port_(pmap_port) {}
  ~PmapRegistration() { unregister_all(); }
  PmapRegistration(const PmapRegistration&) = delete;
  PmapRegistration& operator=(const PmapRegistration&) = delete;

  // For each (prog, vers): UNSET any stale mapping, then SET it to port.
  // Stops at the first failure (the ones made so far stay registered and
  // are taken back later). EEXIST when the portmapper refused a SET.
  Status register_all(const std::vector<std::pair<uint32_t, uint32_t>>& prog_vers, uint16_t port);
  // UNSETs what register_all() set; errors are logged, not returned.
  void unregister_all();

 private:
  std::string host_;
  uint16_t pmap_port_;
  std::vector<Mapping> registered_;
};

}  // namespace pnfsgw::portmap
