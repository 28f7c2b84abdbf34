// pnfsgw: the command line. `pnfsgw serve` runs the NFS server.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "gateway/admin/admin_client.h"
#include "gateway/admin/admin_server.h"
#include "gateway/export_open.h"
#include "gateway/mount/server.h"
#include "gateway/net/server.h"
#include "gateway/nfs3/server.h"
#include "gateway/nfs4/filehandle.h"
#include "gateway/nfs4/server.h"
#include "gateway/portmap/pmap_client.h"

namespace {

constexpr char kUsage[] =
    "usage: pnfsgw serve [options]\n"
    "       pnfsgw admin [--data DIR | --socket PATH] COMMAND ...  (see pnfsgw admin --help)\n"
    "  --listen HOST:PORT   address to serve on (default 127.0.0.1:2049; port 0 = any)\n"
    "       pnfsgw fsck DIR [--device PATH]   check a store's metadata (exit 0 clean, 1 problems)\n"
    "  --data DIR           data directory, created if missing (default ./pnfsgw-data)\n"
    "  --backend store|hostdir\n"
    "                       store (default): the extent store, DIR/device + DIR/meta;\n"
    "                       hostdir: the host directory DIR/export\n"
    "  --device PATH        the store's device: a file (created sparse) or block device\n"
    "                       (default DIR/device)\n"
    "  --device-size SIZE   size of a new device file, e.g. 64G (default 16G)\n"
    "  --dax                map the device (libpmem loads/stores) instead of pread/pwrite\n"
    "  --write-cache SIZE   store: writes that need new blocks are kept in memory, up to\n"
    "                       SIZE in all, until COMMIT or a few seconds pass (default 64M;\n"
    "                       0 = every write goes to the device and is committed at once)\n"
    "  --lease SECONDS      NFSv4 lease time (default 90)\n"
    "  --grace SECONDS      grace period after a restart (default: the lease time)\n"
    "  --threads N          threads that run calls that may wait (default 16; calls that\n"
    "                       change the store wait for its group commit, so more threads,\n"
    "                       bigger batches); quick calls run on one event loop per core\n"
    "  --busy-poll USEC     after answering a call, an event loop polls for the next one\n"
    "                       this long before it sleeps (default 50; 0 = sleep at once):\n"
    "                       lower latency for clients waiting on each call, for CPU\n"
    "  --admin-socket PATH  the admin socket (default DIR/admin.sock)\n"
    "  --rpcbind            register NFS v3/v4 and MOUNT v1/v3 with the local rpcbind\n"
    "  --verbose            debug logging\n";

int usage_error(const char* fmt, const char* arg) {
  fprintf(stderr, "pnfsgw: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s", kUsage);
  return 2;
}

bool parse_uint(const char* s, unsigned long max, unsigned long* out) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || v > max || s[0] == '-') return false;
  *out = v;
  return true;
}

bool make_dir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  return false;
}

int serve(int argc, char** argv) {
  std::string listen = "127.0.0.1:2049";
  std::string data = "pnfsgw-data";
  unsigned long lease = 90, threads = 16, busy_poll_us = 50;
  long grace = -1;
  bool rpcbind = false;
  std::string admin_socket;
  pnfsgw::ExportConfig ec;
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    unsigned long v;
    if (a == "--listen") {
      const char* s = value();
      if (!s) return usage_error("%s needs a value", a.c_str());
      listen = s;
    } else if (a == "--data") {
      const char* s = value();
      if (!s || !*s) return usage_error("%s needs a value", a.c_str());
      data = s;
    } else if (a == "--lease") {
      if (!parse_uint(value(), 3600, &v) || v < 5) return usage_error("%s: 5..3600 seconds", a.c_str());
      lease = v;
    } else if (a == "--grace") {
      if (!parse_uint(value(), 3600, &v)) return usage_error("%s: 0..3600 seconds", a.c_str());
      grace = static_cast<long>(v);
    } else if (a == "--threads") {
      if (!parse_uint(value(), 256, &v) || v < 1) return usage_error("%s: 1..256", a.c_str());
      threads = v;
    } else if (a == "--backend") {
      const char* s = value();
      if (!s || (strcmp(s, "store") != 0 && strcmp(s, "hostdir") != 0))
        return usage_error("%s wants store or hostdir", a.c_str());
      ec.backend = s;
    } else if (a == "--device") {
      const char* s = value();
      if (!s || !*s) return usage_error("%s needs a value", a.c_str());
      ec.device = s;
    } else if (a == "--device-size") {
      if (!pnfsgw::parse_size(value(), &ec.device_size) || ec.device_size < (1u << 20))
        return usage_error("%s wants a size of at least 1M, e.g. 16G", a.c_str());
    } else if (a == "--write-cache") {
      if (!pnfsgw::parse_size(value(), &ec.write_cache) || ec.write_cache > (64ull << 30))
        return usage_error("%s wants a size up to 64G, e.g. 64M (0 = off)", a.c_str());
    } else if (a == "--busy-poll") {
      if (!parse_uint(value(), 10000, &v)) return usage_error("%s: 0..10000 microseconds", a.c_str());
      busy_poll_us = v;
    } else if (a == "--dax") {
      ec.dax = true;
    } else if (a == "--admin-socket") {
      const char* s = value();
      if (!s || !*s) return usage_error("%s needs a value", a.c_str());
      admin_socket = s;
    } else if (a == "--rpcbind") {
      rpcbind = true;
    } else if (a == "--verbose" || a == "-v") {
      pnfsgw::set_log_level(pnfsgw::LogLevel::kDebug);
    } else if (a == "--help" || a == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else {
      return usage_error("unknown option '%s'", a.c_str());
    }
  }
  auto colon = listen.rfind(':');
  unsigned long port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !parse_uint(listen.c_str() + colon + 1, 65535, &port))
    return usage_error("--listen wants HOST:PORT, got '%s'", listen.c_str());
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);

  std::string state_dir = data + "/state";
  if (!make_dir(data) || !make_dir(state_dir)) {
    fprintf(stderr, "pnfsgw: cannot create data directory %s: %s\n", data.c_str(), strerror(errno));
    return 1;
  }
  auto fhc = pnfsgw::nfs4::FhCodec::load_or_create(data + "/fh.key");
  if (!fhc) {
    fprintf(stderr, "pnfsgw: filehandle key %s/fh.key: %s\n", data.c_str(),
            fhc.err() == EINVAL ? "wrong size (expected 32 bytes)" : strerror(fhc.err()));
    return 1;
  }
  ec.data_dir = data;
  std::string why;
  auto exported = pnfsgw::open_export(ec, &why);
  if (!exported) {
    fprintf(stderr, "pnfsgw: %s\n", why.c_str());
    return 1;
  }
  pnfsgw::backend::Filesystem* fs = exported.value()->fs();
  pnfsgw::nfs4::Nfs4Options o;
  o.lease = std::chrono::seconds(lease);
  o.grace = std::chrono::seconds(grace >= 0 ? static_cast<unsigned long>(grace) : lease);
  o.state_dir = state_dir;
  // One write verifier for every NFS version, new at each start, so
  // UNSTABLE writes and COMMIT agree across versions (RFC 1813 3.3.7).
  std::random_device rd;
  for (auto& b : o.write_verifier) b = static_cast<uint8_t>(rd());
  pnfsgw::nfs4::Nfs4Server nfs(o, fs, fhc->get());
  pnfsgw::nfs3::Nfs3Options o3;
  o3.export_id = o.export_id;
  o3.max_read = o.max_read;
  o3.max_write = o.max_write;
  o3.write_verifier = o.write_verifier;
  pnfsgw::nfs3::Nfs3Server nfs3(o3, fs, fhc->get());
  pnfsgw::mount::MountServer mountd({o.export_id}, fs, fhc->get());

  // The admin socket (gateway/admin) serves the same Filesystem.
  pnfsgw::admin::AdminServer admin(fs,
                                   {admin_socket.empty() ? data + "/admin.sock" : admin_socket});
  if (auto st = admin.start(); !st) {
    fprintf(stderr, "pnfsgw: cannot create admin socket %s: %s\n", admin.socket_path().c_str(),
            strerror(st.err()));
    return 1;
  }

  pnfsgw::net::ServerOptions so;
  so.host = host;
  so.port = static_cast<uint16_t>(port);
  so.worker_threads = threads;
  // One event loop per core: quick calls run there without a hand-off.
  so.io_threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
  so.max_record = o.max_write + 64 * 1024;
  so.busy_poll = std::chrono::microseconds(busy_poll_us);
  pnfsgw::net::RpcServer server(so, {&nfs, &nfs3, &mountd});
  if (auto st = server.start(); !st) {
    fprintf(stderr, "pnfsgw: cannot listen on %s: %s\n", listen.c_str(), strerror(st.err()));
    return 1;
  }
  pnfsgw::portmap::PmapRegistration pmap;
  if (rpcbind) {
    // Not fatal: clients that name the ports (port=, mountport=) work without it.
    auto st =
        pmap.register_all({{100003, 3}, {100003, 4}, {100005, 1}, {100005, 3}}, server.port());
    if (!st) PLOG_WARN("rpcbind registration failed: %s", strerror(st.err()));
  }
  printf("pnfsgw: listening on %s:%u\n", host.c_str(), server.port());
  printf("pnfsgw: exporting %s as /\n", exported.value()->describe().c_str());
  fflush(stdout);
  server.run(/*handle_signals=*/true);
  pmap.unregister_all();
  admin.stop();
  PLOG_INFO("shut down cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "serve") return serve(argc - 2, argv + 2);
  if (cmd == "fsck") {
    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--device") == 0))
      return usage_error("fsck wants DIR [--device PATH]%s", "");
    return pnfsgw::run_fsck(argv[2], argc == 5 ? argv[4] : "");
  }
  if (cmd == "admin") return pnfsgw::admin::admin_main(argc - 2, argv + 2);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    fputs(kUsage, stdout);
    return 0;
  }
  return usage_error("unknown command '%s'", cmd.c_str());
}
