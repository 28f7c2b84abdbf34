// A Filesystem that forwards to another and reports read_only() as told,
// counting the calls that would change something: a test can then show
// that a read-only store is never asked to change anything. The counters
// and the flag are safe from any thread.
#pragma once
#include <atomic>

#include "backend/fs.h"

namespace pnfsgw::testing {

class ReadOnlySwitchFs : public backend::Filesystem {
 public:
  explicit ReadOnlySwitchFs(backend::Filesystem* inner) : in_(inner) {}

  void set_read_only(bool ro) { ro_ = ro; }
  bool read_only() const override { return ro_; }
  // Calls of methods that change the store.
  int changes() const { return changes_; }

  using Attr = backend::Attr;
  using InodeId = backend::InodeId;

  InodeId root() const override { return in_->root(); }
  Result<std::string> encode_handle(InodeId ino) override { return in_->encode_handle(ino); }
  Result<InodeId> resolve_handle(std::span<const uint8_t> b) override {
    return in_->resolve_handle(b);
  }
  Result<Attr> getattr(InodeId ino) override { return in_->getattr(ino); }
  Result<Attr> setattr(InodeId ino, const backend::SetAttr& sa) override {
    changed();
    return in_->setattr(ino, sa);
  }
  Result<backend::FsStat> statfs() override { return in_->statfs(); }
  Result<Attr> lookup(InodeId dir, std::string_view name) override {
    return in_->lookup(dir, name);
  }
  Result<Attr> lookup_parent(InodeId dir) override { return in_->lookup_parent(dir); }
  Result<Attr> create(InodeId dir, std::string_view name, uint32_t mode, const backend::Cred& c,
                      backend::CreateMode how, bool* created) override {
    changed();
    return in_->create(dir, name, mode, c, how, created);
  }
  Result<Attr> mkdir(InodeId dir, std::string_view name, uint32_t mode,
                     const backend::Cred& c) override {
    changed();
    return in_->mkdir(dir, name, mode, c);
  }
  Result<Attr> symlink(InodeId dir, std::string_view name, std::string_view target,
                       const backend::Cred& c) override {
    changed();
    return in_->symlink(dir, name, target, c);
  }
  Result<Attr> mknod(InodeId dir, std::string_view name, backend::FileType t, uint32_t mode,
                     uint32_t ma, uint32_t mi, const backend::Cred& c) override {
    changed();
    return in_->mknod(dir, name, t, mode, ma, mi, c);
  }
  Result<Attr> link(InodeId target, InodeId dir, std::string_view name) override {
    changed();
    return in_->link(target, dir, name);
  }
  Status unlink(InodeId dir, std::string_view name) override {
    changed();
    return in_->unlink(dir, name);
  }
  Status rmdir(InodeId dir, std::string_view name) override {
    changed();
    return in_->rmdir(dir, name);
  }
  Status rename(InodeId sd, std::string_view sn, InodeId dd, std::string_view dn) override {
    changed();
    return in_->rename(sd, sn, dd, dn);
  }
  Result<std::string> readlink(InodeId ino) override { return in_->readlink(ino); }
  Result<backend::ReaddirPage> readdir(InodeId dir, uint64_t cookie, size_t max) override {
    return in_->readdir(dir, cookie, max);
  }
  Result<size_t> read(InodeId ino, uint64_t off, std::span<uint8_t> buf, bool* eof) override {
    return in_->read(ino, off, buf, eof);
  }
  Result<size_t> write(InodeId ino, uint64_t off, std::span<const uint8_t> data) override {
    changed();
    return in_->write(ino, off, data);
  }
  Status fsync(InodeId ino, bool data_only) override { return in_->fsync(ino, data_only); }
  Status allocate(InodeId ino, uint64_t off, uint64_t len) override {
    changed();
    return in_->allocate(ino, off, len);
  }
  Status punch_hole(InodeId ino, uint64_t off, uint64_t len) override {
    changed();
    return in_->punch_hole(ino, off, len);
  }
  Status clone_range(InodeId s, uint64_t so, InodeId d, uint64_t dof, uint64_t len) override {
    changed();
    return in_->clone_range(s, so, d, dof, len);
  }
  Result<uint64_t> copy_range(InodeId s, uint64_t so, InodeId d, uint64_t dof,
                              uint64_t len) override {
    changed();
    return in_->copy_range(s, so, d, dof, len);
  }
  Result<uint64_t> seek(InodeId ino, uint64_t off, backend::SeekWhat w) override {
    return in_->seek(ino, off, w);
  }

 private:
  void changed() { changes_++; }
  backend::Filesystem* in_;
  std::atomic<bool> ro_{false};
  std::atomic<int> changes_{0};
};

}  // namespace pnfsgw::testing
