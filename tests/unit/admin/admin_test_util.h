// Shared pieces of the admin unit tests: a HostDirFs on a temp directory,
// wrapped in a Filesystem that forwards everything and can pretend to be
// read-only or to lack the space operations.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "backend/fs.h"
#include "backend/hostdir/hostdir_fs.h"

namespace pnfsgw::admin::testing {

using backend::Attr;
using backend::Cred;
using backend::Filesystem;
using backend::InodeId;

// Forwards to inner. read_only_ makes read_only() true; with space_ops_
// false the space operations keep Filesystem's ENOTSUP defaults.
class ForwardingFs : public Filesystem {
 public:
  explicit ForwardingFs(Filesystem* inner) : in_(inner) {}
  bool read_only_ = false;
  bool space_ops_ = true;

  InodeId root() const override { return in_->root(); }
  Result<std::string> encode_handle(InodeId i) override { return in_->encode_handle(i); }
  Result<InodeId> resolve_handle(std::span<const uint8_t> b) override {
    return in_->resolve_handle(b);
  }
  Result<Attr> getattr(InodeId i) override { return in_->getattr(i); }
  Result<Attr> setattr(InodeId i, const backend::SetAttr& sa) override {
    return in_->setattr(i, sa);
  }
  Result<backend::FsStat> statfs() override { return in_->statfs(); }
  Result<Attr> lookup(InodeId d, std::string_view n) override { return in_->lookup(d, n); }
  Result<Attr> lookup_parent(InodeId d) override { return in_->lookup_parent(d); }
  Result<Attr> create(InodeId d, std::string_view n, uint32_t m, const Cred& c,
                      backend::CreateMode h, bool* created) override {
    return in_->create(d, n, m, c, h, created);
  }
  Result<Attr> mkdir(InodeId d, std::string_view n, uint32_t m, const Cred& c) override {
    return in_->mkdir(d, n, m, c);
  }
  Result<Attr> symlink(InodeId d, std::string_view n, std::string_view t, const Cred& c) override {
    return in_->symlink(d, n, t, c);
  }
  Result<Attr> mknod(InodeId d, std::string_view n, backend::FileType t, uint32_t m, uint32_t ma,
                     uint32_t mi, const Cred& c) override {
    return in_->mknod(d, n, t, m, ma, mi, c);
  }
  Result<Attr> link(InodeId t, InodeId d, std::string_view n) override {
    return in_->link(t, d, n);
  }
  Status unlink(InodeId d, std::string_view n) override { return in_->unlink(d, n); }
  Status rmdir(InodeId d, std::string_view n) override { return in_->rmdir(d, n); }
  Status rename(InodeId sd, std::string_view sn, InodeId dd, std::string_view dn) override {
    return in_->rename(sd, sn, dd, dn);
  }
  Result<std::string> readlink(InodeId i) override { return in_->readlink(i); }
  Result<backend::ReaddirPage> readdir(InodeId d, uint64_t c, size_t m) override {
    return in_->readdir(d, c, m);
  }
  Result<size_t> read(InodeId i, uint64_t o, std::span<uint8_t> b, bool* eof) override {
    return in_->read(i, o, b, eof);
  }
  Result<size_t> write(InodeId i, uint64_t o, std::span<const uint8_t> d) override {
    return in_->write(i, o, d);
  }
  Status fsync(InodeId i, bool d) override { return in_->fsync(i, d); }

  Status allocate(InodeId i, uint64_t o, uint64_t l) override {
    return space_ops_ ? in_->allocate(i, o, l) : Filesystem::allocate(i, o, l);
  }
  Status punch_hole(InodeId i, uint64_t o, uint64_t l) override {
    return space_ops_ ? in_->punch_hole(i, o, l) : Filesystem::punch_hole(i, o, l);
  }
  Status zero_range(InodeId i, uint64_t o, uint64_t l) override {
    return space_ops_ ? in_->zero_range(i, o, l) : Filesystem::zero_range(i, o, l);
  }
  Status collapse_range(InodeId i, uint64_t o, uint64_t l) override {
    return space_ops_ ? in_->collapse_range(i, o, l) : Filesystem::collapse_range(i, o, l);
  }
  Status insert_range(InodeId i, uint64_t o, uint64_t l) override {
    return space_ops_ ? in_->insert_range(i, o, l) : Filesystem::insert_range(i, o, l);
  }
  Status unshare(InodeId i, uint64_t o, uint64_t l) override {
    return space_ops_ ? in_->unshare(i, o, l) : Filesystem::unshare(i, o, l);
  }
  Status clone_range(InodeId s, uint64_t so, InodeId d, uint64_t dof, uint64_t l) override {
    return space_ops_ ? in_->clone_range(s, so, d, dof, l)
                      : Filesystem::clone_range(s, so, d, dof, l);
  }
  Result<uint64_t> copy_range(InodeId s, uint64_t so, InodeId d, uint64_t dof,
                              uint64_t l) override {
    return space_ops_ ? in_->copy_range(s, so, d, dof, l)
                      : Filesystem::copy_range(s, so, d, dof, l);
  }
  Result<uint64_t> dedupe_range(InodeId s, uint64_t so, InodeId d, uint64_t dof,
                                uint64_t l) override {
    return space_ops_ ? in_->dedupe_range(s, so, d, dof, l)
                      : Filesystem::dedupe_range(s, so, d, dof, l);
  }
  Result<uint64_t> seek(InodeId i, uint64_t o, backend::SeekWhat w) override {
    return space_ops_ ? in_->seek(i, o, w) : Filesystem::seek(i, o, w);
  }
  Result<std::vector<backend::FileExtent>> list_extents(InodeId i, uint64_t o,
                                                        uint64_t l) override {
    return space_ops_ ? in_->list_extents(i, o, l) : Filesystem::list_extents(i, o, l);
  }
  bool read_only() const override { return read_only_; }
  std::vector<std::pair<std::string, uint64_t>> counters() const override {
    return in_->counters();
  }

 private:
  Filesystem* in_;
};

// A HostDirFs over a fresh directory under /tmp, removed after the test.
class HostDirFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/admin_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    dir_ = tmpl;
    ASSERT_EQ(::mkdir((dir_ + "/export").c_str(), 0755), 0);
    auto r = backend::open_hostdir_fs(dir_ + "/export");
    ASSERT_TRUE(r) << std::strerror(r.err());
    host_ = std::move(r).value();
    fs_ = std::make_unique<ForwardingFs>(host_.get());
  }
  void TearDown() override {
    fs_.reset();
    host_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes data to the export path rel (parent directories must exist).
  InodeId file_with(const std::string& name, const std::string& data, InodeId dir = 0) {
    bool created = false;
    auto a = fs_->create(dir ? dir : fs_->root(), name, 0644, Cred{},
                         backend::CreateMode::kUnchecked, &created);
    EXPECT_TRUE(a) << std::strerror(a.err());
    if (!a) return 0;
    auto w = fs_->write(a->ino, 0,
                        std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
    EXPECT_TRUE(w);
    return a->ino;
  }
  InodeId mkdir(const std::string& name, InodeId dir = 0) {
    auto a = fs_->mkdir(dir ? dir : fs_->root(), name, 0755, Cred{});
    EXPECT_TRUE(a) << std::strerror(a.err());
    return a ? a->ino : 0;
  }
  std::string read_all(InodeId ino) {
    std::vector<uint8_t> buf(1 << 20);
    bool eof = false;
    auto r = fs_->read(ino, 0, buf, &eof);
    EXPECT_TRUE(r);
    return r ? std::string(reinterpret_cast<const char*>(buf.data()), *r) : std::string();
  }

  std::string dir_;
  std::unique_ptr<Filesystem> host_;
  std::unique_ptr<ForwardingFs> fs_;
};

}  // namespace pnfsgw::admin::testing
