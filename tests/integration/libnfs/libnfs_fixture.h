// Fixture for the libnfs tests: a fresh pnfsgw per test (started from
// PNFSGW_BINARY, or $PNFSGW_BINARY when set) and helpers to reach it through
// libnfs URLs and the libnfs sync API.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "tests/support/host_tools.h"
#include "tests/support/pnfsgw_server.h"

extern "C" {
#include <nfsc/libnfs.h>
}

namespace pnfsgw::libnfs_test {

using test::CommandResult;
using test::PnfsgwServer;
using test::random_bytes;
using test::read_host_file;
using test::run_command;
using test::write_host_file;

// Compares two byte strings without dumping megabytes into the test log.
inline ::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << "; first difference at offset " << i;
}

struct NfsContextDeleter {
  void operator()(nfs_context* nfs) const { nfs_destroy_context(nfs); }
};
using NfsContext = std::unique_ptr<nfs_context, NfsContextDeleter>;

class LibnfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = getenv("PNFSGW_BINARY");
    // These tests check the client's effects on the host files, so they
    // serve a host directory; the store is covered by the client, space,
    // admin and kernel-client tests.
    server_ = std::make_unique<PnfsgwServer>(env && *env ? env : PNFSGW_BINARY,
                                             std::vector<std::string>{"--backend", "hostdir"});
    std::string err;
    ASSERT_TRUE(server_->start(&err)) << err;
  }

  void TearDown() override {
    int rc = server_->stop();
    EXPECT_EQ(rc, 0) << "pnfsgw exit status after SIGTERM; stderr:\n" << server_->log_tail();
  }

  // nfs://127.0.0.1<path>?version=4&nfsport=PORT. libnfs splits export and
  // file at the last '/', and an empty export is rejected, so a file in the
  // root must be written "//name" (see root_file_url).
  std::string url(const std::string& path) const {
    return "nfs://127.0.0.1" + path + "?version=4&nfsport=" + std::to_string(server_->port());
  }
  std::string root_file_url(const std::string& name) const { return url("//" + name); }

  // Host path of an NFS path ("/a/b" -> DATA/export/a/b).
  std::string host(const std::string& nfs_path) const { return server_->export_dir() + nfs_path; }

  // A mounted libnfs context (NFSv4, the server's port). libnfs 4.0.0 has no
  // nfs_set_nfsport(): the port is set by parsing a URL with nfsport=.
  // client_name, when given, replaces libnfs's NFSv4 client id string.
  NfsContext mount(const char* client_name = nullptr) {
    NfsContext nfs(nfs_init_context());
    if (!nfs) {
      ADD_FAILURE() << "nfs_init_context failed";
      return nullptr;
    }
    if (client_name != nullptr) nfs4_set_client_name(nfs.get(), client_name);
    nfs_set_timeout(nfs.get(), 30000);
    if (nfs_set_version(nfs.get(), 4 /* NFS_V4 */) != 0) {
      ADD_FAILURE() << "nfs_set_version(4): " << nfs_get_error(nfs.get());
      return nullptr;
    }
    nfs_url* u = nfs_parse_url_dir(nfs.get(), url("/").c_str());
    if (u == nullptr) {
      ADD_FAILURE() << "nfs_parse_url_dir: " << nfs_get_error(nfs.get());
      return nullptr;
    }
    int rc = nfs_mount(nfs.get(), u->server, u->path);
    nfs_destroy_url(u);
    if (rc != 0) {
      ADD_FAILURE() << "nfs_mount: " << rc << " " << nfs_get_error(nfs.get());
      return nullptr;
    }
    return nfs;
  }

  std::unique_ptr<PnfsgwServer> server_;
};

}  // namespace pnfsgw::libnfs_test
