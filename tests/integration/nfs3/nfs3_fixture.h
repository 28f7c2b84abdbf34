// Fixture for the NFSv3 integration tests: a fresh pnfsgw per test
// (tests/support PnfsgwServer), libnfs URLs and contexts for NFSv3
// with MOUNT on the NFS port, and file helpers (seeded data, SHA-256).
#pragma once
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/support/host_tools.h"
#include "tests/support/pnfsgw_server.h"

extern "C" {
#include <nfsc/libnfs.h>
}

namespace pnfsgw::nfs3_test {

using test::CommandResult;
using test::PnfsgwServer;
using test::read_host_file;
using test::run_command;
using test::write_host_file;

// Writes n bytes of a seeded pseudo-random stream to path; false on error.
inline bool write_seeded_file(const std::string& path, uint64_t n, uint64_t seed) {
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) return false;
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> buf(1 << 17);  // 1 MiB
  bool ok = true;
  for (uint64_t left = n; left > 0 && ok;) {
    for (auto& v : buf) v = rng();
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(left, buf.size() * 8));
    ok = fwrite(buf.data(), 1, chunk, f) == chunk;
    left -= chunk;
  }
  return fclose(f) == 0 && ok;
}

// Hex SHA-256 of a file's contents ("" if it cannot be read).
inline std::string sha256_file(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return "";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) EVP_DigestUpdate(ctx, buf.data(), n);
  fclose(f);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; i++) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

struct NfsContextDeleter {
  void operator()(nfs_context* nfs) const { nfs_destroy_context(nfs); }
};
using NfsContext = std::unique_ptr<nfs_context, NfsContextDeleter>;

class Nfs3IntegrationTest : public ::testing::Test {
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

  // nfs://127.0.0.1<path>?version=3&nfsport=P&mountport=P: NFSv3 with
  // MOUNT on the NFS port, no portmapper. libnfs splits export and file at
  // the last '/' and rejects an empty export, so a file in the root is
  // "//name" (root_file_url).
  std::string url(const std::string& path) const {
    const std::string port = std::to_string(server_->port());
    return "nfs://127.0.0.1" + path + "?version=3&nfsport=" + port + "&mountport=" + port;
  }
  std::string root_file_url(const std::string& name) const { return url("//" + name); }

  // Host path of an NFS path ("/a/b" -> DATA/export/a/b), and of scratch files.
  std::string host(const std::string& nfs_path) const { return server_->export_dir() + nfs_path; }
  std::string scratch(const std::string& name) const { return server_->scratch_dir() + "/" + name; }

  // A libnfs context mounted over NFSv3 on the export root.
  NfsContext mount() {
    NfsContext nfs(nfs_init_context());
    if (!nfs) {
      ADD_FAILURE() << "nfs_init_context failed";
      return nullptr;
    }
    nfs_set_timeout(nfs.get(), 30000);
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

}  // namespace pnfsgw::nfs3_test
