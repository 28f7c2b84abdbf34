// Fixture for the NFSv4.2 space-op tests: the client fixture's server and
// NFSv4.1 client, plus c42_, a client mounted with minor version 2, and
// helpers that build files with known data and holes.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/client/client_fixture.h"

namespace pnfsgw::client::test {

inline constexpr uint64_t kKiB = 1024;

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Bytes that differ from position to position, so a misplaced range shows.
inline std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>('a' + (x >> 16) % 26);
  }
  return s;
}

class SpaceTest : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    if (HasFatalFailure()) return;
    Nfs4ClientOptions o;
    o.minorversion = 2;
    c42_ = new_client("v42", o);
    ASSERT_TRUE(c42_);
  }

  // PNFSGW_TEST_BACKEND=hostdir|store runs the server on that backend
  // (pnfsgw serve --backend); unset: the server's default.
  std::vector<std::string> server_args() const override {
    std::vector<std::string> args = ClientTest::server_args();
    const char* backend = std::getenv("PNFSGW_TEST_BACKEND");
    if (backend && *backend) {
      args.push_back("--backend");
      args.push_back(backend);
    }
    return args;
  }

  void TearDown() override {
    if (c42_) c42_->shutdown();
    c42_.reset();
    ClientTest::TearDown();
  }

  // An open (read and write, deny none) of a new empty file in the root.
  OpenResult open_new(const std::string& name, uint32_t access = nfs4::OPEN4_SHARE_ACCESS_BOTH) {
    OpenOptions o;
    o.create = true;
    o.attrs.mode = 0644;
    o.attrs.size = 0;
    o.share_access = access;
    auto f = c42_->open(root_, name, o);
    EXPECT_TRUE(f) << "open " << name << ": " << err_name(f.err());
    return f ? *f : OpenResult{};
  }

  // An open by another open owner (so it is not merged with earlier opens).
  OpenResult open_existing(const Fh& fh, uint32_t access = nfs4::OPEN4_SHARE_ACCESS_BOTH,
                           uint32_t deny = nfs4::OPEN4_SHARE_DENY_NONE,
                           const std::string& owner = "second-owner") {
    OpenOptions o;
    o.share_access = access;
    o.share_deny = deny;
    o.owner = owner;
    auto f = c42_->open_fh(fh, o);
    EXPECT_TRUE(f) << "open_fh: " << err_name(f.err());
    return f ? *f : OpenResult{};
  }

  void write_at(const OpenResult& f, uint64_t offset, const std::string& data) {
    auto w = c42_->write(f.fh, f.stateid, offset, bytes_of(data));
    ASSERT_TRUE(w) << "write at " << offset << ": " << err_name(w.err());
    ASSERT_EQ(w->count, data.size());
  }

  void set_size(const OpenResult& f, uint64_t size) {
    SetAttrs sa;
    sa.size = size;
    ASSERT_OK(c42_->setattr(f.fh, sa, f.stateid));
  }

  // The whole file through READ (in 1 MiB pieces).
  std::string read_file(const Fh& fh) {
    std::string out;
    for (;;) {
      auto r = c42_->read(fh, Stateid::anonymous(), out.size(), 1 << 20);
      EXPECT_TRUE(r) << "read: " << err_name(r.err());
      if (!r) break;
      out.append(r->data.begin(), r->data.end());
      if (r->eof || r->data.empty()) break;
    }
    return out;
  }

  Fattr attrs(const Fh& fh) {
    auto a = c42_->getattr(fh, Bitmap4{nfs4::FATTR4_CHANGE, nfs4::FATTR4_SIZE,
                                       nfs4::FATTR4_SPACE_USED, nfs4::FATTR4_TIME_MODIFY});
    EXPECT_TRUE(a) << "getattr: " << err_name(a.err());
    return a ? *a : Fattr{};
  }

  // A sparse file of 512 KiB: data 'A'.. in [0, 64K), a hole, data in
  // [256K, 320K), a hole to the end. 64 KiB-aligned so that any block size
  // up to 64 KiB keeps the holes holes.
  struct Sparse {
    OpenResult f;
    std::string first, second;  // the two data runs
    std::string whole() const {
      std::string s(512 * kKiB, '\0');
      s.replace(0, first.size(), first);
      s.replace(256 * kKiB, second.size(), second);
      return s;
    }
  };
  Sparse make_sparse(const std::string& name) {
    Sparse s;
    s.f = open_new(name);
    s.first = pattern(64 * kKiB, 1);
    s.second = pattern(64 * kKiB, 2);
    write_at(s.f, 0, s.first);
    write_at(s.f, 256 * kKiB, s.second);
    set_size(s.f, 512 * kKiB);
    return s;
  }

  // Lets the clock move on so an mtime change can be seen.
  static void tick() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }

  std::unique_ptr<Nfs4Client> c42_;
};

}  // namespace pnfsgw::client::test
