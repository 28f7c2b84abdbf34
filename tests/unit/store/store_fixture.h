// A StoreFs on a FaultDevice (or, with StoreFsTest<Dev>, another device) with
// its metadata in a temp dir, a breaker that records every break, and
// helpers to write and read files as strings. Every test ends with fsck
// (check()) finding nothing.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "backend/device/fault_device.h"
#include "backend/store/store_fs.h"
#include "tests/support/server_process.h"

// In store_fs_cached_test, a test of what a write does to the store at once
// (its breaks, blocks, commits) does not apply: the write cache defers it.
#ifdef PNFSGW_STORE_TEST_WRITE_CACHE
#define SKIP_WITH_WRITE_CACHE(why) GTEST_SKIP() << (why)
#else
#define SKIP_WITH_WRITE_CACHE(why) (void)0
#endif

namespace pnfsgw::store::test {

using backend::InodeId;

struct BreakRecord {
  uint64_t file, off, len;
  BreakKind kind;
  bool operator==(const BreakRecord&) const = default;
};

// Records breaks; holds quarantined blocks until release_all() when told to.
class RecordingBreaker final : public ExtentBreaker {
 public:
  BreakToken break_range(uint64_t file, uint64_t off, uint64_t len, BreakKind kind) override {
    std::lock_guard lk(mu_);
    breaks.push_back({file, off, len, kind});
    return make_token(file, off, len, kind);
  }
  void release_quarantine(const BreakToken&, std::vector<PhysRange> blocks, ReleaseFn release) override {
    std::lock_guard lk(mu_);
    if (hold) {
      held.push_back({std::move(blocks), std::move(release)});
      return;
    }
    release(std::move(blocks));
  }
  void release_all() {
    std::lock_guard lk(mu_);
    for (auto& [b, fn] : held) fn(std::move(b));
    held.clear();
  }
  std::vector<BreakRecord> take() {
    std::lock_guard lk(mu_);
    return std::exchange(breaks, {});
  }
  bool grants_at_once() const override { return at_once; }
  bool hold = false;
  bool at_once = false;  // claim to be a breaker with nothing to recall (like NullBreaker)
  std::vector<std::pair<std::vector<PhysRange>, ReleaseFn>> held;

 protected:
  void end_break(const BreakToken&) override {}

 private:
  std::mutex mu_;
  std::vector<BreakRecord> breaks;
};

// A StoreFs on a device of type Dev (made by make_device()), metadata in a
// temp dir, and helpers to write and read files as strings.
template <class Dev>
class StoreFsTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kDevSize = 64ull << 20;

  virtual std::unique_ptr<Dev> make_device() = 0;

  void SetUp() override {
    dev_ = make_device();
    ASSERT_TRUE(dev_);
    opt_.meta_dir = dir_.path() + "/meta";
    opt_.meta_map_size = 256ull << 20;
#ifdef PNFSGW_STORE_TEST_WRITE_CACHE
    // store_fs_cached_test: every test again with the write cache on (no
    // write-back by age, so only the store's own triggers write back).
    if (opt_.write_cache_bytes == 0) {
      opt_.write_cache_bytes = 8ull << 20;
      opt_.write_cache_age_ms = 3600 * 1000;
    }
#endif
    ASSERT_TRUE(StoreFs::format(*dev_, opt_));
    reopen();
  }
  void TearDown() override {
    if (!fs_) return;
    auto problems = fs_->check();
    ASSERT_TRUE(problems);
    for (const auto& p : problems.value()) ADD_FAILURE() << "fsck: " << p.what;
  }
  void reopen() {
    fs_.reset();
    auto f = StoreFs::open(dev_.get(), &breaker_, opt_);
    ASSERT_TRUE(f) << strerror(f.err());
    fs_ = std::move(f).value();
  }

  InodeId mkfile(const std::string& name, InodeId dir = kRootIno) {
    bool created;
    auto a = fs_->create(dir, name, 0644, {}, backend::CreateMode::kExclusive, &created);
    EXPECT_TRUE(a) << name << ": " << strerror(a.err());
    return a ? a.value().ino : 0;
  }
  void put(InodeId ino, uint64_t off, const std::string& s) {
    auto w = fs_->write(ino, off, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    ASSERT_TRUE(w) << strerror(w.err());
    ASSERT_EQ(w.value(), s.size());
  }
  std::string get(InodeId ino, uint64_t off, size_t len) {
    std::string out(len, '\0');
    bool eof;
    auto r = fs_->read(ino, off, std::span(reinterpret_cast<uint8_t*>(out.data()), len), &eof);
    EXPECT_TRUE(r) << strerror(r.err());
    out.resize(r ? r.value() : 0);
    return out;
  }
  std::string all(InodeId ino) { return get(ino, 0, size(ino)); }
  uint64_t size(InodeId ino) { return fs_->getattr(ino).value().size; }
  uint64_t used(InodeId ino) { return fs_->getattr(ino).value().space_used; }
  static std::string pattern(size_t n, char seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(seed + (i * 7 + i / 4096) % 23);
    return s;
  }

  ::pnfsgw::test::TempDir dir_{"pnfsgw-store"};
  StoreOptions opt_;
  std::unique_ptr<Dev> dev_;
  RecordingBreaker breaker_;
  std::unique_ptr<StoreFs> fs_;
};

// The usual one: a FaultDevice (crashes, media errors).
class StoreTest : public StoreFsTest<backend::device::FaultDevice> {
 protected:
  std::unique_ptr<backend::device::FaultDevice> make_device() override {
    return std::make_unique<backend::device::FaultDevice>(kDevSize);
  }
};

}  // namespace pnfsgw::store::test
