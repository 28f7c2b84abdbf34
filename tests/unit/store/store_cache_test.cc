// The store's write cache (store_cache.cc): writes that need new blocks stay
// in memory until fsync, age, pressure or another change of the file; reads
// and attributes see them at once; a crash loses only what was not fsynced.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "tests/unit/store/store_fixture.h"

namespace pnfsgw::store::test {
namespace {

constexpr uint64_t B = kBlockSize;

class WriteCacheTest : public StoreTest {
 protected:
  void SetUp() override {
    opt_.write_cache_bytes = limit_;
    opt_.write_cache_age_ms = age_ms_;
    StoreTest::SetUp();
  }
  uint64_t limit_ = 8ull << 20;
  uint32_t age_ms_ = 3600 * 1000;  // no write-back by age unless a test asks
};

TEST_F(WriteCacheTest, AWriteThatNeedsBlocksIsAnsweredFromMemoryAndWrittenBackAtFsync) {
  InodeId f = mkfile("a");
  uint64_t writes0 = dev_->writes(), commits0 = fs_->kv_commits();
  std::string data = pattern(10000, 'a');
  put(f, 0, data);
  EXPECT_EQ(fs_->cached_bytes(), data.size());
  EXPECT_EQ(dev_->writes(), writes0) << "no device write before the write-back";
  EXPECT_EQ(fs_->kv_commits(), commits0) << "no metadata commit either";
  EXPECT_EQ(size(f), data.size());
  EXPECT_EQ(all(f), data);
  EXPECT_EQ(used(f), 0u) << "no block is allocated yet";

  uint64_t flushes0 = dev_->flushes();
  ASSERT_TRUE(fs_->fsync(f, false));
  EXPECT_EQ(fs_->cached_bytes(), 0u);
  EXPECT_GT(dev_->flushes(), flushes0);
  EXPECT_EQ(dev_->dirty_blocks(), 0u);
  EXPECT_EQ(used(f), 3 * B);
  EXPECT_EQ(all(f), data);
  reopen();
  EXPECT_EQ(all(f), data);
}

TEST_F(WriteCacheTest, AFileRemovedBeforeWriteBackCostsNoDeviceIo) {
  InodeId f = mkfile("gone");
  uint64_t writes0 = dev_->writes(), flushes0 = dev_->flushes();
  put(f, 0, pattern(4096, 'g'));
  ASSERT_TRUE(fs_->unlink(kRootIno, "gone"));
  EXPECT_EQ(fs_->cached_bytes(), 0u);
  EXPECT_EQ(dev_->writes(), writes0);
  EXPECT_EQ(dev_->flushes(), flushes0);
  EXPECT_EQ(fs_->getattr(f).err(), ESTALE);
  EXPECT_EQ(fs_->fsync(f, false).err(), ESTALE);
}

TEST_F(WriteCacheTest, AttributesShowCachedWritesAndDoNotGoBackAtWriteBack) {
  InodeId f = mkfile("t");
  auto a0 = fs_->getattr(f).value();
  put(f, 0, "hello");
  auto a1 = fs_->getattr(f).value();
  put(f, 4096, "world");
  auto a2 = fs_->getattr(f).value();
  EXPECT_EQ(a1.size, 5u);
  EXPECT_EQ(a2.size, 4101u);
  EXPECT_LT(a0.change, a1.change);
  EXPECT_LT(a1.change, a2.change);
  ASSERT_TRUE(fs_->fsync(f, false));
  auto a3 = fs_->getattr(f).value();
  EXPECT_EQ(a3.size, 4101u);
  EXPECT_GE(a3.change, a2.change);
  EXPECT_EQ(a3.mtime, a2.mtime) << "the write-back keeps the time of the last write";
  reopen();
  EXPECT_EQ(fs_->getattr(f).value().mtime, a2.mtime);
}

TEST_F(WriteCacheTest, ACrashLosesOnlyWhatWasNotFsynced) {
  InodeId a = mkfile("a"), b = mkfile("b");
  std::string kept = pattern(3 * B + 17, 'k');
  put(a, 0, kept);
  ASSERT_TRUE(fs_->fsync(a, false));
  put(a, kept.size(), pattern(5000, 'x'));  // grows a: cached
  put(b, 0, pattern(9000, 'y'));
  ASSERT_GT(fs_->cached_bytes(), 0u);
  // The power goes before the store can write anything back.
  dev_->power_cut_after(0);
  fs_.reset();
  dev_->crash();
  reopen();
  EXPECT_EQ(all(a), kept);
  EXPECT_EQ(size(b), 0u);
}

TEST_F(WriteCacheTest, PiecesSharingABlockAreWrittenBackWithTheBytesBetweenThem) {
  InodeId f = mkfile("p");
  std::string want = pattern(6000, 'c');
  put(f, 0, want);
  ASSERT_TRUE(fs_->fsync(f, false));
  auto put_both = [&](uint64_t off, const std::string& s) {
    put(f, off, s);
    if (want.size() < off + s.size()) want.resize(off + s.size(), '\0');
    want.replace(off, s.size(), s);
  };
  put_both(7000, "past EOF");  // grows the file: cached, and so is the rest
  put_both(100, std::string(100, 'A'));
  put_both(3000, "two pieces");
  put_both(3500, "in one block");
  put_both(6500, "between the old EOF and the new");
  EXPECT_GT(fs_->cached_bytes(), 0u);
  EXPECT_EQ(all(f), want);
  ASSERT_TRUE(fs_->fsync(f, false));
  EXPECT_EQ(fs_->cached_bytes(), 0u);
  EXPECT_EQ(all(f), want);
  reopen();
  EXPECT_EQ(all(f), want);
}

TEST_F(WriteCacheTest, TruncatePunchAndCloneSeeTheCachedBytes) {
  InodeId f = mkfile("f"), g = mkfile("g");
  std::string data = pattern(4 * B, 'd');
  put(f, 0, data);
  backend::SetAttr sa;
  sa.size = 100;
  ASSERT_TRUE(fs_->setattr(f, sa));
  EXPECT_EQ(all(f), data.substr(0, 100));
  sa.size = 2 * B;
  ASSERT_TRUE(fs_->setattr(f, sa));
  EXPECT_EQ(all(f), data.substr(0, 100) + std::string(2 * B - 100, '\0'));

  put(g, 0, data);
  ASSERT_TRUE(fs_->punch_hole(g, B, B));
  EXPECT_EQ(all(g), data.substr(0, B) + std::string(B, '\0') + data.substr(2 * B));
  InodeId h = mkfile("h");
  put(h, 0, std::string(10, 'h'));  // cached destination
  ASSERT_TRUE(fs_->clone_range(g, 0, h, 0, 4 * B));
  EXPECT_EQ(all(h), all(g));
  EXPECT_EQ(fs_->cached_bytes(), 0u);
}

class SmallWriteCacheTest : public WriteCacheTest {
 protected:
  void SetUp() override {
    limit_ = 1 << 20;
    WriteCacheTest::SetUp();
  }
};

TEST_F(SmallWriteCacheTest, PressureWritesTheOldestFilesBack) {
  std::vector<InodeId> files;
  std::vector<std::string> data;
  for (int i = 0; i < 6; i++) {  // 1.2 MiB in all: more than the cache holds
    files.push_back(mkfile("m" + std::to_string(i)));
    data.push_back(pattern(200 * 1024, static_cast<char>('a' + i)));
    put(files.back(), 0, data.back());
    EXPECT_LE(fs_->cached_bytes(), limit_);
  }
  EXPECT_GE(fs_->cache_writebacks(), 1u);
  EXPECT_GT(used(files[0]), 0u) << "the oldest file went first";
  for (int i = 0; i < 6; i++) EXPECT_EQ(all(files[i]), data[i]);
}

TEST_F(SmallWriteCacheTest, AWriteTooBigForTheCacheGoesStraightToTheStore) {
  InodeId f = mkfile("big");
  put(f, 0, "small first");
  std::string big = pattern(limit_, 'B');
  put(f, 100, big);
  EXPECT_EQ(fs_->cached_bytes(), 0u);
  EXPECT_EQ(all(f), "small first" + std::string(89, '\0') + big);
}

class AgedWriteCacheTest : public WriteCacheTest {
 protected:
  void SetUp() override {
    age_ms_ = 50;
    WriteCacheTest::SetUp();
  }
};

TEST_F(AgedWriteCacheTest, OldCachedBytesAreWrittenBackWithoutBeingAsked) {
  InodeId f = mkfile("old");
  std::string data = pattern(3 * B, 'o');
  put(f, 0, data);
  for (int i = 0; i < 500 && fs_->cached_bytes() > 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(fs_->cached_bytes(), 0u);
  EXPECT_EQ(used(f), 3 * B);
  // Durable without an fsync: a crash now keeps it.
  fs_.reset();
  dev_->crash();
  reopen();
  EXPECT_EQ(all(f), data);
}

TEST_F(WriteCacheTest, SpaceRunsOutAtTheWriteNotAtTheWriteBack) {
  InodeId f = mkfile("full");
  std::string chunk = pattern(1 << 20, 'F');
  uint64_t off = 0;
  Status last;
  for (int i = 0; i < 200; i++, off += chunk.size()) {
    auto w = fs_->write(f, off, std::span(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()));
    if (!w) {
      last = Status::error(w.err());
      break;
    }
  }
  EXPECT_EQ(last.err(), ENOSPC);
  ASSERT_TRUE(fs_->fsync(f, false)) << "every acknowledged write finds its blocks";
  uint64_t written = size(f);
  EXPECT_GE(written, off - chunk.size() / 2);
  EXPECT_EQ(get(f, 0, chunk.size()), chunk);
  EXPECT_EQ(get(f, written - 100, 100), chunk.substr((written - 100) % chunk.size(), 100));
}

// Random writes, truncates, punches, fsyncs and restarts against a flat
// model; the cache is small, so pressure write-backs happen too.
TEST_F(SmallWriteCacheTest, RandomOperationsMatchAFlatModel) {
  std::mt19937_64 rng(11);
  std::vector<InodeId> files;
  std::vector<std::string> model(3);
  for (int i = 0; i < 3; i++) files.push_back(mkfile("r" + std::to_string(i)));
  for (int op = 0; op < 600; op++) {
    size_t k = rng() % files.size();
    std::string& m = model[k];
    InodeId f = files[k];
    switch (rng() % 10) {
      case 0: {
        backend::SetAttr sa;
        sa.size = rng() % (m.size() + 3 * B + 1);
        ASSERT_TRUE(fs_->setattr(f, sa));
        m.resize(*sa.size, '\0');
        break;
      }
      case 1: {
        uint64_t o = rng() % (m.size() + 1), l = 1 + rng() % (2 * B);
        ASSERT_TRUE(fs_->punch_hole(f, o, l));
        if (o < m.size()) std::fill(m.begin() + o, m.begin() + std::min<uint64_t>(o + l, m.size()), '\0');
        break;
      }
      case 2:
        ASSERT_TRUE(fs_->fsync(f, false));
        break;
      case 3:
        if (rng() % 20 == 0) reopen();
        break;
      default: {
        uint64_t o = rng() % (m.size() + 2 * B), l = 1 + rng() % (rng() % 4 == 0 ? 300000 : 3000);
        std::string s = pattern(l, static_cast<char>('A' + op % 50));
        put(f, o, s);
        if (m.size() < o + l) m.resize(o + l, '\0');
        m.replace(o, l, s);
      }
    }
    ASSERT_EQ(size(f), m.size()) << "op " << op;
    if (op % 7 == 0) ASSERT_EQ(all(f), m) << "op " << op;
  }
  for (size_t k = 0; k < files.size(); k++) EXPECT_EQ(all(files[k]), model[k]);
  reopen();
  for (size_t k = 0; k < files.size(); k++) EXPECT_EQ(all(files[k]), model[k]);
}

TEST_F(SmallWriteCacheTest, ConcurrentWritersReadersAndFsyncsAgree) {
  InodeId f = mkfile("c");
  constexpr int kWriters = 4;
  constexpr uint64_t kSlice = 64 * 1024;
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; w++) {
    threads.emplace_back([&, w] {
      // Each writer fills its own slice, 4 KiB + 7 bytes at a time, twice.
      for (int pass = 0; pass < 2; pass++) {
        for (uint64_t o = 0; o < kSlice; o += 4103) {
          std::string s(std::min<uint64_t>(4103, kSlice - o), static_cast<char>('a' + w + pass * 8));
          auto r = fs_->write(f, w * kSlice + o, std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
          if (!r) ADD_FAILURE() << strerror(r.err());
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop) {
      if (!fs_->fsync(f, false)) ADD_FAILURE() << "fsync";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  threads.emplace_back([&] {
    std::vector<uint8_t> buf(kSlice);
    while (!stop) {
      for (int w = 0; w < kWriters; w++) {
        bool eof;
        auto r = fs_->read(f, w * kSlice, buf, &eof);
        if (!r) {
          bad_reads++;
          continue;
        }
        // Every byte read is zero or one of this slice's two patterns.
        for (size_t i = 0; i < r.value(); i++)
          if (buf[i] != 0 && buf[i] != 'a' + w && buf[i] != 'a' + w + 8) bad_reads++;
      }
    }
  });
  for (int w = 0; w < kWriters; w++) threads[w].join();
  stop = true;
  for (size_t i = kWriters; i < threads.size(); i++) threads[i].join();
  EXPECT_EQ(bad_reads.load(), 0);
  for (int w = 0; w < kWriters; w++)
    EXPECT_EQ(get(f, w * kSlice, kSlice), std::string(kSlice, static_cast<char>('a' + w + 8))) << "slice " << w;
}

// A device whose flush() can be held: a write-back then stays under way
// until the test lets it go.
class GatedDevice final : public backend::device::Device {
 public:
  explicit GatedDevice(uint64_t size) : inner_(size) {}
  uint64_t size() const override { return inner_.size(); }
  Status read(uint64_t off, std::span<uint8_t> buf) override { return inner_.read(off, buf); }
  Status write(uint64_t off, std::span<const uint8_t> buf) override { return inner_.write(off, buf); }
  Status flush() override {
    wait_open();
    return inner_.flush();
  }
  Status flush_range(uint64_t off, uint64_t len) override {
    wait_open();
    return inner_.flush_range(off, len);
  }
  void hold() {
    std::lock_guard lk(mu_);
    open_ = false;
  }
  void release() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits (up to 10 s) until a flush is waiting at the gate.
  bool wait_for_waiter() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(10), [&] { return waiting_ > 0; });
  }

 private:
  void wait_open() {
    std::unique_lock lk(mu_);
    waiting_++;
    cv_.notify_all();
    cv_.wait(lk, [&] { return open_; });
    waiting_--;
  }
  backend::device::FaultDevice inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

class GatedWriteCacheTest : public StoreFsTest<GatedDevice> {
 protected:
  std::unique_ptr<GatedDevice> make_device() override { return std::make_unique<GatedDevice>(kDevSize); }
  void SetUp() override {
    opt_.write_cache_bytes = 8ull << 20;
    opt_.write_cache_age_ms = 3600 * 1000;
    StoreFsTest<GatedDevice>::SetUp();
  }
};

TEST_F(GatedWriteCacheTest, AWriteBackUnderWayDoesNotHoldUpWritersOrReaders) {
  InodeId f = mkfile("w");
  const std::string first = pattern(1 << 20, 'a');
  put(f, 0, first);
  const uint64_t change_cached = fs_->getattr(f).value().change;

  dev_->hold();
  std::atomic<bool> synced{false};
  std::thread syncer([&] {
    EXPECT_TRUE(fs_->fsync(f, false));
    synced = true;
  });
  ASSERT_TRUE(dev_->wait_for_waiter()) << "the write-back never reached the device flush";

  // The write-back of `first` waits at the device; the file takes more
  // writes, and reads see both, all without waiting for it.
  const std::string second = pattern(8192, 'q');
  put(f, 1 << 20, second);
  put(f, 4096, "over");  // over bytes being written back: the newer wins
  EXPECT_FALSE(synced.load());
  std::string want = first + second;
  want.replace(4096, 4, "over");
  EXPECT_EQ(size(f), want.size());
  EXPECT_EQ(all(f), want);
  const uint64_t change_during = fs_->getattr(f).value().change;
  EXPECT_GT(change_during, change_cached);

  dev_->release();
  syncer.join();
  EXPECT_TRUE(synced.load());
  EXPECT_EQ(fs_->cached_bytes(), second.size() + 4) << "the later writes stay cached";
  EXPECT_EQ(all(f), want);
  EXPECT_GE(fs_->getattr(f).value().change, change_during);
  ASSERT_TRUE(fs_->fsync(f, false));
  EXPECT_EQ(fs_->cached_bytes(), 0u);
  reopen();
  EXPECT_EQ(all(f), want);
}

TEST_F(GatedWriteCacheTest, AWriterAtTheLimitWaitsForTheWriteBackUnderWayInsteadOfWritingBackItself) {
  InodeId f = mkfile("stream");
  constexpr uint64_t M = 1 << 20;  // the cache holds 8 MiB; the write-back thread starts past 4
  const std::string chunk = pattern(M, 's');
  dev_->hold();
  for (uint64_t i = 0; i < 5; i++) put(f, i * M, chunk);
  ASSERT_TRUE(dev_->wait_for_waiter()) << "the write-back thread did not start at half the limit";
  for (uint64_t i = 5; i < 8; i++) put(f, i * M, chunk);  // the cache is full now
  std::thread writer([&] { put(f, 8 * M, chunk); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  dev_->release();
  writer.join();
  // The first 5 MiB went back; the writer did not write back the 3 MiB
  // after them itself, so they and its own MiB are still cached.
  EXPECT_EQ(fs_->cached_bytes(), 4 * M);
  std::string want;
  for (int i = 0; i < 9; i++) want += chunk;
  EXPECT_EQ(all(f), want);
  ASSERT_TRUE(fs_->fsync(f, false));
  reopen();
  EXPECT_EQ(all(f), want);
}

// A write on an event loop (write_quick) goes into the cache while it has
// room; at the limit, where write() would wait for the write-back, it
// answers nullopt and leaves the file alone.
TEST_F(GatedWriteCacheTest, AQuickWriteTakesTheCacheButNeverWaitsForRoom) {
  breaker_.at_once = true;
  InodeId f = mkfile("q");
  constexpr uint64_t M = 1 << 20;
  const std::string chunk = pattern(M, 'k');
  auto first = fs_->write_quick(f, 0, std::span(reinterpret_cast<const uint8_t*>(chunk.data()), M));
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(*first);
  EXPECT_EQ(fs_->cached_bytes(), M);
  dev_->hold();
  for (uint64_t i = 1; i < 5; i++) put(f, i * M, chunk);
  ASSERT_TRUE(dev_->wait_for_waiter()) << "the write-back thread did not start at half the limit";
  for (uint64_t i = 5; i < 8; i++) put(f, i * M, chunk);  // full
  auto full = fs_->write_quick(f, 8 * M, std::span(reinterpret_cast<const uint8_t*>(chunk.data()), M));
  EXPECT_FALSE(full.has_value());
  EXPECT_EQ(size(f), 8 * M);
  dev_->release();
  ASSERT_TRUE(fs_->fsync(f, false));
  std::string want;
  for (int i = 0; i < 8; i++) want += chunk;
  EXPECT_EQ(all(f), want);
}

TEST_F(SmallWriteCacheTest, TheChangeAttributeNeverGoesBackAcrossWriteBacks) {
  InodeId f = mkfile("ch");
  std::atomic<bool> stop{false};
  std::atomic<int> backwards{0};
  std::thread watcher([&] {
    uint64_t last = 0;
    while (!stop) {
      auto a = fs_->getattr(f);
      if (!a) continue;
      if (a.value().change < last) backwards++;
      last = std::max(last, a.value().change);
    }
  });
  std::thread syncer([&] {
    while (!stop) {
      EXPECT_TRUE(fs_->fsync(f, false));
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  uint64_t before = fs_->getattr(f).value().change;
  for (int i = 0; i < 2000; i++) {
    put(f, static_cast<uint64_t>(i) * 4096, "x");
    const uint64_t after = fs_->getattr(f).value().change;
    EXPECT_GT(after, before) << "write " << i << " did not move the change attribute";
    before = after;
  }
  stop = true;
  watcher.join();
  syncer.join();
  EXPECT_EQ(backwards.load(), 0);
}

}  // namespace
}  // namespace pnfsgw::store::test
