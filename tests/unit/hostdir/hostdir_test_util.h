// Shared fixture for HostDirFs tests: a fresh temp directory under /tmp
// opened as a HostDirFs, removed again after the test.
#pragma once
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/fs.h"
#include "backend/hostdir/hostdir_fs.h"

namespace pnfsgw::backend::testing {

inline std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class HostDirFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // PNFSGW_TEST_HOSTDIR runs the tests on another host filesystem (an xfs
    // or btrfs mount, to exercise reflink); /tmp otherwise.
    const char* base = std::getenv("PNFSGW_TEST_HOSTDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/hostdir_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << tmpl << ": " << std::strerror(errno);
    dir_ = tmpl;
    reopen();
  }

  void TearDown() override {
    fs_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Drops the Filesystem and opens a new one on the same directory: a
  // server restart as far as the backend can tell.
  void reopen() {
    fs_.reset();
    auto r = open_hostdir_fs(dir_);
    ASSERT_TRUE(r) << std::strerror(r.err());
    fs_ = std::move(r).value();
  }

  std::string host_path(const std::string& rel) const { return dir_ + "/" + rel; }

  InodeId root() const { return fs_->root(); }

  Attr create(InodeId dir, const std::string& name, uint32_t mode = 0644, Cred cred = {}) {
    bool created = false;
    auto r = fs_->create(dir, name, mode, cred, CreateMode::kExclusive, &created);
    EXPECT_TRUE(r) << name << ": " << std::strerror(r.err());
    EXPECT_TRUE(created);
    return r ? *r : Attr{};
  }

  Attr mkdir(InodeId dir, const std::string& name, uint32_t mode = 0755) {
    auto r = fs_->mkdir(dir, name, mode, Cred{});
    EXPECT_TRUE(r) << name << ": " << std::strerror(r.err());
    return r ? *r : Attr{};
  }

  Attr file_with(const std::string& name, const std::string& data) {
    Attr a = create(root(), name);
    auto w = fs_->write(a.ino, 0, as_bytes(data));
    EXPECT_TRUE(w) << std::strerror(w.err());
    return a;
  }

  std::string read_all(InodeId ino, size_t max = 1 << 20) {
    std::vector<uint8_t> buf(max);
    bool eof = false;
    auto r = fs_->read(ino, 0, buf, &eof);
    EXPECT_TRUE(r) << std::strerror(r.err());
    if (!r) return {};
    return std::string(reinterpret_cast<const char*>(buf.data()), *r);
  }

  Attr getattr(InodeId ino) {
    auto r = fs_->getattr(ino);
    EXPECT_TRUE(r) << std::strerror(r.err());
    return r ? *r : Attr{};
  }

  // Creates count empty files "prefix<i>" directly on the host.
  void host_files(const std::string& prefix, int count) {
    for (int i = 0; i < count; ++i) {
      int fd = ::open(host_path(prefix + std::to_string(i)).c_str(), O_CREAT | O_WRONLY, 0644);
      ASSERT_GE(fd, 0) << std::strerror(errno);
      ::close(fd);
    }
  }

  // Creates the names "prefix<i>" as hard links of one file: directory
  // entries without the cost of allocating an inode each, which keeps
  // large-directory tests fast.
  void host_links(const std::string& prefix, int count) {
    const std::string first = host_path(prefix + "0");
    int fd = ::open(first.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ::close(fd);
    for (int i = 1; i < count; ++i) {
      ASSERT_EQ(::link(first.c_str(), host_path(prefix + std::to_string(i)).c_str()), 0)
          << std::strerror(errno);
    }
  }

  std::string dir_;
  std::unique_ptr<Filesystem> fs_;
};

}  // namespace pnfsgw::backend::testing
