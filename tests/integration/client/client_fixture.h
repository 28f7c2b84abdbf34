// Fixture for client integration tests: a real pnfsgw on a fresh data dir
// and an Nfs4Client with an established session.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "client/nfs4_client.h"
#include "tests/support/server_process.h"

namespace pnfsgw::client::test {

using pnfsgw::test::ServerProcess;
using pnfsgw::test::TempDir;

inline std::string err_name(int err) {
  return std::string(status_name(err)) + " (" + std::to_string(err) + ")";
}

#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    auto&& _r = (expr);                                                    \
    ASSERT_TRUE(_r.is_ok()) << #expr << " failed: " << err_name(_r.err()); \
  } while (0)
#define EXPECT_OK(expr)                                                    \
  do {                                                                     \
    auto&& _r = (expr);                                                    \
    EXPECT_TRUE(_r.is_ok()) << #expr << " failed: " << err_name(_r.err()); \
  } while (0)
#define EXPECT_NFS_ERR(expr, code)                                                 \
  do {                                                                             \
    auto&& _r = (expr);                                                            \
    EXPECT_EQ(_r.err(), static_cast<int>(code))                                    \
        << #expr << " gave " << err_name(_r.err()) << ", want " << err_name(code); \
  } while (0)

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = tmp_.path() + "/data";
    ASSERT_TRUE(server_.start(data_dir_, tmp_.path(), server_args()));
    client_ = new_client("main");
    ASSERT_TRUE(client_);
    auto root = client_->root_fh();
    ASSERT_TRUE(root) << "PUTROOTFH+GETFH: " << err_name(root.err());
    root_ = *root;
  }

  void TearDown() override {
    if (client_) client_->shutdown();
    client_.reset();
    if (server_.running()) {
      int rc = server_.stop();
      EXPECT_EQ(rc, 0) << "pnfsgw did not exit cleanly on SIGTERM: " << server_.log_tail();
    }
  }

  // A short grace period so a restarted server is usable at once.
  virtual std::vector<std::string> server_args() const { return {"--grace", "0"}; }

  // A client with its own owner string and an established session.
  std::unique_ptr<Nfs4Client> new_client(const std::string& name, Nfs4ClientOptions opts = {}) {
    opts.owner = "pnfsgw-test-" + name + "-" + std::to_string(getpid());
    opts.timeout = std::chrono::seconds(20);
    auto c = std::make_unique<Nfs4Client>(opts);
    Status st = c->mount("127.0.0.1", server_.port());
    EXPECT_TRUE(st.is_ok()) << "mount failed: " << err_name(st.err()) << "\n" << server_.log_tail();
    return st ? std::move(c) : nullptr;
  }

  // Opens dir/name, created (or truncated) with mode; left open.
  Result<OpenResult> open_new(const Fh& dir, const std::string& name, uint32_t mode = 0644) {
    OpenOptions o;
    o.create = true;
    o.attrs.mode = mode;
    o.attrs.size = 0;
    return client_->open(dir, name, o);
  }

  // Creates (or truncates) dir/name with the given content; returns its fh.
  Fh make_file(const Fh& dir, const std::string& name, const std::string& content,
               uint32_t mode = 0644) {
    auto f = open_new(dir, name, mode);
    EXPECT_TRUE(f) << "open " << name << ": " << err_name(f.err());
    if (!f) return Fh{};
    if (!content.empty()) {
      auto w = client_->write(
          f->fh, f->stateid, 0,
          std::span(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
      EXPECT_TRUE(w) << "write " << name << ": " << err_name(w.err());
    }
    EXPECT_TRUE(client_->close(f->fh, f->stateid));
    return f->fh;
  }

  std::string read_all(const Fh& fh, uint32_t max = 1 << 20) {
    auto r = client_->read(fh, Stateid::anonymous(), 0, max);
    EXPECT_TRUE(r) << "read: " << err_name(r.err());
    return r ? std::string(r->data.begin(), r->data.end()) : std::string();
  }

  TempDir tmp_{"pnfsgw-client"};
  std::string data_dir_;
  ServerProcess server_{PNFSGW_BINARY};
  std::unique_ptr<Nfs4Client> client_;
  Fh root_;
};

}  // namespace pnfsgw::client::test
